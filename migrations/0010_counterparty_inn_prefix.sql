-- Searching the client base by the first digits of an INN (LIKE '7701%') through an index: the
-- plain btree on inn serves equality only under a non-C collation.
CREATE INDEX IF NOT EXISTS "counterparties_inn_prefix_idx" ON "counterparties" USING btree ("inn" text_pattern_ops);
