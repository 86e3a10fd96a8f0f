import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { attachmentsDirFor } from '../core/channels/attachments.js';
import { fileLinkToken } from '../core/channels/file-links.js';
import { readAttachment, replyInConversation } from '../core/conversations/conversations.js';
import { contactIdentities, contacts, conversations, leads, messages } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { getHistory } from '../core/history/history.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { ServiceError } from '../core/errors.js';
import type { Services } from '../core/services.js';
import { FakeViber, viberMessageBody, viberSignature } from './helpers/fake-viber.js';
import { openTestServices } from './helpers/services.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * Viber end to end: signed webhook calls into the CRM over loopback HTTP, a fake Viber API that
 * receives the manager's replies, a real database and job queue.
 */
const TOKEN = '4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f';

let fake: FakeViber;
let s: Services & { dataDir: string };
let crm: TestCrm;
let base: string;
let anna: User, boris: User, admin: User;
const notes: Notification[] = [];


function hook(body: string, signature: string | null = viberSignature(body, TOKEN), to = base) {
  return fetch(`${to}/webhooks/viber`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-viber-content-signature': signature }) },
    body,
  });
}

const messageCount = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM messages`))[0]!.n;

before(async () => {
  fake = await new FakeViber(TOKEN).start();
  s = await openTestServices({ VIBER_AUTH_TOKEN: TOKEN, VIBER_BOT_NAME: 'Компания', VIBER_API_ROOT: fake.url, PUBLIC_URL: 'https://crm.example.test' });
  const sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@viber.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@viber.test', name: 'Борис', role: 'manager' });
  admin = await createUser(sys, { email: 'admin@viber.test', name: 'Админ', role: 'admin' });
  // everyone has linked Telegram: notices go to the people a request is for, not to the fallback
  await s.database.rows(sql`UPDATE users SET telegram_id = 900000 + id`);
  // only Анна is on duty, so every new Viber lead is hers
  await s.database.rows(sql`UPDATE users SET on_duty = false WHERE id = ${boris.id}`);
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['notifications', 'mail'] });
  base = crm.base;
});

after(async () => {
  await crm?.close();
  await s?.close();
  await fake?.close();
});

async function conversationOf(userId: string) {
  const [cv] = await s.ctx().db.select().from(conversations).where(and(eq(conversations.channel, 'viber'), eq(conversations.externalChatId, userId)));
  return cv;
}

describe('start-up', () => {
  test('the webhook is registered with Viber and asks for delivery failures too', async () => {
    await waitFor('set_webhook', () => fake.webhooks.length > 0);
    assert.equal(fake.webhooks[0], 'https://crm.example.test/webhooks/viber');
    for (const event of ['delivered', 'seen', 'failed']) assert.ok(fake.webhookEvents[0]!.includes(event), `event_types lack ${event}`);
  });
});

describe('a client writes to the Viber bot', () => {
  test('the first message becomes a contact, a conversation and a lead, and the manager is told in Telegram', async () => {
    const { body, token } = viberMessageBody({ userId: 'vb-ivan==', name: 'Иван Петров', message: { type: 'text', text: 'Здравствуйте, сколько стоит доставка?' } });
    const res = await hook(body);
    assert.equal(res.status, 200);

    const [identity] = await s.ctx().db.select().from(contactIdentities).where(eq(contactIdentities.externalId, 'vb-ivan=='));
    assert.ok(identity, 'the Viber account is tied to a contact');
    const [contact] = await s.ctx().db.select().from(contacts).where(eq(contacts.id, identity.contactId));
    assert.equal(contact!.name, 'Иван Петров');
    const cv = await conversationOf('vb-ivan==');
    assert.equal(cv!.contactId, contact!.id);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, cv!.leadId!));
    assert.equal(lead!.source, 'viber');
    assert.equal(lead!.contactId, contact!.id);
    assert.equal(lead!.responsibleId, anna.id);
    const [msg] = await s.ctx().db.select().from(messages).where(eq(messages.conversationId, cv!.id));
    assert.equal(msg!.providerMessageId, token, 'the 64-bit message token is kept digit for digit');
    assert.equal(msg!.text, 'Здравствуйте, сколько стоит доставка?');

    const note = await waitFor('the client_message notice', () => notes.find((n) => n.kind === 'client_message' && n.messageId === msg!.id));
    assert.equal(note.userId, anna.id);
    assert.equal(note.conversationId, cv!.id);
    assert.equal(note.leadId, lead!.id);
    assert.match(note.text, /Viber/);
    assert.match(note.text, /Иван Петров/);
    assert.match(note.text, new RegExp(`Лид №${lead!.id}`));
    assert.match(note.text, /сколько стоит доставка/);
    await waitFor('the new_lead notice', () => notes.find((n) => n.kind === 'new_lead' && n.leadId === lead!.id && n.userId === anna.id));
  });

  test('a second message joins the same conversation and lead', async () => {
    const before = await conversationOf('vb-ivan==');
    const { body } = viberMessageBody({ userId: 'vb-ivan==', name: 'Иван Петров', message: { type: 'text', text: 'И ещё вопрос' } });
    assert.equal((await hook(body)).status, 200);
    const after = await conversationOf('vb-ivan==');
    assert.equal(after!.id, before!.id);
    assert.equal(after!.leadId, before!.leadId);
    const n = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE contact_id = ${before!.contactId}`);
    assert.equal(n[0]!.n, 1);
  });

  test('a delivery sent again, even several at once, is stored once', async () => {
    const { body, token } = viberMessageBody({ userId: 'vb-olga==', name: 'Ольга', message: { type: 'text', text: 'Повтор' } });
    const first = await hook(body);
    assert.equal(first.status, 200);
    const again = await Promise.all([hook(body), hook(body), hook(body)]);
    assert.deepEqual(
      again.map((r) => r.status),
      [200, 200, 200],
    );
    const stored = await s.ctx().db.select().from(messages).where(and(eq(messages.channel, 'viber'), eq(messages.providerMessageId, token)));
    assert.equal(stored.length, 1);
    const cv = await conversationOf('vb-olga==');
    const leadCount = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE contact_id = ${cv!.contactId}`);
    assert.equal(leadCount[0]!.n, 1);
    await sleep(200);
    assert.equal(notes.filter((n) => n.kind === 'client_message' && n.messageId === stored[0]!.id).length, 1, 'the manager is told once');
  });

  test('a forged or missing signature is refused and nothing is stored', async () => {
    const count = await messageCount();
    const { body } = viberMessageBody({ userId: 'vb-mallory==', message: { type: 'text', text: 'подделка' } });
    assert.equal((await hook(body, null)).status, 401);
    assert.equal((await hook(body, 'ab'.repeat(32))).status, 403);
    assert.equal((await hook(body, viberSignature(body, 'another-token'))).status, 403);
    assert.equal((await hook(body, viberSignature(`${body} `, TOKEN))).status, 403, 'a signature of other bytes');
    assert.equal((await hook(body, 'not hex at all')).status, 403);
    assert.equal(await messageCount(), count);
    const [id] = await s.ctx().db.select().from(contactIdentities).where(eq(contactIdentities.externalId, 'vb-mallory=='));
    assert.equal(id, undefined);
  });

  test('a NUL byte or a broken surrogate in a message is cleaned and stored, never a 500', async () => {
    const { body, token } = viberMessageBody({ userId: 'vb-nul==', name: 'Ноль\u0000 Байт', message: { type: 'text', text: 'привет\u0000 \ud800мир' } });
    const res = await hook(body);
    assert.equal(res.status, 200);
    const [m] = await s.ctx().db.select().from(messages).where(and(eq(messages.channel, 'viber'), eq(messages.providerMessageId, token)));
    assert.equal(m!.text, 'привет \ufffdмир');
    // Viber's retry of the same delivery is stored once
    assert.equal((await hook(body)).status, 200);
    assert.equal((await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, token))).length, 1);
  });

  test('a malformed payload gets 400 and stores nothing; other events are acknowledged', async () => {
    const count = await messageCount();
    assert.equal((await hook('{"event":"message",')).status, 400);
    const noSender = await hook('{"event":"message","message_token":123,"message":{"type":"text","text":"x"}}');
    assert.equal(noSender.status, 400);
    const payload = (await noSender.json()) as { fields: Record<string, string> };
    assert.ok(payload.fields.sender, 'names the missing field');
    assert.equal((await hook('[1,2]')).status, 400);
    assert.equal((await hook('{"event":"webhook","timestamp":1,"message_token":241256543215}')).status, 200);
    assert.equal((await hook('{"event":"conversation_started","user":{"id":"vb-new=="},"message_token":1}')).status, 200);
    assert.equal(await messageCount(), count);
  });

  test('a picture is stored under DATA_DIR and opens from the history for those who see the lead', async () => {
    const jpeg = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');
    const url = fake.addMedia('photo-1.jpg', 'image/jpeg', jpeg);
    const { body } = viberMessageBody({ userId: 'vb-ivan==', name: 'Иван Петров', message: { type: 'picture', text: 'Вот фото', media: url } });
    assert.equal((await hook(body)).status, 200);
    const cv = await conversationOf('vb-ivan==');
    const [m] = await s.ctx().db.select().from(messages).where(and(eq(messages.conversationId, cv!.id), eq(messages.text, 'Вот фото')));
    assert.equal(m!.attachments.length, 1);
    const att = m!.attachments[0]!;
    assert.equal(att.mime, 'image/jpeg');
    assert.equal(att.size, jpeg.length);
    const dir = attachmentsDirFor(s.config.DATA_DIR);
    assert.ok(existsSync(path.join(dir, att.path)));
    assert.deepEqual(readFileSync(path.join(dir, att.path)), jpeg);

    const opened = await readAttachment(s.ctx(userActor(anna)), m!.id, 0, dir);
    assert.deepEqual(opened.data, jpeg);
    await assert.rejects(readAttachment(s.ctx(userActor(boris)), m!.id, 0, dir), (e) => e instanceof ServiceError && e.code === 'forbidden');
    const history = await getHistory(s.ctx(userActor(anna)), 'lead', cv!.leadId!);
    assert.ok(history.some((h) => h.kind === 'message' && h.id === m!.id));
  });

  test('a shared contact adds the phone to the client', async () => {
    const { body } = viberMessageBody({ userId: 'vb-ivan==', name: 'Иван Петров', message: { type: 'contact', contact: { name: 'Иван', phone_number: '+7 (903) 111-22-33' } } });
    assert.equal((await hook(body)).status, 200);
    const cv = await conversationOf('vb-ivan==');
    const [c] = await s.ctx().db.select().from(contacts).where(eq(contacts.id, cv!.contactId));
    assert.deepEqual(c!.phones, ['+79031112233']);
  });
});

describe('the manager answers', () => {
  test('the reply reaches the client on Viber, and Viber receipts update its status', async () => {
    const cv = await conversationOf('vb-ivan==');
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Добрый день! Доставка — 500 ₽.');
    assert.equal(reply.direction, 'out');
    assert.equal(reply.authorUserId, anna.id);
    const sent = await waitFor('the fake Viber to receive the reply', () => fake.sent.find((m) => m.text === 'Добрый день! Доставка — 500 ₽.'));
    assert.equal(sent.receiver, 'vb-ivan==');
    assert.equal(sent.type, 'text');
    assert.equal(sent.sender?.name, 'Компания');
    const stored = await waitFor('the provider id on the message', async () => {
      const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
      return m?.deliveryStatus === 'sent' && m;
    });
    assert.equal(stored.providerMessageId, sent.token);

    const receipt = (event: string) => `{"event":"${event}","timestamp":${Date.now()},"message_token":${sent.token},"user_id":"vb-ivan=="}`;
    assert.equal((await hook(receipt('delivered'))).status, 200);
    assert.equal((await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id)))[0]!.deliveryStatus, 'delivered');
    assert.equal((await hook(receipt('seen'))).status, 200);
    assert.equal((await hook(receipt('delivered'))).status, 200);
    assert.equal((await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id)))[0]!.deliveryStatus, 'seen', 'a late receipt does not go back');
  });

  test('a manager who does not see the conversation cannot answer in it', async () => {
    const cv = await conversationOf('vb-ivan==');
    await assert.rejects(replyInConversation(s.ctx(userActor(boris)), cv!.id, 'Чужой ответ'), (e) => e instanceof ServiceError && e.code === 'forbidden');
    await assert.rejects(replyInConversation(s.ctx(userActor(anna)), cv!.id, '   '), (e) => e instanceof ServiceError && e.code === 'invalid' && 'text' in e.fields);
  });

  test('a failed try is retried until Viber takes the message', async () => {
    const cv = await conversationOf('vb-ivan==');
    fake.failNext = 1;
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Со второй попытки');
    await waitFor('the retried send', () => fake.sent.find((m) => m.text === 'Со второй попытки'));
    await waitFor('status sent', async () => (await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id)))[0]?.deliveryStatus === 'sent');
  });

  test('when the client unsubscribed, the reply fails and its author is told', async () => {
    const { body } = viberMessageBody({ userId: 'vb-gone==', name: 'Пётр', message: { type: 'text', text: 'Позвоните мне' } });
    assert.equal((await hook(body)).status, 200);
    fake.unsubscribed.add('vb-gone==');
    const cv = await conversationOf('vb-gone==');
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Звоним!');
    const note = await waitFor('the delivery_failed notice', () => notes.find((n) => n.kind === 'delivery_failed' && n.messageId === reply.id));
    assert.equal(note.userId, anna.id);
    assert.equal(note.conversationId, cv!.id);
    assert.match(note.text, /отписался/);
    assert.match(note.text, /Пётр/);
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
    assert.equal(m!.deliveryStatus, 'failed');
  });
});

/** A tiny but real JPEG and PDF, so the bytes a link returns can be compared exactly. */
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffd9', 'hex');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n', 'latin1');

/** the path of a link made for https://crm.example.test, fetched from the CRM listening on loopback */
const local = (url: string) => `${base}${new URL(url).pathname}`;

describe("a manager's files reach the client on Viber by links to the CRM", () => {
  let photoLink = '';
  let replyId = 0;

  test('a photo and a PDF go as picture and file messages whose links return the exact bytes', async () => {
    const cv = await conversationOf('vb-ivan==');
    const from = fake.sent.length;
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Счёт и фото склада', {
      files: [
        { name: 'склад.jpg', mime: 'image/jpeg', kind: 'photo', data: JPEG },
        { name: 'Счёт №15.pdf', mime: 'application/pdf', kind: 'document', data: PDF },
      ],
      attachmentsDir: attachmentsDirFor(s.config.DATA_DIR),
    });
    replyId = reply.id;
    const sent = await waitFor('three messages on Viber', () => {
      const mine = fake.sent.slice(from).filter((m) => m.receiver === 'vb-ivan==');
      return mine.length >= 3 && mine;
    });
    assert.deepEqual(
      sent.map((m) => m.type),
      ['text', 'picture', 'file'],
      'the text first, then the files in order',
    );
    assert.equal(sent[0]!.text, 'Счёт и фото склада');
    const [, picture, file] = sent;
    assert.match(picture!.media!, /^https:\/\/crm\.example\.test\/files\/[^/]+\/[^/]+\.jpg$/);
    assert.ok(!picture!.text, 'with two files the text is not a caption');
    assert.match(file!.media!, /^https:\/\/crm\.example\.test\/files\/[^/]+\/[^/]+\.pdf$/);
    assert.equal(file!.file_name, 'Счёт №15.pdf');
    assert.equal(file!.size, PDF.length);

    const stored = await waitFor('the reply marked sent', async () => {
      const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
      return m?.deliveryStatus === 'sent' && m;
    });
    assert.equal(stored.providerMessageId, sent[0]!.token, "the first message's token stands for the reply");

    const img = await fetch(local(picture!.media!));
    assert.equal(img.status, 200);
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), JPEG);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    assert.match(img.headers.get('content-disposition')!, /^inline;/);
    assert.equal(img.headers.get('x-content-type-options'), 'nosniff');

    const doc = await fetch(local(file!.media!));
    assert.equal(doc.status, 200);
    assert.deepEqual(Buffer.from(await doc.arrayBuffer()), PDF);
    assert.equal(doc.headers.get('content-type'), 'application/pdf');
    assert.equal(doc.headers.get('x-content-type-options'), 'nosniff');
    const disposition = doc.headers.get('content-disposition')!;
    assert.match(disposition, /^attachment;/);
    assert.equal(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1]!), 'Счёт №15.pdf');

    // the name after the token only gives Viber an extension: the token alone opens the file too
    const bare = new URL(picture!.media!).pathname.split('/').slice(0, 3).join('/');
    const again = await fetch(`${base}${bare}`);
    assert.equal(again.status, 200);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), JPEG);
    photoLink = picture!.media!;
  });

  test('a single photo with a short text goes as one picture with the caption', async () => {
    const cv = await conversationOf('vb-ivan==');
    const from = fake.sent.length;
    await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Вот так выглядит упаковка', {
      files: [{ name: 'упаковка.jpg', mime: 'image/jpeg', kind: 'photo', data: JPEG }],
      attachmentsDir: attachmentsDirFor(s.config.DATA_DIR),
    });
    const picture = await waitFor('the picture', () => fake.sent.slice(from).find((m) => m.receiver === 'vb-ivan==' && m.type === 'picture'));
    assert.equal(picture.text, 'Вот так выглядит упаковка');
    await sleep(200);
    assert.equal(fake.sent.slice(from).filter((m) => m.receiver === 'vb-ivan==').length, 1, 'no separate text message');
  });

  test('a photo over the picture limit goes as a file, an MP4 as a video', async () => {
    const cv = await conversationOf('vb-ivan==');
    const from = fake.sent.length;
    const big = Buffer.alloc(1_200_000, 7);
    const mp4 = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
    await replyInConversation(s.ctx(userActor(anna)), cv!.id, '', {
      files: [
        { name: 'большое фото.jpg', mime: 'image/jpeg', kind: 'photo', data: big },
        { name: 'обзор.mp4', mime: 'video/mp4', kind: 'video', data: mp4 },
      ],
      attachmentsDir: attachmentsDirFor(s.config.DATA_DIR),
    });
    const sent = await waitFor('two messages', () => {
      const mine = fake.sent.slice(from).filter((m) => m.receiver === 'vb-ivan==');
      return mine.length >= 2 && mine;
    });
    assert.deepEqual(
      sent.map((m) => [m.type, m.size, m.file_name]),
      [
        ['file', big.length, 'большое фото.jpg'],
        ['video', mp4.length, undefined],
      ],
      'no empty text message either',
    );
    const video = await fetch(local(sent[1]!.media!));
    assert.deepEqual(Buffer.from(await video.arrayBuffer()), mp4);
    assert.match(video.headers.get('content-disposition')!, /^attachment;/, 'only pictures show inline');
  });

  test('a file over 50 MB fails the reply with the reason, and nothing of it is sent', async () => {
    const cv = await conversationOf('vb-ivan==');
    const from = fake.sent.length;
    const reply = await replyInConversation(s.ctx(userActor(anna)), cv!.id, 'Видео с объекта', {
      files: [{ name: 'объект.mov', mime: 'video/quicktime', kind: 'video', data: Buffer.alloc(50_000_001) }],
      attachmentsDir: attachmentsDirFor(s.config.DATA_DIR),
    });
    const note = await waitFor('the delivery_failed notice', () => notes.find((n) => n.kind === 'delivery_failed' && n.messageId === reply.id));
    assert.equal(note.userId, anna.id);
    assert.match(note.text, /50 МБ/);
    assert.match(note.text, /объект\.mov/);
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
    assert.equal(m!.deliveryStatus, 'failed');
    assert.equal(fake.sent.slice(from).filter((x) => x.receiver === 'vb-ivan==').length, 0, 'not even the text went, so the manager can send again');
  });

  test('a tampered, expired or unknown link answers 404, and a valid one opens', async () => {
    assert.ok(photoLink, 'the first test made a link');
    const path = new URL(photoLink).pathname;
    const [, , token, name] = path.split('/');
    const [payload, sig] = token!.split('.');
    const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
    const future = new Date(Date.now() + 3600_000);
    const status = async (t: string) => {
      const res = await fetch(`${base}/files/${t}/${name}`);
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await status(fileLinkToken(s.secretKey, { messageId: replyId, index: 1 }, future)), 200, 'a fresh link to the PDF');
    assert.equal(await status(`${payload}.${flip(sig!, 3)}`), 404, 'an altered signature');
    assert.equal(await status(`${flip(payload!, 5)}.${sig}`), 404, 'an altered payload');
    const other = fileLinkToken(s.secretKey, { messageId: replyId + 1, index: 0 }, future).split('.')[0];
    assert.equal(await status(`${other}.${sig}`), 404, "another message's payload under this signature");
    assert.equal(await status(fileLinkToken(s.secretKey, { messageId: replyId, index: 0 }, new Date(Date.now() - 1000))), 404, 'expired');
    assert.equal(await status(fileLinkToken('another-secret-key-another-secret-key-0123', { messageId: replyId, index: 0 }, future)), 404, 'signed with another key');
    assert.equal(await status(fileLinkToken(s.secretKey, { messageId: replyId, index: 7 }, future)), 404, 'no such file');
    assert.equal(await status('not-a-token'), 404);
    const res = await fetch(`${base}/files/${payload}.${flip(sig!, 3)}`);
    const body = (await res.json()) as { message: string };
    assert.equal(body.message, 'Файл не найден или ссылка устарела', 'no detail of why');
  });

  test("a client's file cannot be fetched through /files, even with a valid signature", async () => {
    const cv = await conversationOf('vb-ivan==');
    const [incoming] = await s.ctx().db.select().from(messages).where(and(eq(messages.conversationId, cv!.id), eq(messages.text, 'Вот фото')));
    assert.equal(incoming!.direction, 'in');
    assert.equal(incoming!.attachments.length, 1);
    const token = fileLinkToken(s.secretKey, { messageId: incoming!.id, index: 0 }, new Date(Date.now() + 3600_000));
    const res = await fetch(`${base}/files/${token}/photo.jpg`);
    assert.equal(res.status, 404);
  });
});

describe('a revoked token', () => {
  test('shows in /health and is reported to admins once, while the rest keeps working', async () => {
    const healthy = (await (await fetch(`${base}/health`)).json()) as { channels: Record<string, string> };
    assert.deepEqual(healthy.channels, { telegram: 'off', whatsapp: 'off', viber: 'ok' });

    fake.revoked = true;
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200, 'a channel down does not make the CRM unhealthy');
    const health = (await res.json()) as { status: string; channels: Record<string, string> };
    assert.equal(health.status, 'ok');
    assert.equal(health.channels.viber, 'down');
    await fetch(`${base}/health`);
    const notice = await waitFor('the adapter_down notice', () => notes.find((n) => n.kind === 'adapter_down'));
    assert.equal(notice.userId, admin.id);
    assert.match(notice.text, /Viber/);
    assert.match(notice.text, /токен/);
    await sleep(200);
    assert.equal(notes.filter((n) => n.kind === 'adapter_down').length, 1, 'told once per outage');

    // client messages still come in (they need no API call)
    const { body } = viberMessageBody({ userId: 'vb-late==', name: 'Поздний', message: { type: 'text', text: 'Вы тут?' } });
    assert.equal((await hook(body)).status, 200);
    assert.ok(await conversationOf('vb-late=='));

    fake.revoked = false;
    const back = (await (await fetch(`${base}/health`)).json()) as { channels: Record<string, string> };
    assert.equal(back.channels.viber, 'ok');
  });
});

describe('without PUBLIC_URL', () => {
  let fake2: FakeViber;
  let s2: Services & { dataDir: string };
  let crm2: TestCrm;
  let vera: User;
  const notes2: Notification[] = [];

  before(async () => {
    fake2 = await new FakeViber(TOKEN).start();
    s2 = await openTestServices({ VIBER_AUTH_TOKEN: TOKEN, VIBER_BOT_NAME: 'Компания', VIBER_API_ROOT: fake2.url });
    vera = await createUser(s2.ctx(), { email: 'vera@viber.test', name: 'Вера', role: 'manager' });
    s2.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes2.push(job.data));
    crm2 = await startTestCrm(s2, {}, { skipWorkerJobs: ['notifications', 'mail'] });
    const { body } = viberMessageBody({ userId: 'vb-nina==', name: 'Нина', message: { type: 'text', text: 'Пришлите прайс' } });
    assert.equal((await hook(body, undefined, crm2.base)).status, 200);
  });

  after(async () => {
    await crm2?.close();
    await s2?.close();
    await fake2?.close();
  });

  async function ninaConversation() {
    const [cv] = await s2.ctx().db.select().from(conversations).where(and(eq(conversations.channel, 'viber'), eq(conversations.externalChatId, 'vb-nina==')));
    assert.ok(cv);
    return cv;
  }

  test('the text goes, and its author is told the files did not and why', async () => {
    const cv = await ninaConversation();
    const reply = await replyInConversation(s2.ctx(userActor(vera)), cv.id, 'Прайс во вложении', {
      files: [{ name: 'прайс.pdf', mime: 'application/pdf', kind: 'document', data: PDF }],
      attachmentsDir: attachmentsDirFor(s2.config.DATA_DIR),
    });
    const note = await waitFor('the files_not_sent notice', () => notes2.find((n) => n.kind === 'files_not_sent' && n.messageId === reply.id));
    assert.equal(note.userId, vera.id);
    assert.match(note.text, /файлы — нет/);
    assert.match(note.text, /прайс\.pdf/);
    assert.match(note.text, /Viber принимает файлы только по ссылке/);
    assert.match(note.text, /PUBLIC_URL/);
    const sent = fake2.sent.filter((m) => m.receiver === 'vb-nina==');
    assert.deepEqual(
      sent.map((m) => [m.type, m.text]),
      [['text', 'Прайс во вложении']],
    );
    const [m] = await s2.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
    assert.equal(m!.deliveryStatus, 'sent');
  });

  test('files without any text fail, and the author is told why', async () => {
    const cv = await ninaConversation();
    const before = fake2.sent.length;
    const reply = await replyInConversation(s2.ctx(userActor(vera)), cv.id, '', {
      files: [{ name: 'прайс.pdf', mime: 'application/pdf', kind: 'document', data: PDF }],
      attachmentsDir: attachmentsDirFor(s2.config.DATA_DIR),
    });
    const note = await waitFor('the delivery_failed notice', () => notes2.find((n) => n.kind === 'delivery_failed' && n.messageId === reply.id));
    assert.equal(note.userId, vera.id);
    assert.match(note.text, /PUBLIC_URL/);
    assert.equal(fake2.sent.length, before);
    const [m] = await s2.ctx().db.select().from(messages).where(eq(messages.id, reply.id));
    assert.equal(m!.deliveryStatus, 'failed');
  });
});
