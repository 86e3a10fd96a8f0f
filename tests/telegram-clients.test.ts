import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { FakeTelegram, buttons } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import type { Services } from '../core/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { createLinkCode, createUser, userActor, type User } from '../core/users/users.js';
import { createMailbox } from '../core/mail/mailboxes.js';
import { mailEnv } from '../core/mail/env.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';

/**
 * Clients write to the same bot the managers use; the manager answers from Telegram and the
 * answer reaches the client's chat. Real grammY over HTTP against a fake Bot API, real database and queue.
 */
const ANNA = 3001;
const CLIENT = 4001;
const OTHER_CLIENT = 4002;

let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User;

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);

before(async () => {
  tg = await new FakeTelegram().start();
  // the mailbox of the /mail test points at 127.0.0.1
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url, MAIL_ALLOW_PRIVATE_HOSTS: 'true' });
  anna = await createUser(s.ctx(), { email: 'anna@clients.test', name: 'Анна', role: 'manager' });
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  const { code } = await createLinkCode(s.ctx(), anna.id);
  await tg.ask(ANNA, `/start ${code}`);
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('a client writes to the bot', () => {
  let conversationId: number;

  test('the first message makes a contact, a conversation, a Telegram lead and a notification for the manager', async () => {
    const since = tg.calls.length;
    tg.send(CLIENT, { text: 'Здравствуйте! Сколько стоит доставка?' }, 'Мария');
    const ack = await tg.waitFor('sendMessage', (p) => p.chat_id === CLIENT, { since });
    assert.match(String(ack.params.text), /менеджер скоро ответит/);
    const [lead] = await rows<{ id: number; source: string; responsible_id: number; contact: string }>(
      sql`SELECT l.id, l.source, l.responsible_id, c.name AS contact FROM leads l JOIN contacts c ON c.id = l.contact_id`,
    );
    assert.equal(lead!.source, 'telegram');
    assert.equal(lead!.responsible_id, anna.id);
    assert.equal(lead!.contact, 'Мария');
    const notice = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes('Сколько стоит доставка'), { since });
    assert.match(String(notice.params.text), /Telegram/);
    assert.match(String(notice.params.text), /Мария/);
    assert.match(String(notice.params.text), new RegExp(`лид №${lead!.id}`, 'i'));
    const reply = buttons(notice).find(([t]) => t === 'Ответить')!;
    conversationId = Number(reply[1].split(':')[1]);
    assert.ok(conversationId > 0);
  });

  test('the manager answers by replying to the notification; the client gets it and the history keeps it', async () => {
    const notice = tg.calls.find((c) => c.method === 'sendMessage' && c.params.chat_id === ANNA && String(c.params.text).includes('Сколько стоит'))!;
    const sentId = Number(notice.result!.message_id);
    // the worker records the notification's conversation right after Telegram accepted it
    await waitUntil(async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM telegram_reply_targets WHERE message_id = ${sentId}`))[0]!.n === 1);
    const since = tg.calls.length;
    tg.send(ANNA, { text: 'Добрый день! Доставка бесплатная.', reply_to_message: { message_id: sentId, date: 1, chat: { id: ANNA, type: 'private' }, text: 'x' } });
    const out = await tg.waitFor('sendMessage', (p) => p.chat_id === CLIENT && p.text === 'Добрый день! Доставка бесплатная.', { since, timeoutMs: 8000 });
    assert.ok(out);
    await waitUntil(async () => (await rows<{ s: string }>(sql`SELECT delivery_status AS s FROM messages WHERE direction = 'out'`))[0]?.s === 'sent');
    const [m] = await rows<{ author_user_id: number; provider_message_id: string }>(sql`SELECT author_user_id, provider_message_id FROM messages WHERE direction = 'out'`);
    assert.equal(m!.author_user_id, anna.id);
    assert.match(m!.provider_message_id, new RegExp(`^${CLIENT}:\\d+$`));
  });

  test('the same update delivered twice is stored once', async () => {
    const before = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages`))[0]!.n;
    tg.send(CLIENT, { message_id: 777777, text: 'Повтор' }, 'Мария');
    tg.send(CLIENT, { message_id: 777777, text: 'Повтор' }, 'Мария');
    tg.send(CLIENT, { text: 'Метка' }, 'Мария');
    await waitUntil(async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages WHERE text = 'Метка'`))[0]!.n === 1);
    const after = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages`))[0]!.n;
    assert.equal(after - before, 2);
    assert.equal((await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n, 1, 'an open lead is not doubled');
  });

  test('a shared phone number joins the contact; a photo is stored and readable', async () => {
    tg.send(CLIENT, { contact: { phone_number: '+7 (916) 555-00-11', first_name: 'Мария', user_id: CLIENT } }, 'Мария');
    tg.files.set('photo-big', Buffer.from('JPEGDATA'));
    tg.send(CLIENT, { photo: [{ file_id: 'photo-small', file_unique_id: 's', width: 90, height: 90 }, { file_id: 'photo-big', file_unique_id: 'b', width: 800, height: 600, file_size: 8 }], caption: 'Вот фото склада' }, 'Мария');
    await waitUntil(async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages WHERE text = 'Вот фото склада'`))[0]!.n === 1);
    const [c] = await rows<{ phones: string[] }>(sql`SELECT phones FROM contacts WHERE name = 'Мария'`);
    assert.deepEqual(c!.phones, ['+79165550011']);
    const [m] = await rows<{ attachments: { path: string; mime: string }[] }>(sql`SELECT attachments FROM messages WHERE text = 'Вот фото склада'`);
    assert.equal(m!.attachments[0]!.mime, 'image/jpeg');
    assert.equal(readFileSync(path.join(s.dataDir, 'attachments', m!.attachments[0]!.path)).toString(), 'JPEGDATA');
  });

  test('/chats lists my conversations and /reply answers one', async () => {
    const list = await tg.ask(ANNA, '/chats');
    assert.match(String(list.params.text), /Мария/);
    const since = tg.calls.length;
    const ack = await tg.ask(ANNA, `/reply ${conversationId} Пришлю счёт сегодня`);
    assert.match(String(ack.params.text), /Отправляю в Telegram/);
    await tg.waitFor('sendMessage', (p) => p.chat_id === CLIENT && p.text === 'Пришлю счёт сегодня', { since, timeoutMs: 8000 });
  });

  test('a delivery failure is shown to the manager', async () => {
    const since = tg.calls.length;
    tg.failNext('sendMessage', 403, { description: 'Forbidden: bot was blocked by the user' }, (p) => p.chat_id === CLIENT);
    await tg.ask(ANNA, `/reply ${conversationId} Вы здесь?`);
    const failed = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes('не доставлено'), { since, timeoutMs: 10_000 });
    assert.match(String(failed.params.text), /заблокировал бота/);
  });

  test('another client gets a lead of their own; a staff reply to a non-client message is refused', async () => {
    tg.send(OTHER_CLIENT, { text: 'Добрый вечер' }, 'Пётр');
    await waitUntil(async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n === 2);
    const r = await tg.ask(ANNA, '/help');
    const refused = await (async () => {
      const since = tg.calls.length;
      tg.send(ANNA, { text: 'ответ', reply_to_message: { message_id: 1, date: 1, chat: { id: ANNA, type: 'private' }, text: 'x' } });
      return tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes('не от клиента'), { since });
    })();
    assert.ok(r && refused);
  });
});

describe('e-mail from Telegram', () => {
  test('/mail lead N asks for the subject and the text and queues an outgoing letter to the lead\'s contact', async () => {
    await createMailbox(s.ctx(), mailEnv(s), {
      name: 'Продажи', service: 'other', login: 'sales@firma.ru', password: 'secret-pass',
      imapHost: '127.0.0.1', imapPort: 1143, imapEncryption: 'none', smtpHost: '127.0.0.1', smtpPort: 1025, smtpEncryption: 'none', ownerId: anna.id,
    });
    const cp = await createCounterparty(s.ctx(), { kind: 'individual', name: 'Клиент почты', responsibleId: anna.id });
    const contact = await createContact(s.ctx(), { name: 'Иван Почтов', emails: ['ivan@client.ru'], counterpartyId: cp.id });
    const lead = await createLead(s.ctx(userActor(anna)), { title: 'Запрос КП', source: 'email', contactId: contact.id });
    assert.match(String((await tg.ask(ANNA, `/mail lead ${lead.id}`)).params.text), /Тема письма/);
    assert.match(String((await tg.ask(ANNA, 'Коммерческое предложение')).params.text), /Текст письма/);
    assert.match(String((await tg.ask(ANNA, 'Добрый день! Направляю КП.')).params.text), /сохранено как исходящее/);
    const [e] = await rows<{ direction: string; status: string; to_addresses: string[]; lead_id: number; subject: string }>(
      sql`SELECT direction, status, to_addresses, lead_id, subject FROM emails ORDER BY id DESC LIMIT 1`,
    );
    assert.equal(e!.direction, 'outgoing');
    assert.equal(e!.status, 'queued');
    assert.deepEqual(e!.to_addresses, ['ivan@client.ru']);
    assert.equal(e!.lead_id, lead.id);
    assert.equal(e!.subject, 'Коммерческое предложение');
    assert.match(String((await tg.ask(ANNA, '/mail planet 5')).params.text), /Письмо клиенту: \/mail lead 42/);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 8000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
