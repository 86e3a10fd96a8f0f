CREATE TYPE "public"."stage_document_event" AS ENUM('proposal_made', 'proposal_sent', 'invoice_made', 'invoice_sent');--> statement-breakpoint
CREATE TYPE "public"."document_kind" AS ENUM('invoice', 'contract', 'proposal');--> statement-breakpoint
CREATE TYPE "public"."tax_mode" AS ENUM('osn', 'usn_no_vat', 'usn_vat5', 'usn_vat7');--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'organization';--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'product';--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'document_template';--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'loss_reason';--> statement-breakpoint
CREATE TABLE "deal_lines" (
	"id" serial PRIMARY KEY NOT NULL,
	"deal_id" integer NOT NULL,
	"position" integer NOT NULL,
	"product_id" integer,
	"name" text NOT NULL,
	"quantity" numeric(14, 3) NOT NULL,
	"unit" text NOT NULL,
	"price_kopecks" bigint NOT NULL,
	"discount_percent" numeric(5, 2) DEFAULT '0' NOT NULL,
	"vat_rate" smallint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "document_counters" (
	"organization_id" integer NOT NULL,
	"kind" "document_kind" NOT NULL,
	"year" integer NOT NULL,
	"last_number" integer NOT NULL,
	CONSTRAINT "document_counters_organization_id_kind_year_pk" PRIMARY KEY("organization_id","kind","year")
);
--> statement-breakpoint
CREATE TABLE "document_files" (
	"document_id" integer NOT NULL,
	"format" text NOT NULL,
	"file_name" text NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "document_files_document_id_format_pk" PRIMARY KEY("document_id","format")
);
--> statement-breakpoint
CREATE TABLE "document_templates" (
	"kind" "document_kind" PRIMARY KEY NOT NULL,
	"file_name" text,
	"docx" "bytea",
	"intro_text" text,
	"terms_text" text,
	"updated_by" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "documents" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" "document_kind" NOT NULL,
	"deal_id" integer NOT NULL,
	"counterparty_id" integer,
	"organization_id" integer NOT NULL,
	"number" integer,
	"year" integer NOT NULL,
	"version" integer,
	"doc_date" date NOT NULL,
	"total_kopecks" bigint NOT NULL,
	"vat_kopecks" bigint NOT NULL,
	"paired_id" integer,
	"data" jsonb NOT NULL,
	"created_by" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "organization_bank_accounts" (
	"id" serial PRIMARY KEY NOT NULL,
	"organization_id" integer NOT NULL,
	"bank_name" text NOT NULL,
	"bik" char(9) NOT NULL,
	"corr_account" char(20) NOT NULL,
	"account" char(20) NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organization_images" (
	"organization_id" integer NOT NULL,
	"kind" text NOT NULL,
	"mime" text NOT NULL,
	"data" "bytea" NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organization_images_organization_id_kind_pk" PRIMARY KEY("organization_id","kind")
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"short_name" text,
	"inn" text NOT NULL,
	"kpp" text,
	"ogrn" text,
	"legal_address" text,
	"postal_address" text,
	"phone" text,
	"email" text,
	"city" text,
	"director_name" text,
	"director_position" text,
	"director_basis" text,
	"accountant_name" text,
	"accountant_position" text,
	"tax_mode" "tax_mode" DEFAULT 'osn' NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"archived" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"unit" text DEFAULT 'шт' NOT NULL,
	"price_kopecks" bigint DEFAULT 0 NOT NULL,
	"vat_rate" smallint,
	"code" text,
	"archived" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deal_stages" ADD COLUMN "enter_on" "stage_document_event";--> statement-breakpoint
ALTER TABLE "deal_lines" ADD CONSTRAINT "deal_lines_deal_id_deals_id_fk" FOREIGN KEY ("deal_id") REFERENCES "public"."deals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deal_lines" ADD CONSTRAINT "deal_lines_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_counters" ADD CONSTRAINT "document_counters_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_files" ADD CONSTRAINT "document_files_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_templates" ADD CONSTRAINT "document_templates_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_deal_id_deals_id_fk" FOREIGN KEY ("deal_id") REFERENCES "public"."deals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_counterparty_id_counterparties_id_fk" FOREIGN KEY ("counterparty_id") REFERENCES "public"."counterparties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_bank_accounts" ADD CONSTRAINT "organization_bank_accounts_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_images" ADD CONSTRAINT "organization_images_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deal_lines_deal_idx" ON "deal_lines" USING btree ("deal_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "documents_number_idx" ON "documents" USING btree ("organization_id","kind","year","number") WHERE "documents"."number" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "documents_version_idx" ON "documents" USING btree ("deal_id","kind","version") WHERE "documents"."version" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "documents_deal_idx" ON "documents" USING btree ("deal_id","created_at");--> statement-breakpoint
CREATE INDEX "documents_counterparty_idx" ON "documents" USING btree ("counterparty_id","created_at");--> statement-breakpoint
CREATE INDEX "organization_bank_accounts_org_idx" ON "organization_bank_accounts" USING btree ("organization_id");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_one_default_idx" ON "organizations" USING btree ("is_default") WHERE "organizations"."is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "products_name_idx" ON "products" USING btree (lower("name"));--> statement-breakpoint
ALTER TABLE "deal_stages" ADD CONSTRAINT "deal_stages_enter_on_unique" UNIQUE("enter_on");--> statement-breakpoint
-- the built-in stages move by themselves; a team that does not want it clears the setting on the stage book
UPDATE "deal_stages" SET "enter_on" = 'proposal_sent' WHERE "name" = 'КП отправлено' AND NOT EXISTS (SELECT 1 FROM "deal_stages" WHERE "enter_on" = 'proposal_sent');--> statement-breakpoint
UPDATE "deal_stages" SET "enter_on" = 'invoice_made' WHERE "name" = 'Счёт выставлен' AND NOT EXISTS (SELECT 1 FROM "deal_stages" WHERE "enter_on" = 'invoice_made');
