import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { and, eq, sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { pino } from 'pino';
import { WhatsAppAdapter } from '../bots/whatsapp/index.js';
import type { WhatsAppClientLike, WhatsAppMessageLike } from '../bots/whatsapp/client.js';
import { replyInConversation } from '../core/conversations/conversations.js';
import { channelStates, contactIdentities, contacts, conversations, leads, messages } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import type { Services } from '../core/services.js';
import { FakeViber, viberMessageBody, viberSignature } from './helpers/fake-viber.js';
import { openTestServices } from './helpers/services.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * WhatsApp through the adapter's seam: a stand-in for whatsapp-web.js's Client (WhatsApp Web
 * cannot be reached offline) drives the real adapter, database, queue and HTTP app.
 */
class StandInClient extends EventEmitter implements WhatsAppClientLike {
  readonly sent: { chatId: string; text: string }[] = [];
  initialized = 0;
  destroyed = 0;
  private seq = 0;

  async initialize(): Promise<void> {
    this.initialized++;
  }
  async destroy(): Promise<void> {
    this.destroyed++;
  }
  async sendMessage(chatId: string, text: string) {
    this.sent.push({ chatId, text });
    return { id: { _serialized: `true_${chatId}_OUT${++this.seq}` } };
  }
  /** a message arriving from a client, as whatsapp-web.js emits it */
  receive(m: Partial<Omit<WhatsAppMessageLike, 'id'>> & { from: string; id: string; pushname?: string }): void {
    const message: WhatsAppMessageLike = {
      body: '',
      fromMe: false,
      timestamp: Math.floor(Date.now() / 1000),
      type: 'chat',
      hasMedia: false,
      downloadMedia: async () => undefined,
      getContact: async () => ({ number: m.from.split('@')[0], pushname: m.pushname }),
      ...m,
      id: { _serialized: m.id },
    };
    this.emit('message', message);
  }
}

const VIBER_TOKEN = 'wa-test-viber-token-0123456789';
let client: StandInClient;
let fake: FakeViber;
let s: Services & { dataDir: string };
let wa: WhatsAppAdapter;
let crm: TestCrm;
let base: string;
let anna: User, admin: User;
const notes: Notification[] = [];

const health = async () => (await (await fetch(`${base}/health`)).json()) as { status: string; channels: Record<string, string> };
const conversationOf = async (channel: 'whatsapp' | 'viber', chatId: string) =>
  (await s.ctx().db.select().from(conversations).where(and(eq(conversations.channel, channel), eq(conversations.externalChatId, chatId))))[0];

before(async () => {
  client = new StandInClient();
  fake = await new FakeViber(VIBER_TOKEN).start();
  s = await openTestServices({ WHATSAPP_ENABLED: 'true', VIBER_AUTH_TOKEN: VIBER_TOKEN, VIBER_API_ROOT: fake.url });
  anna = await createUser(s.ctx(), { email: 'anna@wa.test', name: 'Анна', role: 'manager' });
  admin = await createUser(s.ctx(), { email: 'admin@wa.test', name: 'Админ', role: 'admin' });
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['notifications', 'mail'], whatsapp: { client, restartDelayMs: 10 } });
  wa = crm.adapters.whatsapp as WhatsAppAdapter;
  base = crm.base;
});

after(async () => {
  await crm?.close();
  await s?.close();
  await fake?.close();
});

describe('pairing', () => {
  test('the QR code is kept for the admin panel, /health says down and admins are told once, until WhatsApp is ready', async () => {
    assert.equal(client.initialized, 1);
    assert.equal(wa.currentQr(), null);
    client.emit('qr', '2@AbCdEfGh,QRDATA==,1');
    assert.equal(wa.currentQr(), '2@AbCdEfGh,QRDATA==,1');
    // kept in the database, so the admin panel of any web process shows it
    const pairing = async () => (await s.ctx().db.select().from(channelStates).where(eq(channelStates.channel, 'whatsapp')))[0]?.pairingCode ?? null;
    assert.equal(await waitFor('the pairing code in the database', pairing), '2@AbCdEfGh,QRDATA==,1');
    assert.deepEqual(wa.status(), { ok: false, detail: 'WhatsApp: требуется вход по QR-коду' });
    assert.equal((await health()).channels.whatsapp, 'down');
    await health();
    const notice = await waitFor('the adapter_down notice', () => notes.find((n) => n.kind === 'adapter_down'));
    assert.equal(notice.userId, admin.id);
    assert.match(notice.text, /WhatsApp/);
    assert.match(notice.text, /QR/);
    await sleep(100);
    assert.equal(notes.filter((n) => n.kind === 'adapter_down').length, 1);

    client.emit('ready');
    assert.equal(wa.currentQr(), null);
    await waitFor('the pairing code to be cleared', async () => (await pairing()) === null);
    assert.deepEqual((await health()).channels, { telegram: 'off', whatsapp: 'ok', viber: 'ok' });
  });
});

describe('a client writes on WhatsApp', () => {
  test('the message becomes a contact with the WhatsApp number, a conversation and a lead, and the manager is told', async () => {
    client.receive({ from: '79161234567@c.us', id: 'false_79161234567@c.us_AAA1', body: 'Добрый день, есть в наличии?', pushname: 'Мария' });
    const cv = await waitFor('the conversation', () => conversationOf('whatsapp', '79161234567@c.us'));
    const [contact] = await s.ctx().db.select().from(contacts).where(eq(contacts.id, cv.contactId));
    assert.equal(contact!.name, 'Мария');
    assert.deepEqual(contact!.phones, ['+79161234567']);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, cv.leadId!));
    assert.equal(lead!.source, 'whatsapp');
    assert.equal(lead!.responsibleId, anna.id);
    const note = await waitFor('client_message', () => notes.find((n) => n.kind === 'client_message' && n.conversationId === cv.id));
    assert.equal(note.userId, anna.id);
    assert.match(note.text, /WhatsApp · Мария \(\+7 916 123 45 67\)/);
    assert.match(note.text, /есть в наличии/);
  });

  test('the same message delivered twice is stored once', async () => {
    client.receive({ from: '79161234567@c.us', id: 'false_79161234567@c.us_AAA2', body: 'Дубль' });
    client.receive({ from: '79161234567@c.us', id: 'false_79161234567@c.us_AAA2', body: 'Дубль' });
    await waitFor('the message', async () => (await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, 'false_79161234567@c.us_AAA2'))).length > 0);
    await sleep(300);
    const rows = await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, 'false_79161234567@c.us_AAA2'));
    assert.equal(rows.length, 1);
  });

  test('a photo is stored as an attachment', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    client.receive({
      from: '79161234567@c.us',
      id: 'false_79161234567@c.us_IMG1',
      type: 'image',
      body: 'Вот такой нужен',
      hasMedia: true,
      downloadMedia: async () => ({ mimetype: 'image/png', data: png.toString('base64'), filename: null }),
    });
    const m = await waitFor('the photo message', async () => (await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, 'false_79161234567@c.us_IMG1')))[0]);
    assert.equal(m.text, 'Вот такой нужен');
    assert.equal(m.attachments.length, 1);
    assert.equal(m.attachments[0]!.mime, 'image/png');
    assert.equal(m.attachments[0]!.size, png.length);
  });

  test('group chats, status updates and our own messages are not clients', async () => {
    const count = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages`))[0]!.n;
    const n = await count();
    client.receive({ from: '120363025246125486@g.us', id: 'false_group_1', body: 'в группе' });
    client.receive({ from: 'status@broadcast', id: 'false_status_1', body: 'статус' });
    client.receive({ from: '79161234567@c.us', id: 'true_79161234567@c.us_MINE', body: 'моё', fromMe: true });
    await sleep(300);
    assert.equal(await count(), n);
  });

  test('the same person on Viber (sharing the same phone) is the same contact', async () => {
    const { body } = viberMessageBody({ userId: 'vb-maria==', name: 'Maria V', message: { type: 'contact', contact: { name: 'Мария', phone_number: '8 916 123-45-67' } } });
    const res = await fetch(`${base}/webhooks/viber`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-viber-content-signature': viberSignature(body, VIBER_TOKEN) },
      body,
    });
    assert.equal(res.status, 200);
    const waConv = await conversationOf('whatsapp', '79161234567@c.us');
    const viberConv = await conversationOf('viber', 'vb-maria==');
    assert.equal(viberConv!.contactId, waConv!.contactId, 'one contact for both channels');
    assert.equal(viberConv!.leadId, waConv!.leadId, 'the open lead is not doubled');
    const ids = await s.ctx().db.select().from(contactIdentities).where(eq(contactIdentities.contactId, waConv!.contactId));
    assert.deepEqual(ids.map((i) => i.channel).sort(), ['viber', 'whatsapp']);
    // later messages from that Viber account find the contact by its identity
    const next = viberMessageBody({ userId: 'vb-maria==', message: { type: 'text', text: 'Это снова я' } });
    await fetch(`${base}/webhooks/viber`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-viber-content-signature': viberSignature(next.body, VIBER_TOKEN) },
      body: next.body,
    });
    const count = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM contacts WHERE '+79161234567' = ANY(phones)`);
    assert.equal(count[0]!.n, 1);
  });
});

describe('the manager answers on WhatsApp', () => {
  test('the reply goes to the client through the WhatsApp client', async () => {
    const cv = await conversationOf('whatsapp', '79161234567@c.us');
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Да, есть. Оформить?');
    await waitFor('sendMessage', () => client.sent.find((m) => m.text === 'Да, есть. Оформить?'));
    assert.deepEqual(client.sent.at(-1), { chatId: '79161234567@c.us', text: 'Да, есть. Оформить?' });
    const m = await waitFor('status sent', async () => {
      const [row] = await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
      return row?.deliveryStatus === 'sent' && row;
    });
    assert.match(m.providerMessageId!, /^true_79161234567@c\.us_OUT/);
  });

  test('logged out: /health says down, a new QR is offered, and a reply waits for the session to come back', async () => {
    client.emit('disconnected', 'LOGOUT');
    assert.equal(wa.status().ok, false);
    assert.equal((await health()).channels.whatsapp, 'down');
    await waitFor('a new session', () => client.initialized === 2);
    const notices = await waitFor('a second adapter_down notice (a new outage)', () => {
      const list = notes.filter((n) => n.kind === 'adapter_down');
      return list.length === 2 && list;
    });
    assert.match(notices[1]!.text, /сеанс завершён/);

    const cv = await conversationOf('whatsapp', '79161234567@c.us');
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Вы на связи?');
    await sleep(300);
    assert.equal(client.sent.some((m) => m.text === 'Вы на связи?'), false, 'nothing is sent while logged out');
    client.emit('ready');
    await waitFor('the reply after the session came back', () => client.sent.find((m) => m.text === 'Вы на связи?'), 15_000);
    await waitFor('status sent', async () => (await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id)))[0]?.deliveryStatus === 'sent');
    assert.equal((await health()).channels.whatsapp, 'ok');
  });
});

describe('start-up', () => {
  test('a start that fails (no browser, WhatsApp Web unreachable) is reported down and tried again', async () => {
    const failing = new StandInClient();
    let failures = 1;
    failing.initialize = async () => {
      failing.initialized++;
      if (failures-- > 0) throw new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/');
    };
    const adapter = new WhatsAppAdapter(failing, { sink: async () => undefined, log: pino({ level: 'silent' }), retryDelayMs: 20 });
    try {
      adapter.start();
      await waitFor('the failure', () => !adapter.status().ok);
      assert.match(adapter.status().detail!, /не удалось запустить/);
      await waitFor('another try', () => failing.initialized === 2);
      failing.emit('ready');
      assert.deepEqual(adapter.status(), { ok: true });
    } finally {
      await adapter.stop();
    }
  });
});
