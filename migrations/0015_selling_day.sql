CREATE TABLE "loss_reasons" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"sort_order" integer DEFAULT 100 NOT NULL,
	"archived" boolean DEFAULT false NOT NULL,
	CONSTRAINT "loss_reasons_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "notes" (
	"id" serial PRIMARY KEY NOT NULL,
	"entity_type" "entity_type" NOT NULL,
	"entity_id" integer NOT NULL,
	"text" text NOT NULL,
	"author_user_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "works" ALTER COLUMN "counterparty_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "counterparties" ADD COLUMN "phone_extensions" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "phone_extensions" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "paid_on" date;--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "loss_reason_id" integer;--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "loss_comment" text;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "loss_reason_id" integer;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "close_comment" text;--> statement-breakpoint
ALTER TABLE "works" ADD COLUMN "completed_by" integer;--> statement-breakpoint
ALTER TABLE "works" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_author_user_id_users_id_fk" FOREIGN KEY ("author_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "notes_entity_idx" ON "notes" USING btree ("entity_type","entity_id","created_at");--> statement-breakpoint
ALTER TABLE "deals" ADD CONSTRAINT "deals_loss_reason_id_loss_reasons_id_fk" FOREIGN KEY ("loss_reason_id") REFERENCES "public"."loss_reasons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leads" ADD CONSTRAINT "leads_loss_reason_id_loss_reasons_id_fk" FOREIGN KEY ("loss_reason_id") REFERENCES "public"."loss_reasons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "works" ADD CONSTRAINT "works_completed_by_users_id_fk" FOREIGN KEY ("completed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
INSERT INTO "loss_reasons" ("name", "sort_order") VALUES
  ('Дорого', 10), ('Выбрали конкурента', 20), ('Нет бюджета', 30), ('Не отвечает', 40),
  ('Потребность отпала', 50), ('Не наш клиент', 60), ('Другое', 1000)
ON CONFLICT ("name") DO NOTHING;--> statement-breakpoint
-- deals won before this migration were paid on the day they closed, as far as anyone knows
UPDATE "deals" SET "paid_on" = ("closed_at" AT TIME ZONE 'Europe/Moscow')::date
  WHERE "paid_on" IS NULL AND "closed_at" IS NOT NULL AND "stage_id" IN (SELECT "id" FROM "deal_stages" WHERE "is_won");
