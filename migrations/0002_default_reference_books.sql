-- Default reference books from the user guide; admins may change them afterwards.
INSERT INTO "deal_stages" ("name", "sort_order", "is_won", "is_lost") VALUES
  ('Новая', 10, false, false),
  ('Переговоры', 20, false, false),
  ('КП отправлено', 30, false, false),
  ('Счёт выставлен', 40, false, false),
  ('Оплачена', 50, true, false),
  ('Проиграна', 60, false, true)
ON CONFLICT ("name") DO NOTHING;
--> statement-breakpoint
INSERT INTO "actions" ("name") VALUES ('Позвонить'), ('Отправить'), ('Встреча'), ('Написать в мессенджер')
ON CONFLICT ("name") DO NOTHING;
--> statement-breakpoint
INSERT INTO "results" ("name") VALUES
  ('Договор'), ('Письмо'), ('Счёт'), ('Коммерческое предложение'),
  ('Дозвонился'), ('Не дозвонился'), ('Перезвонить'), ('Встреча состоялась'), ('Встреча перенесена'), ('Ответил'), ('Без ответа')
ON CONFLICT ("name") DO NOTHING;
--> statement-breakpoint
INSERT INTO "action_results" ("action_id", "result_id")
SELECT a.id, r.id FROM "actions" a JOIN "results" r ON (a.name, r.name) IN (
  ('Отправить', 'Договор'), ('Отправить', 'Письмо'), ('Отправить', 'Счёт'), ('Отправить', 'Коммерческое предложение'),
  ('Позвонить', 'Дозвонился'), ('Позвонить', 'Не дозвонился'), ('Позвонить', 'Перезвонить'),
  ('Встреча', 'Встреча состоялась'), ('Встреча', 'Встреча перенесена'),
  ('Написать в мессенджер', 'Ответил'), ('Написать в мессенджер', 'Без ответа')
)
ON CONFLICT DO NOTHING;
