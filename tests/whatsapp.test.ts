import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { and, eq, sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { pino } from 'pino';
import { WhatsAppAdapter } from '../bots/whatsapp/index.js';
import type { WhatsAppChatLike, WhatsAppClientLike, WhatsAppMediaLike, WhatsAppMessageLike, WhatsAppSendOptions } from '../bots/whatsapp/client.js';
import wweb from 'whatsapp-web.js';
import { replyInConversation } from '../core/conversations/conversations.js';
import { attachmentsDirFor } from '../core/channels/attachments.js';
import { ChannelSendError } from '../core/channels/send-error.js';
import type { InboundMessage, OutboundFile } from '../core/channels/types.js';
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
type StandInMessage = Partial<Omit<WhatsAppMessageLike, 'id'>> & { from: string; id: string; pushname?: string };

interface Sent {
  chatId: string;
  text?: string;
  media?: WhatsAppMediaLike;
  options?: WhatsAppSendOptions;
}

class StandInClient extends EventEmitter implements WhatsAppClientLike {
  readonly sent: Sent[] = [];
  /** the chat list WhatsApp Web holds when the session becomes ready */
  chats: WhatsAppChatLike[] = [];
  /** what WhatsApp links a `…@lid` id to */
  readonly lidPhones = new Map<string, string>();
  /** getChats() waits for this, when set (to show that `ready` does not wait for the catch-up) */
  chatsGate: Promise<void> | undefined;
  /** sendMessage fails from this call on (1-based), when set */
  failFromSend: number | undefined;
  initialized = 0;
  destroyed = 0;
  private seq = 0;
  private sends = 0;

  async initialize(): Promise<void> {
    this.initialized++;
  }
  async destroy(): Promise<void> {
    this.destroyed++;
  }
  async sendMessage(chatId: string, content: string | WhatsAppMediaLike, options?: WhatsAppSendOptions) {
    if (this.failFromSend !== undefined && ++this.sends >= this.failFromSend) throw new Error('Evaluation failed: t: Protocol error');
    this.sent.push({ chatId, ...(typeof content === 'string' ? { text: content } : { media: content }), ...(options ? { options } : {}) });
    return { id: { _serialized: `true_${chatId}_OUT${++this.seq}` } };
  }
  async getChats(): Promise<WhatsAppChatLike[]> {
    await this.chatsGate;
    return this.chats;
  }
  async getContactLidAndPhone(userIds: string[]) {
    // as whatsapp-web.js answers: one entry per id, `pn` missing when WhatsApp does not know the phone
    return userIds.map((lid) => ({ lid, pn: this.lidPhones.get(lid) }));
  }
  /** a client's message as whatsapp-web.js builds it */
  message(m: StandInMessage): WhatsAppMessageLike {
    const { pushname, ...rest } = m;
    return {
      body: '',
      fromMe: false,
      timestamp: Math.floor(Date.now() / 1000),
      type: 'chat',
      hasMedia: false,
      downloadMedia: async () => undefined,
      // for a `…@lid` sender whatsapp-web.js gives the linked id's digits as the «number»
      getContact: async () => ({ number: m.from.split('@')[0], pushname }),
      ...rest,
      id: { _serialized: m.id },
    };
  }
  /** a message arriving from a client, as whatsapp-web.js emits it */
  receive(m: StandInMessage): void {
    this.emit('message', this.message(m));
  }
}

/** a chat in WhatsApp Web's list, holding `messages` (oldest first) of which the last `unreadCount` client ones are unread */
function standInChat(id: string, unreadCount: number, messages: WhatsAppMessageLike[], calls: { id: string; limit: number; fromMe?: boolean | undefined }[] = []): WhatsAppChatLike {
  return {
    id: { _serialized: id },
    isGroup: id.endsWith('@g.us'),
    unreadCount,
    timestamp: messages.at(-1)?.timestamp ?? 0,
    // as Chat.fetchMessages: the last `limit` messages that pass the fromMe filter
    fetchMessages: async ({ limit, fromMe }) => {
      calls.push({ id, limit, fromMe });
      return messages.filter((m) => fromMe === undefined || m.fromMe === fromMe).slice(-limit);
    },
  };
}

const messageRow = async (providerMessageId: string) => (await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, providerMessageId)))[0];
const silent = pino({ level: 'silent' });

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
  // everyone has linked Telegram: notices go to the people a request is for, not to the fallback
  await s.database.rows(sql`UPDATE users SET telegram_id = 900000 + id`);
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

describe('messages that arrived while the CRM was down', () => {
  test('when the session is ready, the unread messages of client chats are taken in, oldest first; read ones, ours, groups and status are not', async () => {
    const now = Math.floor(Date.now() / 1000);
    const chat = '79035550101@c.us';
    const m = (id: string, body: string, ago: number, fromMe = false) => client.message({ from: chat, id: `${fromMe}_${chat}_${id}`, body, timestamp: now - ago, fromMe });
    let open!: () => void;
    client.chatsGate = new Promise((r) => (open = r));
    client.chats = [
      standInChat(chat, 2, [m('DOWN0', 'Уже прочитано', 400), m('DOWN1', 'Первое, пока CRM стояла', 300), m('MINE', 'наш ответ с телефона', 200, true), m('DOWN2', 'Второе, пока CRM стояла', 100)]),
      standInChat('120363025246125486@g.us', 1, [client.message({ from: '120363025246125486@g.us', id: 'false_group_DOWN', body: 'в группе', timestamp: now - 50 })]),
      standInChat('status@broadcast', 1, [client.message({ from: 'status@broadcast', id: 'false_status_DOWN', body: 'статус', timestamp: now - 50, isStatus: true })]),
    ];
    try {
      client.emit('ready');
      // the catch-up runs in the background: the session is usable while chats are still being read
      assert.deepEqual(wa.status(), { ok: true });
      open();
      const second = await waitFor('the second unread message', () => messageRow(`false_${chat}_DOWN2`));
      const first = await messageRow(`false_${chat}_DOWN1`);
      assert.ok(first, 'the first unread message is stored');
      assert.ok(first.id < second.id, 'the older message is stored first');
      assert.equal(first.text, 'Первое, пока CRM стояла');
      assert.equal(first.at.getTime(), (now - 300) * 1000, 'the time the client wrote it');
      await sleep(200);
      for (const id of [`false_${chat}_DOWN0`, `true_${chat}_MINE`, 'false_group_DOWN', 'false_status_DOWN']) assert.equal(await messageRow(id), undefined, id);

      // a second ready (a reconnect) reads the same unread messages again: still stored once
      client.emit('ready');
      await sleep(300);
      const rows = await s.ctx().db.select().from(messages).where(sql`${messages.providerMessageId} LIKE ${`false_${chat}_DOWN%`}`);
      assert.equal(rows.length, 2);
    } finally {
      client.chats = [];
      client.chatsGate = undefined;
    }
  });
});

describe('a client on a linked id (@lid)', () => {
  test('the phone WhatsApp links to the id is the contact\'s phone, so a known client is recognised; replies go to the @lid chat', async () => {
    const lid = '250880524312345@lid';
    client.lidPhones.set(lid, '79161234567@c.us');
    client.receive({ from: lid, id: `false_${lid}_LID1`, body: 'Пишу с другого устройства', pushname: 'Мария' });
    const cv = await waitFor('the @lid conversation', () => conversationOf('whatsapp', lid));
    const maria = await conversationOf('whatsapp', '79161234567@c.us');
    assert.equal(cv.contactId, maria!.contactId, 'the same contact as on her phone number');

    const unknown = '99887766554433@lid';
    client.receive({ from: unknown, id: `false_${unknown}_LID2`, body: 'Здравствуйте', pushname: 'Гость' });
    const other = await waitFor('the unknown @lid conversation', () => conversationOf('whatsapp', unknown));
    const [guest] = await s.ctx().db.select().from(contacts).where(eq(contacts.id, other.contactId));
    assert.deepEqual(guest!.phones, [], 'the linked id\'s digits are not a phone');

    await replyInConversation(s.ctx(userActor(anna)), cv.id, 'Вижу вас, Мария');
    const sent = await waitFor('the reply', () => client.sent.find((m) => m.text === 'Вижу вас, Мария'));
    assert.equal(sent.chatId, lid);
  });
});

describe('what a client sends is stored as what it is', () => {
  const from = '79035550202@c.us';

  test('a location is a map link, not its thumbnail', async () => {
    client.receive({
      from,
      id: `false_${from}_LOC1`,
      type: 'location',
      // whatsapp-web.js puts the map thumbnail (a base64 JPEG) in the body of a location
      body: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/',
      location: { latitude: 55.753544, longitude: 37.621202, name: 'Красная площадь', address: 'Москва' },
    });
    const m = await waitFor('the location', () => messageRow(`false_${from}_LOC1`));
    assert.equal(m.text, '📍 Геопозиция: Красная площадь, Москва https://yandex.ru/maps/?pt=37.621202,55.753544&z=16&l=map');
    assert.deepEqual(m.attachments, []);
  });

  test('a shared contact is its name and phones, and the vCard file is kept', async () => {
    const card = 'BEGIN:VCARD\nVERSION:3.0\nN:Петров;Иван;;;\nFN:Иван Петров\nitem1.TEL;waid=79035550102:+7 903 555-01-02\nitem1.X-ABLabel:Мобильный\nEND:VCARD';
    client.receive({ from, id: `false_${from}_VCF1`, type: 'vcard', body: card, vCards: [card] });
    const m = await waitFor('the contact card', () => messageRow(`false_${from}_VCF1`));
    assert.equal(m.text, '📇 Контакт: Иван Петров, +7 903 555 01 02');
    assert.equal(m.attachments.length, 1);
    assert.deepEqual({ ...m.attachments[0], path: undefined }, { path: undefined, name: 'contact.vcf', mime: 'text/vcard', kind: 'document', size: Buffer.byteLength(card) });
  });

  test('voice notes, audio, video, stickers, photos and documents keep their files with their kind', async () => {
    const kinds: [type: string, mimetype: string, filename: string | null, kind: string][] = [
      ['ptt', 'audio/ogg; codecs=opus', null, 'voice'],
      ['audio', 'audio/ogg', null, 'audio'],
      ['video', 'video/mp4', null, 'video'],
      ['sticker', 'image/webp', null, 'sticker'],
      ['image', 'image/jpeg', null, 'photo'],
      ['document', 'image/png', 'схема.png', 'document'],
    ];
    for (const [type, mimetype, filename] of kinds) {
      client.receive({ from, id: `false_${from}_MEDIA_${type}`, type, hasMedia: true, downloadMedia: async () => ({ mimetype, data: Buffer.from(type).toString('base64'), filename }) });
    }
    for (const [type, mimetype, filename, kind] of kinds) {
      const m = await waitFor(`the ${type}`, () => messageRow(`false_${from}_MEDIA_${type}`));
      assert.equal(m.attachments.length, 1, type);
      assert.equal(m.attachments[0]!.kind, kind, type);
      assert.equal(m.attachments[0]!.mime, mimetype, type);
      assert.equal(m.attachments[0]!.size, type.length, type);
      if (filename) assert.equal(m.attachments[0]!.name, filename);
      assert.equal(m.text, null, `${type}: no caption, no text`);
    }
  });

  test('a NUL byte or a broken surrogate in a message does not stop it being stored', async () => {
    client.receive({ from, id: `false_${from}_NUL1`, body: 'Цена\u0000 на \ud83d сегодня?', pushname: 'Оль\u0000га \udc00' });
    client.receive({ from, id: `false_${from}_NUL2`, type: 'location', body: '', location: { latitude: 59.9386, longitude: 30.3141, name: 'Склад\u0000 \ud800' } });
    const card = 'BEGIN:VCARD\nVERSION:3.0\nFN:Пётр\u0000 \udfff\nTEL:+7 903 555-01-03\nEND:VCARD';
    client.receive({ from, id: `false_${from}_NUL3`, type: 'vcard', body: card, vCards: [card] });
    const text = await waitFor('the text with a NUL byte', () => messageRow(`false_${from}_NUL1`));
    assert.equal(text.text, 'Цена на \ufffd сегодня?');
    const place = await waitFor('the location with a broken name', () => messageRow(`false_${from}_NUL2`));
    assert.match(place.text!, /^📍 Геопозиция: Склад \ufffd https:\/\/yandex\.ru\/maps\/\?pt=30\.3141,59\.9386&z=16&l=map$/);
    const contact = await waitFor('the contact card with a broken name', () => messageRow(`false_${from}_NUL3`));
    assert.equal(contact.text, '📇 Контакт: Пётр \ufffd, +7 903 555 01 03');
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

  test('a file goes as WhatsApp media with the text as its caption', async () => {
    const pdf = Buffer.from('%PDF-1.4 счёт');
    const res = await wa.send({ externalChatId: '79161234567@c.us', text: 'Счёт во вложении', files: [{ name: 'счёт.pdf', mime: 'application/pdf', kind: 'document', data: pdf }] });
    const sent = client.sent.at(-1)!;
    assert.equal(res.providerMessageId, `true_79161234567@c.us_OUT${client.sent.length}`);
    assert.equal(sent.chatId, '79161234567@c.us');
    assert.equal(sent.text, undefined, 'no separate text message');
    // the real client only takes whatsapp-web.js's own MessageMedia as media
    assert.ok(sent.media instanceof wweb.MessageMedia);
    assert.deepEqual({ ...sent.media }, { mimetype: 'application/pdf', data: pdf.toString('base64'), filename: 'счёт.pdf', filesize: pdf.length });
    assert.deepEqual(sent.options, { caption: 'Счёт во вложении', sendMediaAsDocument: true });
  });

  test('several files: the text goes first, then each file; a voice note as voice, a sticker as a sticker', async () => {
    const before = client.sent.length;
    const file = (name: string, mime: string, kind: OutboundFile['kind']): OutboundFile => ({ name, mime, kind, data: Buffer.from(name) });
    const res = await wa.send({
      externalChatId: '79161234567@c.us',
      text: 'Фото, голосовое и стикер',
      files: [file('photo.jpg', 'image/jpeg', 'photo'), file('voice.ogg', 'audio/ogg; codecs=opus', 'voice'), file('sticker.webp', 'image/webp', 'sticker'), file('song.mp3', 'audio/mpeg', 'audio')],
    });
    const sent = client.sent.slice(before);
    assert.equal(sent.length, 5);
    assert.deepEqual(sent[0], { chatId: '79161234567@c.us', text: 'Фото, голосовое и стикер' });
    assert.equal(res.providerMessageId, `true_79161234567@c.us_OUT${before + 1}`, 'the first part stands for the message');
    assert.deepEqual(
      sent.slice(1).map((m) => [m.media?.filename, m.media?.mimetype, m.options ?? {}]),
      [
        ['photo.jpg', 'image/jpeg', {}],
        ['voice.ogg', 'audio/ogg; codecs=opus', { sendAudioAsVoice: true }],
        ['sticker.webp', 'image/webp', { sendMediaAsSticker: true }],
        ['song.mp3', 'audio/mpeg', {}],
      ],
    );
  });

  test('a photo attached to a reply reaches the client', async () => {
    const cv = await conversationOf('whatsapp', '79161234567@c.us');
    const jpeg = Buffer.from('ffd8ffe000104a464946', 'hex');
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Вот фото', { files: [{ name: 'товар.jpg', mime: 'image/jpeg', data: jpeg }], attachmentsDir: attachmentsDirFor(s.dataDir) });
    const sent = await waitFor('the photo', () => client.sent.find((m) => m.media?.filename === 'товар.jpg'), 15_000);
    assert.equal(sent.media!.data, jpeg.toString('base64'));
    assert.deepEqual(sent.options, { caption: 'Вот фото' });
    await waitFor('status sent', async () => (await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id)))[0]?.deliveryStatus === 'sent');
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
  test('the catch-up after ready is bounded (50 chats, 100 messages each), hands messages over oldest first and stops with the adapter', async () => {
    const standIn = new StandInClient();
    const calls: { id: string; limit: number; fromMe?: boolean | undefined }[] = [];
    const now = Math.floor(Date.now() / 1000);
    standIn.chats = Array.from({ length: 60 }, (_, c) => {
      const id = `7903${String(c).padStart(7, '0')}@c.us`;
      // 500 unread messages, oldest first as Chat.fetchMessages gives them
      const list = Array.from({ length: 500 }, (_, i) => standIn.message({ from: id, id: `false_${id}_${i}`, body: `№${i}`, timestamp: now - 10_000 + i + c * 1000 }));
      return standInChat(id, 500, list, calls);
    });
    const got: InboundMessage[] = [];
    const adapter = new WhatsAppAdapter(standIn, { sink: async (m) => void got.push(m), log: silent });
    try {
      adapter.start();
      standIn.emit('ready');
      await waitFor('the catch-up', () => got.length === 50 * 100);
      assert.equal(calls.length, 50, 'at most 50 chats');
      assert.ok(calls.every((c) => c.limit === 100 && c.fromMe === false), 'at most 100 of the client\'s messages a chat');
      // the most recently active chats first
      assert.deepEqual(new Set(calls.map((c) => c.id)), new Set(standIn.chats.slice(10).map((c) => c.id._serialized)));
      const ofFirst = got.filter((m) => m.externalChatId === calls[0]!.id).map((m) => m.text);
      assert.deepEqual(ofFirst, Array.from({ length: 100 }, (_, i) => `№${400 + i}`), 'the last 100, oldest first');
    } finally {
      await adapter.stop();
    }

    // stop() ends a catch-up under way
    const slow = new StandInClient();
    slow.chats = standIn.chats.slice(0, 3);
    let handed = 0;
    const sink = async () => {
      handed++;
      await sleep(5);
    };
    const stopping = new WhatsAppAdapter(slow, { sink, log: silent });
    stopping.start();
    slow.emit('ready');
    await waitFor('the catch-up to begin', () => handed > 0);
    await stopping.stop();
    const atStop = handed;
    await sleep(100);
    assert.equal(handed, atStop);
    assert.ok(atStop < 300, 'not every message was handed over after stop');
  });

  test('a chat whose messages cannot be read does not hold back the others', async () => {
    const standIn = new StandInClient();
    const now = Math.floor(Date.now() / 1000);
    const ok = standInChat('79035550303@c.us', 1, [standIn.message({ from: '79035550303@c.us', id: 'false_79035550303@c.us_OK', body: 'Жду ответа', timestamp: now - 60 })]);
    const broken: WhatsAppChatLike = { ...standInChat('79035550404@c.us', 3, []), timestamp: now, fetchMessages: async () => Promise.reject(new Error('Evaluation failed')) };
    standIn.chats = [broken, ok];
    const got: InboundMessage[] = [];
    const adapter = new WhatsAppAdapter(standIn, { sink: async (m) => void got.push(m), log: silent });
    try {
      adapter.start();
      standIn.emit('ready');
      await waitFor('the readable chat', () => got.length === 1);
      assert.equal(got[0]!.text, 'Жду ответа');
    } finally {
      await adapter.stop();
    }
  });

  test('when a later part of a reply fails, it is not sent again: the parts already out would repeat', async () => {
    const standIn = new StandInClient();
    const adapter = new WhatsAppAdapter(standIn, { sink: async () => undefined, log: silent });
    try {
      adapter.start();
      standIn.emit('ready');
      standIn.failFromSend = 2;
      const files: OutboundFile[] = [{ name: 'a.pdf', mime: 'application/pdf', kind: 'document', data: Buffer.from('a') }];
      const err = await adapter.send({ externalChatId: '79161234567@c.us', text: 'x'.repeat(2000), files }).catch((e: unknown) => e);
      assert.ok(err instanceof ChannelSendError);
      assert.equal(err.permanent, true);
      assert.match(err.reason, /не всё/);
      assert.equal(standIn.sent.length, 1);

      // nothing went out: trying again is safe
      standIn.failFromSend = 1;
      const first = await adapter.send({ externalChatId: '79161234567@c.us', text: 'y', files }).catch((e: unknown) => e);
      assert.ok(first instanceof ChannelSendError);
      assert.equal(first.permanent, false);
    } finally {
      await adapter.stop();
    }
  });

  test('a start that fails (no browser, WhatsApp Web unreachable) is reported down and tried again', async () => {
    const failing = new StandInClient();
    let failures = 1;
    failing.initialize = async () => {
      failing.initialized++;
      if (failures-- > 0) throw new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/');
    };
    const adapter = new WhatsAppAdapter(failing, { sink: async () => undefined, log: silent, retryDelayMs: 20 });
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
