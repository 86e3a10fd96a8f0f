-- Sorting the client base and the contacts list by name (admin panel) without a full sort of a
-- million rows: the trigram indexes serve search, not ORDER BY.
CREATE INDEX IF NOT EXISTS "counterparties_name_sort_idx" ON "counterparties" USING btree ("name", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "counterparties_created_sort_idx" ON "counterparties" USING btree ("created_at", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "contacts_name_sort_idx" ON "contacts" USING btree ("name", "id");
