CREATE TYPE "public"."call_rule_target" AS ENUM('responsible', 'segment', 'user', 'queue', 'duty');--> statement-breakpoint
CREATE TYPE "public"."phone_provider" AS ENUM('mango', 'zebra', 'generic');--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'phone_line';--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'call_rule';--> statement-breakpoint
CREATE TABLE "call_rule_members" (
	"rule_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	CONSTRAINT "call_rule_members_rule_id_user_id_pk" PRIMARY KEY("rule_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "call_rules" (
	"id" serial PRIMARY KEY NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"line_id" integer,
	"time_from" text,
	"time_to" text,
	"target" "call_rule_target" NOT NULL,
	"target_user_id" integer,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "phone_lines" (
	"id" serial PRIMARY KEY NOT NULL,
	"provider" "phone_provider" NOT NULL,
	"number" text NOT NULL,
	"name" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "phone_lines_provider_number_uq" UNIQUE("provider","number")
);
--> statement-breakpoint
CREATE TABLE "user_extensions" (
	"user_id" integer NOT NULL,
	"provider" "phone_provider" NOT NULL,
	"extension" text NOT NULL,
	CONSTRAINT "user_extensions_user_id_provider_pk" PRIMARY KEY("user_id","provider"),
	CONSTRAINT "user_extensions_provider_extension_uq" UNIQUE("provider","extension")
);
--> statement-breakpoint
ALTER TABLE "calls" DROP CONSTRAINT "calls_provider_call_id_unique";--> statement-breakpoint
ALTER TABLE "calls" ALTER COLUMN "status" SET DEFAULT 'answered';--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "calls_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "client_number" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "provider" "phone_provider";--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "line_id" integer;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "leg_id" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "command_id" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "disconnect_reason" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "answered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "ended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "follow_up_work_id" integer;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "recording_id" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "recording_status" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "recording_mime" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "call_rule_members" ADD CONSTRAINT "call_rule_members_rule_id_call_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."call_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_rule_members" ADD CONSTRAINT "call_rule_members_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_rules" ADD CONSTRAINT "call_rules_line_id_phone_lines_id_fk" FOREIGN KEY ("line_id") REFERENCES "public"."phone_lines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_rules" ADD CONSTRAINT "call_rules_target_user_id_users_id_fk" FOREIGN KEY ("target_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_extensions" ADD CONSTRAINT "user_extensions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_rules_position_idx" ON "call_rules" USING btree ("position");--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_line_id_phone_lines_id_fk" FOREIGN KEY ("line_id") REFERENCES "public"."phone_lines"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calls_lead_idx" ON "calls" USING btree ("lead_id");--> statement-breakpoint
CREATE INDEX "calls_deal_idx" ON "calls" USING btree ("deal_id");--> statement-breakpoint
CREATE INDEX "calls_user_at_idx" ON "calls" USING btree ("user_id","at");--> statement-breakpoint
CREATE INDEX "calls_client_number_idx" ON "calls" USING btree ("client_number");--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_command_id_unique" UNIQUE("command_id");--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_provider_call_uq" UNIQUE("provider","provider_call_id");--> statement-breakpoint
UPDATE "calls" SET "status" = 'answered' WHERE "status" = 'completed';
