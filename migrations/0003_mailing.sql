CREATE TYPE "public"."mail_encryption" AS ENUM('ssl', 'starttls', 'none');--> statement-breakpoint
CREATE TABLE "contact_mailing_types" (
	"contact_id" integer NOT NULL,
	"mailing_type_id" integer NOT NULL,
	"assigned_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_mailing_types_contact_id_mailing_type_id_pk" PRIMARY KEY("contact_id","mailing_type_id")
);
--> statement-breakpoint
CREATE TABLE "mailboxes" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"service" text DEFAULT 'other' NOT NULL,
	"login" text NOT NULL,
	"email" text NOT NULL,
	"password_encrypted" text NOT NULL,
	"imap_host" text NOT NULL,
	"imap_port" integer NOT NULL,
	"imap_encryption" "mail_encryption" DEFAULT 'ssl' NOT NULL,
	"smtp_host" text NOT NULL,
	"smtp_port" integer NOT NULL,
	"smtp_encryption" "mail_encryption" DEFAULT 'ssl' NOT NULL,
	"owner_id" integer,
	"creates_leads" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"last_check_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mailing_types" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mailing_types_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "unsubscribes" (
	"id" serial PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"mailing_type_id" integer,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "unsubscribes_email_type_uq" UNIQUE NULLS NOT DISTINCT("email","mailing_type_id")
);
--> statement-breakpoint
ALTER TABLE "contact_mailing_types" ADD CONSTRAINT "contact_mailing_types_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_mailing_types" ADD CONSTRAINT "contact_mailing_types_mailing_type_id_mailing_types_id_fk" FOREIGN KEY ("mailing_type_id") REFERENCES "public"."mailing_types"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "unsubscribes" ADD CONSTRAINT "unsubscribes_mailing_type_id_mailing_types_id_fk" FOREIGN KEY ("mailing_type_id") REFERENCES "public"."mailing_types"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_mailing_types_type_idx" ON "contact_mailing_types" USING btree ("mailing_type_id","contact_id");