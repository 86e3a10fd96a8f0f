ALTER TABLE "channel_states" ADD COLUMN "pairing_code" text;--> statement-breakpoint
ALTER TABLE "channel_states" ADD COLUMN "pairing_code_at" timestamp with time zone;