CREATE TYPE "public"."mailout_recipient_status" AS ENUM('queued', 'sent', 'failed', 'unsubscribed', 'no_email');--> statement-breakpoint
CREATE TYPE "public"."mailout_status" AS ENUM('sending', 'done');--> statement-breakpoint
CREATE TABLE "mail_folder_state" (
	"mailbox_id" integer NOT NULL,
	"folder" text NOT NULL,
	"uid_validity" bigint NOT NULL,
	"last_uid" bigint DEFAULT 0 NOT NULL,
	"last_import_at" timestamp with time zone,
	CONSTRAINT "mail_folder_state_mailbox_id_folder_pk" PRIMARY KEY("mailbox_id","folder")
);
--> statement-breakpoint
CREATE TABLE "mailout_recipients" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"mailout_id" integer NOT NULL,
	"contact_id" integer,
	"email" text,
	"status" "mailout_recipient_status" DEFAULT 'queued' NOT NULL,
	"error" text,
	"email_id" bigint,
	"sent_at" timestamp with time zone,
	CONSTRAINT "mailout_recipients_email_uq" UNIQUE("mailout_id","email")
);
--> statement-breakpoint
CREATE TABLE "mailouts" (
	"id" serial PRIMARY KEY NOT NULL,
	"mailing_type_id" integer NOT NULL,
	"mailbox_id" integer,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"status" "mailout_status" DEFAULT 'sending' NOT NULL,
	"created_by" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "mailbox_id" integer;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "cc_addresses" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "in_reply_to" text;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "reference_ids" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "thread_key" text;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "attachments" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "error" text;--> statement-breakpoint
ALTER TABLE "mail_folder_state" ADD CONSTRAINT "mail_folder_state_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailout_recipients" ADD CONSTRAINT "mailout_recipients_mailout_id_mailouts_id_fk" FOREIGN KEY ("mailout_id") REFERENCES "public"."mailouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailout_recipients" ADD CONSTRAINT "mailout_recipients_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailout_recipients" ADD CONSTRAINT "mailout_recipients_email_id_emails_id_fk" FOREIGN KEY ("email_id") REFERENCES "public"."emails"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailouts" ADD CONSTRAINT "mailouts_mailing_type_id_mailing_types_id_fk" FOREIGN KEY ("mailing_type_id") REFERENCES "public"."mailing_types"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailouts" ADD CONSTRAINT "mailouts_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailouts" ADD CONSTRAINT "mailouts_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mailout_recipients_status_idx" ON "mailout_recipients" USING btree ("mailout_id","status");--> statement-breakpoint
ALTER TABLE "emails" ADD CONSTRAINT "emails_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "emails_mailbox_message_uq" ON "emails" USING btree ("mailbox_id","message_id");--> statement-breakpoint
CREATE INDEX "emails_thread_idx" ON "emails" USING btree ("thread_key");--> statement-breakpoint
CREATE INDEX "emails_message_id_idx" ON "emails" USING btree ("message_id");