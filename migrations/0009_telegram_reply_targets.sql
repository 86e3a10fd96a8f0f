CREATE TABLE "telegram_reply_targets" (
	"chat_id" bigint NOT NULL,
	"message_id" bigint NOT NULL,
	"conversation_id" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "telegram_reply_targets_chat_id_message_id_pk" PRIMARY KEY("chat_id","message_id")
);
