ALTER TYPE "public"."entity_type" ADD VALUE 'mailing_type';--> statement-breakpoint
ALTER TYPE "public"."entity_type" ADD VALUE 'mailbox';