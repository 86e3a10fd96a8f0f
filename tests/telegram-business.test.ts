import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { Api } from 'grammy';
import { FakeTelegram, buttons, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createLinkCode, createUser, userActor, type User } from '../core/users/users.js';
import { replyInConversation } from '../core/conversations/conversations.js';
import { businessChatKey, listBusinessConnections } from '../core/channels/business.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { telegramClientAdapter } from '../bots/telegram/client-adapter.js';
import { ChannelSendError } from '../core/channels/send-error.js';

/**
 * Telegram Business: a manager's own Telegram chats with clients, seen through the CRM's bot.
 * The real bot polls the fake Bot API; real database and queue.
 */
const ANNA = 5101;
const BORIS = 5102;
const STRANGER = 5201;
const MARINA = { id: 6101, firstName: 'Марина', lastName: 'Соколова' };
const OLEG = { id: 6102, firstName: 'Олег' };
const NIKA = { id: 6103, firstName: 'Ника' };

let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User;
let admin: User;
let annaConnection = '';

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const noticeTo = (chatId: number, pattern: RegExp, since: number) =>
  tg.waitFor('sendMessage', (p) => p.chat_id === chatId && pattern.test(String(p.text)), { since, timeoutMs: 15_000 });

type StoredMessage = { id: number; direction: string; text: string | null; author_user_id: number | null; delivery_status: string | null; provider_message_id: string | null; edited_at: Date | null; deleted_at: Date | null };
const chatMessages = (owner: number, clientId: number) =>
  rows<StoredMessage>(
    sql`SELECT m.id::int AS id, m.direction, m.text, m.author_user_id, m.delivery_status, m.provider_message_id, m.edited_at, m.deleted_at
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.channel = 'telegram' AND c.external_chat_id = ${businessChatKey(owner, clientId)} ORDER BY m.id`,
  );
const leadCount = async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n;

/** Polling is one update at a time: once a later client message is stored, every earlier update is handled. */
async function settle(connectionId: string, client: { id: number; firstName: string }, owner: number, marker: string) {
  tg.businessMessage(connectionId, client, { text: marker });
  await waitFor(`«${marker}» stored`, async () => (await chatMessages(owner, client.id)).some((m) => m.text === marker), 15_000);
}

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  anna = await createUser(s.ctx(), { email: 'anna@business.test', name: 'Анна Бизнесова', role: 'manager' });
  const boris = await createUser(s.ctx(), { email: 'boris@business.test', name: 'Борис', role: 'manager' });
  admin = await createUser(s.ctx(), { email: 'admin@business.test', name: 'Админ', role: 'admin' });
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  for (const [u, tgId] of [[anna, ANNA], [boris, BORIS]] as const) {
    const { code } = await createLinkCode(s.ctx(), u.id);
    await tg.ask(tgId, `/start ${code}`, 20_000);
  }
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('connecting Telegram Business', () => {
  test('a linked manager connects: the connection is stored as theirs and they are told it works', async () => {
    const since = tg.calls.length;
    annaConnection = tg.businessConnect(ANNA, { canReply: true });
    const notice = await noticeTo(ANNA, /Telegram Business подключён/, since);
    assert.match(String(notice.params.text), /ответы из CRM уходят/);
    const [row] = await rows<{ user_id: number; can_reply: boolean; enabled: boolean }>(sql`SELECT user_id, can_reply, enabled FROM business_connections WHERE id = ${annaConnection}`);
    assert.deepEqual(row, { user_id: anna.id, can_reply: true, enabled: true });
  });

  test('without the right to reply (an older server sends only can_reply) the manager is told what to switch on', async () => {
    const since = tg.calls.length;
    tg.businessConnect(BORIS, { canReply: false, legacy: true });
    const notice = await noticeTo(BORIS, /Telegram Business/, since);
    assert.match(String(notice.params.text), /не может отвечать от вашего имени/);
    assert.match(String(notice.params.text), /Отвечать на сообщения/);
  });

  test('an owner whose Telegram is not linked is told to link it first, and their chats are not taken in', async () => {
    const since = tg.calls.length;
    const id = tg.businessConnect(STRANGER);
    const told = await tg.waitFor('sendMessage', (p) => p.chat_id === STRANGER, { since, timeoutMs: 15_000 });
    assert.match(String(told.params.text), /сначала привяжите Telegram к CRM: \/start/);
    tg.businessMessage(id, NIKA, { text: 'Ника пишет незнакомцу' });
    // Анна's chat after it is stored: the stranger's update was handled before it
    await settle(annaConnection, OLEG, ANNA, 'Олег: проверка очереди');
    assert.equal((await chatMessages(STRANGER, NIKA.id)).length, 0);
  });

  test('the same connection update twice tells the manager once', async () => {
    const since = tg.calls.length;
    const date = Math.floor(Date.now() / 1000) + 5;
    tg.businessConnect(ANNA, { id: 'bc-twice', date });
    tg.redeliverLast('business_connection');
    await noticeTo(ANNA, /Telegram Business подключён/, since);
    await settle(annaConnection, OLEG, ANNA, 'Олег: ещё проверка');
    // the second notice would have been queued before this one went out
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === ANNA && /Telegram Business подключён/.test(String(c.params.text))).length, 1);
  });
});

describe('a manager’s own chats with clients', () => {
  let clientMessage: Record<string, unknown>;
  let conversationId = 0;

  test('a client writes in the manager’s Telegram: contact, chat and a lead the manager is responsible for', async () => {
    const leadsBefore = await leadCount();
    const since = tg.calls.length;
    clientMessage = tg.businessMessage(annaConnection, MARINA, { text: 'Здравствуйте! Пришлите, пожалуйста, прайс' });
    const conv = await waitFor('the business chat', async () => {
      const [c] = await rows<{ id: number; business_connection_id: string; business_user_id: number; lead_id: number | null; contact: string }>(
        sql`SELECT c.id, c.business_connection_id, c.business_user_id, c.lead_id, ct.name AS contact FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
            WHERE c.external_chat_id = ${businessChatKey(ANNA, MARINA.id)}`,
      );
      return c?.lead_id ? c : null;
    });
    conversationId = conv.id;
    assert.equal(conv.contact, 'Марина Соколова');
    assert.equal(conv.business_connection_id, annaConnection);
    assert.equal(conv.business_user_id, anna.id);
    const [lead] = await rows<{ responsible_id: number }>(sql`SELECT responsible_id FROM leads WHERE id = ${conv.lead_id}`);
    assert.equal(lead!.responsible_id, anna.id);
    assert.equal(await leadCount(), leadsBefore + 1);
    // the bot's own chat with Марина is apart from the business chat, and nothing is said to her from the bot
    assert.equal((await rows(sql`SELECT 1 FROM conversations WHERE external_chat_id = ${String(MARINA.id)}`)).length, 0);
    await noticeTo(ANNA, /прайс/, since);
    assert.ok(!tg.calls.slice(since).some((c) => c.method === 'sendMessage' && c.params.chat_id === MARINA.id));
  });

  test('the manager’s own answer is stored as theirs, opens nothing and tells nobody', async () => {
    const leadsBefore = await leadCount();
    const since = tg.calls.length;
    tg.businessMessage(annaConnection, MARINA, { text: 'Марина, добрый день! Прайс во вложении' }, { fromOwner: true });
    const own = await waitFor('the manager’s message', async () => (await chatMessages(ANNA, MARINA.id)).find((m) => m.text === 'Марина, добрый день! Прайс во вложении'));
    assert.equal(own.direction, 'out');
    assert.equal(own.author_user_id, anna.id);
    assert.equal(own.delivery_status, 'sent');
    assert.equal(await leadCount(), leadsBefore);
    // a client's message after it gets its notice: the manager's own would have come first
    tg.businessMessage(annaConnection, MARINA, { text: 'Спасибо, получила' });
    await noticeTo(ANNA, /Спасибо, получила/, since);
    assert.ok(!tg.calls.slice(since).some((c) => c.params.chat_id === ANNA && /Прайс во вложении/.test(String(c.params.text))));
  });

  test('a first message of the manager to a new person makes the contact and chat only', async () => {
    const leadsBefore = await leadCount();
    tg.businessMessage(annaConnection, NIKA, { text: 'Ника, здравствуйте, это Анна из компании' }, { fromOwner: true });
    await waitFor('stored', async () => (await chatMessages(ANNA, NIKA.id)).length === 1);
    const [c] = await rows<{ name: string; lead_id: number | null }>(sql`SELECT ct.name, c.lead_id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.external_chat_id = ${businessChatKey(ANNA, NIKA.id)}`);
    assert.equal(c!.name, 'Ника');
    assert.equal(c!.lead_id, null);
    assert.equal(await leadCount(), leadsBefore);
  });

  test('an existing client writes: a ticket assigned to the manager, and their own answer is its first response', async () => {
    const cp = await createCounterparty(s.ctx(), { kind: 'legal_entity', name: 'ООО «Постоянный»', isActiveClient: true });
    await rows(sql`UPDATE contacts SET counterparty_id = ${cp.id} WHERE id = (SELECT contact_id FROM conversations WHERE external_chat_id = ${businessChatKey(ANNA, NIKA.id)})`);
    tg.businessMessage(annaConnection, NIKA, { text: 'Не приходит счёт за март' });
    const ticket = await waitFor('the ticket', async () => {
      const [t] = await rows<{ id: number; assignee_id: number; status: string; first_response_at: Date | null }>(
        sql`SELECT t.id::int AS id, t.assignee_id, t.status, t.first_response_at FROM tickets t JOIN conversations c ON c.ticket_id = t.id WHERE c.external_chat_id = ${businessChatKey(ANNA, NIKA.id)}`,
      );
      return t;
    });
    assert.equal(ticket.assignee_id, anna.id);
    assert.equal(ticket.first_response_at, null);
    tg.businessMessage(annaConnection, NIKA, { text: 'Ника, счёт отправила повторно' }, { fromOwner: true });
    const answered = await waitFor('answered', async () => {
      const [t] = await rows<{ status: string; first_response_at: Date | null }>(sql`SELECT status, first_response_at FROM tickets WHERE id = ${ticket.id}`);
      return t?.first_response_at ? t : null;
    });
    assert.equal(answered.status, 'in_progress');
  });

  test('an edit changes the stored text and keeps when it was edited', async () => {
    tg.editBusinessMessage(clientMessage, { text: 'Здравствуйте! Пришлите, пожалуйста, прайс и условия доставки' });
    const edited = await waitFor('the edit', async () => (await chatMessages(ANNA, MARINA.id)).find((m) => m.text === 'Здравствуйте! Пришлите, пожалуйста, прайс и условия доставки'));
    assert.ok(edited.edited_at);
  });

  test('a deletion marks the message deleted and keeps it', async () => {
    tg.deleteBusinessMessages(annaConnection, MARINA.id, [Number(clientMessage.message_id)]);
    const deleted = await waitFor('the deletion', async () => (await chatMessages(ANNA, MARINA.id)).find((m) => m.deleted_at));
    assert.match(String(deleted.text), /условия доставки/);
  });

  test('the same message delivered twice is stored once', async () => {
    const m = tg.businessMessage(annaConnection, MARINA, { text: 'Марина: дубль' });
    tg.businessMessage(annaConnection, MARINA, { text: 'Марина: дубль', message_id: m.message_id });
    await settle(annaConnection, MARINA, ANNA, 'Марина: после дубля');
    assert.equal((await chatMessages(ANNA, MARINA.id)).filter((x) => x.text === 'Марина: дубль').length, 1);
  });

  test('a reply from the CRM goes out through the connection as the manager, and Telegram’s copy of it is not stored twice', async () => {
    const since = tg.calls.length;
    const reply = await replyInConversation(s.ctx(userActor(anna)), conversationId, 'Марина, условия доставки: завтра, бесплатно');
    const sent = await tg.waitFor('sendMessage', (p) => p.text === 'Марина, условия доставки: завтра, бесплатно', { since, timeoutMs: 15_000 });
    assert.equal(sent.params.business_connection_id, annaConnection);
    assert.equal(sent.params.chat_id, MARINA.id);
    const stored = await waitFor('sent', async () => (await chatMessages(ANNA, MARINA.id)).find((m) => m.id === reply.id && m.delivery_status === 'sent'));
    assert.equal(stored.provider_message_id, `${businessChatKey(ANNA, MARINA.id)}:${sent.result!.message_id}`);
    tg.businessEcho(sent);
    // even a copy that does not name our bot is the same message: its key is the stored one
    tg.businessEcho(sent, { withoutBot: true });
    await settle(annaConnection, MARINA, ANNA, 'Марина: спасибо');
    assert.equal((await chatMessages(ANNA, MARINA.id)).filter((m) => m.text === 'Марина, условия доставки: завтра, бесплатно').length, 1);
  });

  test('the manager disconnects: told, shown as off in «Интеграции», and a reply then fails with the reason', async () => {
    const since = tg.calls.length;
    tg.businessConnect(ANNA, { id: annaConnection, enabled: false });
    await noticeTo(ANNA, /Telegram Business отключён/, since);
    const list = await listBusinessConnections(s.ctx(userActor(admin)));
    const mine = list.find((c) => c.id === annaConnection)!;
    assert.equal(mine.enabled, false);
    assert.equal(mine.userName, 'Анна Бизнесова');
    await assert.rejects(listBusinessConnections(s.ctx(userActor(anna))), /прав/);

    const reply = await replyInConversation(s.ctx(userActor(anna)), conversationId, 'Марина, вы здесь?');
    const failed = await noticeTo(ANNA, /Telegram Business отключён у менеджера/, since);
    assert.match(String(failed.params.text), /Марина/);
    await waitFor('failed', async () => (await chatMessages(ANNA, MARINA.id)).find((m) => m.id === reply.id && m.delivery_status === 'failed'));
    // and the client's messages through the lost connection are not taken in
    tg.businessMessage(annaConnection, MARINA, { text: 'Марина: после отключения' });
    await settle(`bc-${BORIS}`, OLEG, BORIS, 'Олег Борису');
    assert.ok(!(await chatMessages(ANNA, MARINA.id)).some((m) => m.text === 'Марина: после отключения'));
  });
});

describe('the Telegram adapter', () => {
  let api: Api;
  before(() => {
    api = new Api('123456:TEST-token', { apiRoot: tg.url });
  });

  test('choices are buttons in a bot chat and a digit line in a business chat', async () => {
    const adapter = telegramClientAdapter(api);
    const choices = ['1', '2', '3', '4', '5'].map((v) => ({ label: v, value: v }));
    let since = tg.calls.length;
    await adapter.send({ externalChatId: '7001', text: 'Оцените ответ', choices });
    const bot: ApiCall = await tg.waitFor('sendMessage', (p) => p.chat_id === 7001, { since });
    assert.deepEqual(buttons(bot), choices.map((c) => [c.label, `choice:${c.value}`]));
    tg.businessConnect(7002, { id: 'bc-adapter' });
    since = tg.calls.length;
    const { providerMessageId } = await adapter.send({ externalChatId: businessChatKey(7002, 7003), text: 'Оцените ответ', choices, businessConnectionId: 'bc-adapter' });
    const biz = await tg.waitFor('sendMessage', (p) => p.chat_id === 7003, { since });
    assert.equal(biz.params.business_connection_id, 'bc-adapter');
    assert.equal(biz.params.text, 'Оцените ответ\n\nОтветьте цифрой: 1 2 3 4 5');
    assert.equal(biz.params.reply_markup, undefined);
    assert.equal(providerMessageId, `biz:7002:7003:${biz.result!.message_id}`);
  });

  test('a connection without the right to reply is a permanent failure with a Russian reason', async () => {
    const adapter = telegramClientAdapter(api);
    tg.businessConnect(7004, { id: 'bc-mute', canReply: false });
    await assert.rejects(adapter.send({ externalChatId: businessChatKey(7004, 7005), text: 'x', businessConnectionId: 'bc-mute' }), (e: unknown) => {
      assert.ok(e instanceof ChannelSendError);
      assert.equal(e.permanent, true);
      assert.match(e.reason, /нет права отвечать/);
      return true;
    });
  });
});

describe('Telegram’s copy of a CRM reply arriving before the send is recorded', () => {
  const VERA = { id: 6104, firstName: 'Вера' };

  /**
   * Holds the fake's answer to the first matching call until `whileHeld` is done: the job sending
   * waits for Telegram's answer, so whatever `whileHeld` makes happen comes before the job records
   * the send. (The fake has no such hook; its request handler is wrapped for this one call.)
   */
  function holdAnswer(match: (c: ApiCall) => boolean, whileHeld: (c: ApiCall) => Promise<void>) {
    const fake = tg as unknown as { handle: (req: unknown) => Promise<unknown> };
    const original = fake.handle;
    fake.handle = async function (this: unknown, req: unknown) {
      const since = tg.calls.length;
      const answer = await original.call(this, req);
      // only a send's own request is held (a long poll running meanwhile also sees the call recorded)
      if (!/\/send\w+$/.test(String((req as { url?: string }).url))) return answer;
      const call = tg.calls.slice(since).find((c) => match(c) && c.result);
      if (call) {
        fake.handle = original;
        await whileHeld(call);
      }
      return answer;
    };
  }

  test('the copy stored first as the manager’s message is replaced by the reply: stored once, sent once', async () => {
    let since = tg.calls.length;
    tg.businessConnect(ANNA, { id: annaConnection, enabled: true, canReply: true });
    await noticeTo(ANNA, /Telegram Business подключён/, since);
    tg.businessMessage(annaConnection, VERA, { text: 'Вера: подскажите сроки поставки' });
    const conv = await waitFor('Вера’s chat', async () => {
      const [c] = await rows<{ id: number }>(sql`SELECT id FROM conversations WHERE external_chat_id = ${businessChatKey(ANNA, VERA.id)}`);
      return c;
    });

    const text = 'Вера, поставка за три дня';
    const key = (c: ApiCall) => `${businessChatKey(ANNA, VERA.id)}:${c.result!.message_id}`;
    let echoStored = false;
    holdAnswer(
      (c) => c.method === 'sendMessage' && c.params.chat_id === VERA.id && c.params.text === text,
      async (call) => {
        // Telegram's copy without sender_business_bot, taken in as the manager's own message first
        tg.businessEcho(call, { withoutBot: true });
        await waitFor('the copy stored first', async () => (await chatMessages(ANNA, VERA.id)).some((m) => m.provider_message_id === key(call)), 15_000);
        echoStored = true;
      },
    );
    since = tg.calls.length;
    const reply = await replyInConversation(s.ctx(userActor(anna)), conv.id, text);
    const stored = await waitFor('the reply recorded as sent', async () => (await chatMessages(ANNA, VERA.id)).find((m) => m.id === reply.id && m.delivery_status === 'sent'), 30_000);
    assert.ok(echoStored, 'the copy was stored before the send was recorded');
    const sends = tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === VERA.id && c.params.text === text);
    assert.equal(sends.length, 1, 'sent to the client once');
    assert.equal(stored.provider_message_id, key(sends[0]!));
    assert.equal(stored.author_user_id, anna.id);

    // a later message and a pause: a retry of the send would have gone out by now
    await settle(annaConnection, VERA, ANNA, 'Вера: спасибо');
    await new Promise((r) => setTimeout(r, 2500));
    const copies = (await chatMessages(ANNA, VERA.id)).filter((m) => m.text === text);
    assert.deepEqual(copies.map((m) => m.id), [reply.id], 'stored once: the reply, not the copy');
    assert.equal(tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === VERA.id && c.params.text === text).length, 1);
  });
});
