CREATE TABLE "telegram_sessions" (
	"chat_id" bigint PRIMARY KEY NOT NULL,
	"data" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
