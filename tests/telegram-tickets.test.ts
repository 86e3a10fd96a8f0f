import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { FakeTelegram, buttons, isNotification, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';
import { notify } from '../core/notifications/notify.js';
import type { Services } from '../core/services.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { saveAnswerTemplate } from '../core/helpdesk/templates.js';

/**
 * R23 in the managers' bot: the real CRM (web, worker, bot) long-polling a fake Bot API. Мария
 * (Telegram 8401) is a contact of «Ромашка», an active client whose responsible is Анна (8301);
 * Борис (8302) is another manager, Елена (8303) the head.
 */
const ANNA = 8301;
const BORIS = 8302;
const ELENA = 8303;
const MARIA = 8401;
/** a new person: his chat is a lead of Борис */
const PETR = 8402;

let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User, boris: User;
let templateId: number;
let cpId: number, mariaId: number;

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const text = (c: ApiCall) => String(c.params.text);
const buttonFor = (c: ApiCall, label: string | RegExp) => {
  const b = buttons(c).find(([t]) => (typeof label === 'string' ? t === label : label.test(t)));
  assert.ok(b, `no button «${label}» in ${JSON.stringify(buttons(c))} under «${text(c)}»`);
  return b[1];
};
/** the bot's answer, with room for a loaded machine */
const ask = (chat: number, said: string) => tg.ask(chat, said, 30_000);
const press = (chat: number, data: string) => tg.pressAndWait(chat, data, 'sendMessage', 30_000);
const toClient = (since: number, pred: (t: string) => boolean) => tg.waitFor('sendMessage', (p) => p.chat_id === MARIA && pred(String(p.text)), { since, timeoutMs: 30_000 });

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  const sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@tickets.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@tickets.test', name: 'Борис', role: 'manager' });
  const elena = await createUser(sys, { email: 'elena@tickets.test', name: 'Елена', role: 'head' });
  for (const [u, tgId] of [[anna, ANNA], [boris, BORIS], [elena, ELENA]] as const) await rows(sql`UPDATE users SET telegram_id = ${tgId} WHERE id = ${u.id}`);
  const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Ромашка»', responsibleId: anna.id, isActiveClient: true });
  const maria = await createContact(sys, { name: 'Мария Иванова', emails: ['maria@romashka.test'], counterpartyId: cp.id });
  cpId = cp.id;
  mariaId = maria.id;
  await rows(sql`INSERT INTO contact_identities (contact_id, channel, external_id, display_name) VALUES (${maria.id}, 'telegram', ${String(MARIA)}, 'Мария')`);
  templateId = (await saveAnswerTemplate(s.ctx(userActor(elena)), null, { title: 'Готово', body: '{{имя}}, по обращению №{{номер}} всё готово. {{менеджер}}' })).id;
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  await tg.waitFor('setMyCommands', () => true, { timeoutMs: 60_000 });
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('a client’s request in the managers’ bot', () => {
  let ticketId: number;

  test('an existing client writes: the responsible gets «Обращение №N» with «Ответить» and «Открыть обращение»', async () => {
    const since = tg.calls.length;
    tg.send(MARIA, { text: 'Не работает выгрузка отчётов' }, 'Мария');
    const notice = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /^<b>🎫/.test(String(p.text)), { since, timeoutMs: 30_000 });
    const m = /Обращение №(\d+)/.exec(text(notice));
    assert.ok(m, text(notice));
    ticketId = Number(m[1]);
    assert.match(text(notice), /Не работает выгрузка отчётов/);
    assert.equal(buttonFor(notice, 'Открыть обращение'), `ticket:open:${ticketId}`);
    assert.match(buttonFor(notice, 'Ответить'), /^reply:\d+$/);
  });

  test('/tickets lists it for Анна; the head sees the whole desk with «Все», «Мои», «Просроченные»', async () => {
    const list = await ask(ANNA, '/tickets');
    assert.match(text(list), new RegExp(`№${ticketId} · Новое · Мария Иванова · Не работает выгрузка отчётов · `));
    assert.equal(buttonFor(list, /^№\d+ /), `ticket:open:${ticketId}`);
    const head = await ask(ELENA, '/tickets');
    assert.match(text(head), /Все открытые обращения/);
    assert.match(text(head), new RegExp(`№${ticketId} · `));
    assert.deepEqual(['Все', 'Мои', 'Просроченные'].map((l) => buttonFor(head, l)), ['tickets:all:0', 'tickets:mine:0', 'tickets:overdue:0']);
    // Борис has none of his own
    assert.doesNotMatch(text(await ask(BORIS, '/tickets')), new RegExp(`№${ticketId}`));
  });

  test('/ticket N shows the card: subject, client and company, channel, status, priority, assignee, SLA, the conversation', async () => {
    const card = await ask(ANNA, `/ticket ${ticketId}`);
    const t = text(card);
    assert.match(t, new RegExp(`Обращение №${ticketId}</b>: Не работает выгрузка отчётов`));
    assert.match(t, /Клиент: Мария Иванова \(ООО «Ромашка»\)/);
    assert.match(t, /Канал: Telegram · Статус: Новое · Приоритет: Обычный/);
    assert.match(t, /Ответственный: Анна/);
    assert.match(t, /Первый ответ: до \d\d\.\d\d/);
    assert.match(t, /👤 Клиент: Не работает выгрузка отчётов/);
    for (const b of ['✍️ Ответить', '📋 Шаблон', 'Статус', 'Приоритет', 'Назначить', '📝 Заметка', 'Сделать лидом']) buttonFor(card, b);
  });

  test('«✍️ Ответить» and a text: the client receives it and the ticket is in work', async () => {
    assert.match(text(await press(ANNA, `ticket:reply:${ticketId}`)), new RegExp(`ответ по обращению №${ticketId}`));
    const since = tg.calls.length;
    const ack = await ask(ANNA, 'Мария, проверяем выгрузку');
    assert.match(text(ack), /отправляю клиенту/);
    await toClient(since, (t) => t === 'Мария, проверяем выгрузку');
    const [t] = await rows<{ status: string; first: Date | null }>(sql`SELECT status, first_response_at AS first FROM tickets WHERE id = ${ticketId}`);
    assert.equal(t!.status, 'in_progress');
    assert.ok(t!.first);
  });

  test('«📋 Шаблон»: a template, a preview of the filled text, «Отправить» — the client receives the filled text', async () => {
    const list = await press(ANNA, `ticket:tpl:${ticketId}`);
    assert.equal(buttonFor(list, 'Готово'), `ticket:tplv:${ticketId}:${templateId}`);
    const filled = `Мария, по обращению №${ticketId} всё готово. Анна`;
    const preview = await press(ANNA, `ticket:tplv:${ticketId}:${templateId}`);
    assert.ok(text(preview).includes(filled), text(preview));
    buttonFor(preview, 'Отмена');
    const since = tg.calls.length;
    await press(ANNA, buttonFor(preview, 'Отправить'));
    await toClient(since, (t) => t === filled);
  });

  test('«📝 Заметка»: the note is kept on the ticket and shown in its card, the client gets nothing', async () => {
    assert.match(text(await press(ANNA, `ticket:note:${ticketId}`)), new RegExp(`заметки к обращению №${ticketId}`));
    const since = tg.calls.length;
    assert.match(text(await ask(ANNA, 'Клиент просил перезвонить после обеда')), /сохранена/);
    const card = await ask(ANNA, `/ticket ${ticketId}`);
    assert.match(text(card), /📝 Анна: Клиент просил перезвонить после обеда/);
    assert.equal(tg.calls.slice(since).filter((c) => c.params.chat_id === MARIA).length, 0);
  });

  test('«Статус» → «Решено»: the ticket is solved and the client is asked to rate', async () => {
    const choices = await press(ANNA, `ticket:st:${ticketId}`);
    assert.deepEqual(buttons(choices).map(([l]) => l.replace(/^• /, '')), ['Новое', 'В работе', 'Ждём клиента', 'Решено', 'Закрыто']);
    const since = tg.calls.length;
    const card = await press(ANNA, buttonFor(choices, 'Решено'));
    assert.match(text(card), /Статус: Решено/);
    const [t] = await rows<{ status: string }>(sql`SELECT status FROM tickets WHERE id = ${ticketId}`);
    assert.equal(t!.status, 'solved');
    await toClient(since, (x) => new RegExp(`Оцените.*№${ticketId}`).test(x));
  });

  test('«Назначить»: a manager may only take it; the head gives it to Борис, who is told', async () => {
    assert.match(text(await press(ANNA, `ticket:as:${ticketId}`)), /уже ваше.*руководитель/s);
    const people = await press(ELENA, `ticket:as:${ticketId}`);
    const since = tg.calls.length;
    const done = await press(ELENA, buttonFor(people, /Борис/));
    assert.match(text(done), new RegExp(`№${ticketId} назначено: Борис`));
    const told = await tg.waitFor('sendMessage', (p) => p.chat_id === BORIS && isNotification(p) && new RegExp(`обращение №${ticketId}`, 'i').test(String(p.text)), { since, timeoutMs: 30_000 });
    assert.equal(buttonFor(told, 'Открыть обращение'), `ticket:open:${ticketId}`);
    const [t] = await rows<{ assignee: number }>(sql`SELECT assignee_id AS assignee FROM tickets WHERE id = ${ticketId}`);
    assert.equal(t!.assignee, boris.id);
  });

  test('an unknown ticket number gets a plain Russian answer', async () => {
    assert.match(text(await ask(ANNA, '/ticket 999999')), /не найдено/);
    assert.match(text(await ask(ANNA, '/ticket abc')), /Укажите номер числом/);
  });
});

describe('an e-mail ticket', () => {
  test('a Telegram reply to its notice answers by mail, in the ticket’s thread', async () => {
    const [mb] = await rows<{ id: number }>(
      sql`INSERT INTO mailboxes (name, login, email, password_encrypted, imap_host, imap_port, smtp_host, smtp_port, creates_tickets)
          VALUES ('Поддержка', 'support@tickets.test', 'support@tickets.test', 'sealed', '127.0.0.1', 993, '127.0.0.1', 465, true) RETURNING id`,
    );
    const thread = '<may-invoice@romashka.test>';
    const [t] = await rows<{ id: number }>(
      sql`INSERT INTO tickets (subject, contact_id, counterparty_id, channel, mailbox_id, email_thread_key, assignee_id)
          VALUES ('Счёт за май', ${mariaId}, ${cpId}, 'email', ${mb!.id}, ${thread}, ${anna.id}) RETURNING id`,
    );
    const id = t!.id;
    await rows(
      sql`INSERT INTO emails (direction, message_id, subject, from_address, to_addresses, body_text, contact_id, counterparty_id, mailbox_id, thread_key, ticket_id)
          VALUES ('incoming', ${thread}, 'Счёт за май', 'maria@romashka.test', ARRAY['support@tickets.test'], 'Пришлите, пожалуйста, счёт', ${mariaId}, ${cpId}, ${mb!.id}, ${thread}, ${id})`,
    );
    const since = tg.calls.length;
    await notify(s.ctx(), { kind: 'email_received', userId: anna.id, text: `Обращение №${id} · письмо от Мария Иванова: Счёт за май`, ticketId: id });
    const notice = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(`Обращение №${id}`), { since, timeoutMs: 30_000 });
    // no chat behind it: «Ответить» waits for the letter's text
    assert.equal(buttonFor(notice, 'Ответить'), `ticket:reply:${id}`);
    assert.equal(buttonFor(notice, 'Открыть обращение'), `ticket:open:${id}`);
    // Telegram sends the replied message back as it shows it: plain text, with its buttons
    const replied = {
      message_id: Number(notice.result!.message_id),
      date: 1,
      chat: { id: ANNA, type: 'private' },
      from: { id: 999000, is_bot: true, first_name: 'CRM' },
      text: text(notice).replace(/<[^>]+>/g, ''),
      reply_markup: notice.params.reply_markup,
    };
    const asked = tg.calls.length;
    tg.send(ANNA, { text: 'Мария, счёт отправим сегодня', reply_to_message: replied });
    assert.match(text(await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && !isNotification(p), { since: asked, timeoutMs: 30_000 })), new RegExp(`Письмо по обращению №${id}`));
    const [letter] = await waitFor('the answer letter', () =>
      rows<{ body: string; mailbox: number; inReplyTo: string | null; threadKey: string | null }>(
        sql`SELECT body_text AS body, mailbox_id AS mailbox, in_reply_to AS "inReplyTo", thread_key AS "threadKey" FROM emails WHERE ticket_id = ${id} AND direction = 'outgoing'`,
      ).then((r) => (r.length ? r : null)),
    30_000);
    assert.match(letter!.body, /Мария, счёт отправим сегодня/);
    assert.equal(letter!.mailbox, mb!.id);
    assert.equal(letter!.inReplyTo, thread);
  });
});

describe('overdue tickets', () => {
  test('«Просроченные» lists a ticket past its first-response target with ⚠️; its breach notice opens it', async () => {
    const [t] = await rows<{ id: number }>(
      sql`INSERT INTO tickets (subject, contact_id, counterparty_id, channel, assignee_id, first_response_due_at, resolution_due_at)
          VALUES ('Не приходят уведомления', ${mariaId}, ${cpId}, 'manual', ${boris.id}, now() - interval '2 hours', now() + interval '1 day') RETURNING id`,
    );
    const id = t!.id;
    const list = await tg.pressAndWait(ELENA, 'tickets:overdue:0', 'editMessageText', 30_000);
    assert.match(text(list), /Просроченные обращения/);
    assert.match(text(list), new RegExp(`№${id} · Новое · Мария Иванова · Не приходят уведомления · ⚠️ \\d\\d\\.\\d\\d`));
    const card = await ask(BORIS, `/ticket ${id}`);
    assert.match(text(card), /Первый ответ: до .*⚠️ просрочено/);
    const since = tg.calls.length;
    await notify(s.ctx(), { kind: 'ticket_sla_breach', userId: boris.id, text: `Обращение №${id}: срок первого ответа прошёл`, ticketId: id });
    const notice = await tg.waitFor('sendMessage', (p) => p.chat_id === BORIS && /^<b>🚨/.test(String(p.text)), { since, timeoutMs: 30_000 });
    assert.equal(buttonFor(notice, 'Открыть обращение'), `ticket:open:${id}`);
  });
});

describe('a new person’s chat: marks in /chats and «Сделать обращением» on the lead card', () => {
  let leadId: number, conversationId: number;

  before(async () => {
    tg.send(PETR, { text: 'Подскажите, как сменить пароль в личном кабинете' }, 'Пётр');
    const [cv] = await waitFor(
      'the lead of the new person',
      () => rows<{ id: number; leadId: number }>(sql`SELECT id, lead_id AS "leadId" FROM conversations WHERE channel = 'telegram' AND external_chat_id = ${String(PETR)} AND lead_id IS NOT NULL`).then((r) => (r.length ? r : null)),
      30_000,
    );
    conversationId = cv!.id;
    leadId = cv!.leadId;
    await rows(sql`UPDATE leads SET responsible_id = ${boris.id} WHERE id = ${leadId}`);
  });

  test('/chats marks the last message changed in the chat, and a deletion by its side', async () => {
    const [m] = await rows<{ id: number }>(sql`SELECT id FROM messages WHERE conversation_id = ${conversationId} AND direction = 'in'`);
    // Telegram Business reports edits and deletions (core/channels/business.ts stamps these columns)
    await rows(sql`UPDATE messages SET edited_at = now() WHERE id = ${m!.id}`);
    const edited = text(await ask(BORIS, '/chats'));
    assert.match(edited, /Подскажите, как сменить пароль в личном кабинете \(изменено\)/);
    await rows(sql`UPDATE messages SET deleted_at = now() WHERE id = ${m!.id}`);
    assert.match(text(await ask(BORIS, '/chats')), /\(изменено\) \(удалено клиентом\)/);

    // Борис's own answer, deleted from his Telegram: «удалено менеджером»
    const sent = tg.calls.length;
    assert.match(text(await ask(BORIS, `/reply ${conversationId} Нажмите «Забыли пароль?»`)), /Отправляю в Telegram/);
    await tg.waitFor('sendMessage', (p) => p.chat_id === PETR && String(p.text).includes('Забыли пароль'), { since: sent, timeoutMs: 30_000 });
    await rows(sql`UPDATE messages SET deleted_at = now() WHERE conversation_id = ${conversationId} AND direction = 'out'`);
    const chats = text(await ask(BORIS, '/chats'));
    assert.match(chats, /вы: Нажмите «Забыли пароль\?» \(удалено менеджером\)/);
    assert.doesNotMatch(chats, /Забыли пароль\?» \(удалено клиентом\)/);
  });

  test('«Сделать обращением» asks first, then the lead’s chat is a ticket and its card is shown', async () => {
    const card = await ask(BORIS, `/lead ${leadId}`);
    const data = buttonFor(card, 'Сделать обращением');
    assert.equal(data, `lead:ticket:${leadId}`);
    const asked = await press(BORIS, data);
    assert.match(text(asked), new RegExp(`обращение клиента\\? Переписка лида №${leadId} перейдёт в обращение`));
    // «Нет» changes nothing
    await tg.pressAndWait(BORIS, 'noop', 'answerCallbackQuery', 30_000);
    assert.equal((await rows(sql`SELECT 1 FROM tickets WHERE lead_id = ${leadId}`)).length, 0);

    const shown = await press(BORIS, buttonFor(asked, 'Да, сделать обращением'));
    const m = new RegExp(`^Обращение №(\\d+) создано из лида №${leadId}\\.`).exec(text(shown));
    assert.ok(m, text(shown));
    const ticketId = Number(m[1]);
    // the ticket card: the client's message, the manager's answer, the ticket's buttons
    assert.match(text(shown), new RegExp(`<b>Обращение №${ticketId}</b>: `));
    // (both messages were deleted in the chat above: the card lists them by who wrote them)
    assert.match(text(shown), /<b>Переписка<\/b>\n• .*👤 Клиент: .*\n• .*↩️ Борис: /);
    assert.match(text(shown), new RegExp(`Лид: /lead ${leadId}`));
    assert.equal(buttonFor(shown, '✍️ Ответить'), `ticket:reply:${ticketId}`);
    const [t] = await rows<{ leadId: number; assigneeId: number; conversationId: number }>(
      sql`SELECT lead_id AS "leadId", assignee_id AS "assigneeId", conversation_id AS "conversationId" FROM tickets WHERE id = ${ticketId}`,
    );
    assert.deepEqual([t!.leadId, t!.assigneeId, t!.conversationId], [leadId, boris.id, conversationId]);
    assert.equal((await rows<{ ticketId: number }>(sql`SELECT ticket_id AS "ticketId" FROM conversations WHERE id = ${conversationId}`))[0]!.ticketId, ticketId);
    // a second press is refused with the reason, no second ticket
    const again = await press(BORIS, `lead:ticket!:${leadId}`);
    assert.match(text(again), /Лид закрыт|уже сделано обращение/);
    assert.equal((await rows(sql`SELECT 1 FROM tickets WHERE lead_id = ${leadId}`)).length, 1);
    // the closed lead offers no second «Сделать обращением»
    assert.ok(!buttons(await ask(BORIS, `/lead ${leadId}`)).some(([l]) => l === 'Сделать обращением'));
  });
});
