ALTER TYPE "public"."webhook_source_kind" ADD VALUE 'vk';--> statement-breakpoint
CREATE TABLE "vk_messages" (
	"id" serial PRIMARY KEY NOT NULL,
	"source_id" integer NOT NULL,
	"vk_group_id" bigint NOT NULL,
	"vk_message_id" bigint NOT NULL,
	"vk_user_id" bigint NOT NULL,
	"contact_id" integer NOT NULL,
	"lead_id" integer,
	"deal_id" integer,
	"text" text,
	"at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vk_messages_group_message_uq" UNIQUE("vk_group_id","vk_message_id")
);
--> statement-breakpoint
CREATE TABLE "vk_users" (
	"vk_user_id" bigint PRIMARY KEY NOT NULL,
	"contact_id" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_sources" ADD COLUMN "vk_group_id" bigint;--> statement-breakpoint
ALTER TABLE "webhook_sources" ADD COLUMN "vk_confirmation" text;--> statement-breakpoint
ALTER TABLE "webhook_sources" ADD COLUMN "vk_secret_hash" text;--> statement-breakpoint
ALTER TABLE "vk_messages" ADD CONSTRAINT "vk_messages_source_id_webhook_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."webhook_sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vk_messages" ADD CONSTRAINT "vk_messages_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vk_messages" ADD CONSTRAINT "vk_messages_lead_id_leads_id_fk" FOREIGN KEY ("lead_id") REFERENCES "public"."leads"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vk_messages" ADD CONSTRAINT "vk_messages_deal_id_deals_id_fk" FOREIGN KEY ("deal_id") REFERENCES "public"."deals"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vk_users" ADD CONSTRAINT "vk_users_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vk_messages_lead_idx" ON "vk_messages" USING btree ("lead_id");