CREATE TYPE "public"."api_key_scope" AS ENUM('website', 'read_all');--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "scope" "api_key_scope" DEFAULT 'website' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "api_key_id" integer;--> statement-breakpoint
ALTER TABLE "api_idempotency_keys" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "leads" ADD CONSTRAINT "leads_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "leads_api_key_idx" ON "leads" USING btree ("api_key_id");--> statement-breakpoint
-- Leads the website API made before the key was kept on the lead: the audit entry of their creation
-- names the key («API: <name>»). A name two keys share cannot tell them apart; such leads stay unowned.
UPDATE "leads" SET "api_key_id" = k."id"
FROM "audit_log" a, "api_keys" k
WHERE a."entity_type" = 'lead' AND a."action" = 'create' AND a."entity_id" = "leads"."id"
  AND a."actor_label" = 'API: ' || k."name"
  AND NOT EXISTS (SELECT 1 FROM "api_keys" o WHERE o."name" = k."name" AND o."id" <> k."id");--> statement-breakpoint
-- a key's external ids get the key's prefix, so another key's ids (or a webhook's) can never match them
UPDATE "leads" SET "external_id" = 'api:' || "api_key_id" || ':' || "external_id"
WHERE "api_key_id" IS NOT NULL AND "external_id" IS NOT NULL;
