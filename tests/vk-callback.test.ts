import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { contacts, historyEvents, leads, vkMessages, webhookSources } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import type { Services } from '../core/services.js';
import { isServiceError } from '../core/errors.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * A VK community connected over the Callback API: VK's own requests, over HTTP on loopback into
 * the real app, database and queue.
 */
let s: Services & { dataDir: string };
let app: FastifyInstance;
let base: string;
let admin: User, anna: User;
let vkPath: string;
let sourceId: number;
const notes: Notification[] = [];

const GROUP = 218_000_123;
const SECRET = 'Zq8kP2vLm4Xw';
const CONFIRMATION = 'e7e13fe2';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function post(body: unknown, opts: { path?: string; raw?: string } = {}) {
  const res = await fetch(`${base}${opts.path ?? vkPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    /* VK's answers are plain text */
  }
  return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
}

let eventNo = 0;
/** An event as VK sends it (API 5.199): its own group and secret unless told otherwise. */
const event = (type: string, object?: unknown, over: Json = {}) => ({
  type,
  event_id: `ev${++eventNo}`,
  v: '5.199',
  group_id: GROUP,
  secret: SECRET,
  ...(object === undefined ? {} : { object }),
  ...over,
});
const message = (id: number, fromId: number, text: string) =>
  event('message_new', {
    message: { id, date: 1_760_000_000 + id, peer_id: fromId, from_id: fromId, text, out: 0, attachments: [], conversation_message_id: id },
    client_info: { button_actions: ['text'], keyboard: true, inline_keyboard: true, carousel: true, lang_id: 0 },
  });

const count = async (table: 'leads' | 'contacts' | 'vk_messages' | 'history_events') =>
  (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)}`))[0]!.n;
const everything = async () => ({
  leads: await count('leads'),
  contacts: await count('contacts'),
  vkMessages: await count('vk_messages'),
  history: await count('history_events'),
});
const leadsOfVkUser = (vkUserId: number) =>
  s.database.db
    .selectDistinct({ id: leads.id })
    .from(vkMessages)
    .innerJoin(leads, eq(leads.id, vkMessages.leadId))
    .where(eq(vkMessages.vkUserId, vkUserId));
const vkHistory = (leadId: number) =>
  s.database.db
    .select()
    .from(historyEvents)
    .where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, leadId), eq(historyEvents.kind, 'vk_message')))
    .orderBy(asc(historyEvents.id));

before(async () => {
  s = await openTestServices();
  admin = await createUser(s.ctx(), { email: 'admin@vk.test', name: 'Админ', role: 'admin' });
  anna = await createUser(s.ctx(), { email: 'anna@vk.test', name: 'Анна', role: 'manager' });
  // Анна has linked Telegram, so she is the one told of her leads
  await s.database.rows(sql`UPDATE users SET telegram_id = 7002 WHERE id = ${anna.id}`);
  const made = await createWebhookSource(s.ctx(userActor(admin)), {
    kind: 'vk',
    name: 'Сообщество «Стройка»',
    confirmation: CONFIRMATION,
    secret: SECRET,
    groupId: `club${GROUP}`,
  });
  vkPath = made.path;
  sourceId = made.id;
  app = await buildApp(s);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  await s.jobs.start();
});
after(async () => {
  await app?.close();
  await s?.close();
});

describe('connecting a community', () => {
  test('the source keeps the group id and confirmation string, and the secret only as its sha256', async () => {
    assert.match(vkPath, /^\/webhooks\/vk\/[\w-]{20,}$/);
    const [row] = await s.database.db.select().from(webhookSources).where(eq(webhookSources.id, sourceId));
    assert.equal(row!.kind, 'vk');
    assert.equal(row!.network, 'vk');
    assert.equal(row!.vkGroupId, GROUP);
    assert.equal(row!.vkConfirmation, CONFIRMATION);
    assert.equal(row!.vkSecretHash, createHash('sha256').update(SECRET).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(SECRET));
  });

  test('a vk source without its confirmation string, secret or group is refused, naming each field', async () => {
    await assert.rejects(
      createWebhookSource(s.ctx(userActor(admin)), { kind: 'vk', name: 'Без настроек' }),
      (e) => isServiceError(e) && e.code === 'invalid' && ['confirmation', 'secret', 'groupId'].every((f) => f in e.fields),
    );
    await assert.rejects(
      createWebhookSource(s.ctx(userActor(admin)), { kind: 'vk', name: 'Адрес вместо номера', confirmation: 'abc', secret: 'k', groupId: 'vk.com/stroyka' }),
      (e) => isServiceError(e) && e.code === 'invalid' && 'groupId' in e.fields,
    );
    // the community's link works as well as its number
    const byLink = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'vk', name: 'По ссылке', confirmation: 'abc', secret: 'k', groupId: 'https://vk.com/club42' });
    const [row] = await s.database.db.select().from(webhookSources).where(eq(webhookSources.id, byLink.id));
    assert.equal(row!.vkGroupId, 42);
  });

  test('the route is in the OpenAPI document', async () => {
    const res = await fetch(`${base}/api/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Json;
    assert.ok(doc.paths['/webhooks/vk/{token}']?.post, Object.keys(doc.paths).join(', '));
  });

  test('confirmation: the string from the community settings, as plain text', async () => {
    const r = await post({ type: 'confirmation', group_id: GROUP, secret: SECRET });
    assert.equal(r.status, 200);
    assert.equal(r.text, CONFIRMATION);
    assert.match(r.type, /^text\/plain/);
  });

  test('a forged or missing secret: 403 and nothing stored, the confirmation string not given away', async () => {
    const was = await everything();
    const forged = await post(event('lead_forms_new', { lead_id: 1, user_id: 1, answers: [{ key: 'phone_number', answer: '+79160000001' }] }, { secret: 'guess' }));
    assert.equal(forged.status, 403);
    assert.equal((await post(message(1, 1, 'привет'), {})).status, 200); // the genuine one passes…
    const missing = await post({ ...message(2, 2, 'привет'), secret: undefined });
    assert.equal(missing.status, 403);
    const confirm = await post({ type: 'confirmation', group_id: GROUP, secret: 'guess' });
    assert.equal(confirm.status, 403);
    assert.ok(!confirm.text.includes(CONFIRMATION));
    const now = await everything();
    // …and only it left anything behind: one message from user 1
    assert.equal(now.vkMessages, was.vkMessages + 1);
    assert.equal((await leadsOfVkUser(2)).length, 0);
    assert.equal((await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:1`))).length, 0);
  });

  test("another community's events are refused; an unknown or a form source's token is 401", async () => {
    const was = await everything();
    const other = await post(event('message_new', message(3, 3, 'привет').object, { group_id: GROUP + 1 }));
    assert.equal(other.status, 403);
    assert.equal((await post({ type: 'confirmation', group_id: GROUP + 1, secret: SECRET })).status, 403);
    assert.equal((await post(message(4, 4, 'привет'), { path: '/webhooks/vk/not-a-token' })).status, 401);
    const form = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'form', name: 'Форма' });
    assert.equal((await post(message(5, 5, 'привет'), { path: form.path.replace('/forms/', '/vk/') })).status, 401);
    assert.deepEqual(await everything(), was);
  });
});

describe('lead ads forms (lead_forms_new)', () => {
  const form = (leadId: number, userId: number, answers: Json[]) =>
    event('lead_forms_new', { lead_id: leadId, group_id: GROUP, user_id: userId, form_id: 7, form_name: 'Расчёт доставки', ad_id: 9_001, answers });

  test('a form becomes one lead from social with the phone in E.164 and every question in the comment; a redelivery changes nothing', async () => {
    const body = form(501, 700_501, [
      { key: 'first_name', question: 'Имя', answer: 'Иван' },
      { key: 'last_name', question: 'Фамилия', answer: 'Петров' },
      { key: 'phone_number', question: 'Номер телефона', answer: '8 (916) 555-12-34' },
      { key: 'email', question: 'Электронная почта', answer: 'Ivan@Example.RU' },
      { key: 'custom_0', question: 'Сколько тонн нужно?', answer: '20' },
      { key: 'custom_1', question: 'Куда везти?', answer: ['Склад', 'Объект'] },
    ]);
    const first = await post(body);
    assert.equal(first.status, 200);
    assert.equal(first.text, 'ok');

    const [lead] = await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:501`));
    assert.ok(lead, 'the lead is stored under vk:<source>:<lead_id>');
    assert.equal(lead.source, 'social');
    assert.equal(lead.tracking.network, 'vk');
    assert.match(lead.title, /^ВКонтакте: Иван Петров/);
    for (const line of ['Форма ВКонтакте: Расчёт доставки', 'Имя: Иван', 'Номер телефона: 8 (916) 555-12-34', 'Сколько тонн нужно?: 20', 'Куда везти?: Склад, Объект', 'https://vk.com/id700501']) {
      assert.ok(lead.comment?.includes(line), `the comment has «${line}»: ${lead.comment}`);
    }
    const [contact] = await s.database.db.select().from(contacts).where(eq(contacts.id, lead.contactId!));
    assert.deepEqual(contact!.phones, ['+79165551234']);
    assert.deepEqual(contact!.emails, ['ivan@example.ru']);
    assert.equal(contact!.name, 'Иван Петров');
    await waitFor('the new_lead notice', () => notes.find((n) => n.kind === 'new_lead' && n.leadId === lead.id));

    const was = await everything();
    const again = await post({ ...body, event_id: 'retry' });
    assert.equal(again.status, 200);
    assert.equal(again.text, 'ok');
    assert.deepEqual(await everything(), was);
    assert.equal((await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:501`))).length, 1);
  });

  test('the same VK user then writing to the community continues that lead', async () => {
    const [lead] = await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:501`));
    const n = await count('leads');
    const r = await post(message(9_501, 700_501, 'А когда сможете привезти?'));
    assert.equal(r.text, 'ok');
    assert.equal(await count('leads'), n);
    const history = await vkHistory(lead!.id);
    assert.equal(history.length, 1);
    assert.match(history[0]!.summary, /А когда сможете привезти\?/);
  });

  test('a form without a phone or e-mail still makes a lead, for the VK user', async () => {
    const r = await post(form(502, 700_502, [{ key: 'custom_0', question: 'Ваш вопрос', answer: 'Есть ли доставка в область?' }]));
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
    const [lead] = await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:502`));
    assert.ok(lead);
    assert.equal(lead.source, 'social');
    assert.match(lead.comment ?? '', /Ваш вопрос: Есть ли доставка в область\?/);
    const again = await post(form(502, 700_502, [{ key: 'custom_0', question: 'Ваш вопрос', answer: 'Есть ли доставка в область?' }]));
    assert.equal(again.text, 'ok');
    assert.equal((await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:502`))).length, 1);
  });
});

describe('community messages (message_new)', () => {
  test('a first message opens a lead for the VK user; the next one joins it; a redelivery is stored once', async () => {
    const user = 800_001;
    const before = await everything();
    const first = await post(message(10_001, user, 'Здравствуйте! Сколько стоит щебень?'));
    assert.equal(first.status, 200);
    assert.equal(first.text, 'ok');
    assert.match(first.type, /^text\/plain/);

    const opened = await leadsOfVkUser(user);
    assert.equal(opened.length, 1);
    const [lead] = await s.database.db.select().from(leads).where(eq(leads.id, opened[0]!.id));
    assert.equal(lead!.source, 'social');
    assert.equal(lead!.tracking.network, 'vk');
    assert.match(lead!.comment ?? '', /Сколько стоит щебень\?/);
    assert.equal(lead!.responsibleId, anna.id);
    const [contact] = await s.database.db.select().from(contacts).where(eq(contacts.id, lead!.contactId!));
    assert.equal(contact!.name, `vk.com/id${user}`);

    const second = await post(message(10_002, user, 'И доставка до Химок?'));
    assert.equal(second.text, 'ok');
    assert.equal(await count('leads'), before.leads + 1, 'no second lead for the same VK user');
    assert.equal(await count('contacts'), before.contacts + 1);
    assert.deepEqual(
      (await vkHistory(lead!.id)).map((h) => h.summary),
      ['Сообщение ВКонтакте: Здравствуйте! Сколько стоит щебень?', 'Сообщение ВКонтакте: И доставка до Химок?'],
    );
    // the responsible hears about the follow-up (the first one was the new-lead notice)
    const note = await waitFor('the client_message notice', () =>
      notes.find((n) => n.kind === 'client_message' && n.leadId === lead!.id && n.userId === anna.id),
    );
    assert.match(note.text, /И доставка до Химок\?/);

    const was = await everything();
    const retry = await post({ ...message(10_002, user, 'И доставка до Химок?'), event_id: 'retry-2' });
    assert.equal(retry.status, 200);
    assert.equal(retry.text, 'ok');
    assert.deepEqual(await everything(), was, 'a redelivery stores nothing');
  });

  test('two deliveries of a first message at once make one contact, one lead and one stored message', async () => {
    const was = await everything();
    const body = message(20_001, 800_002, 'Добрый день');
    const answers = await Promise.all([post(body), post(body), post(body)]);
    assert.deepEqual(
      answers.map((a) => [a.status, a.text]),
      [
        [200, 'ok'],
        [200, 'ok'],
        [200, 'ok'],
      ],
    );
    const now = await everything();
    assert.equal(now.leads, was.leads + 1);
    assert.equal(now.contacts, was.contacts + 1);
    assert.equal(now.vkMessages, was.vkMessages + 1);
  });

  test('a NUL byte or a lone surrogate in the text is cleaned, not a 500', async () => {
    const r = await post(message(30_001, 800_003, 'Цена\u0000 на песок \ud83d?'));
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
    const [row] = await s.database.db.select().from(vkMessages).where(eq(vkMessages.vkMessageId, 30_001));
    assert.equal(row!.text, 'Цена на песок \ufffd?');

    const form = await post(
      event('lead_forms_new', { lead_id: 30_002, user_id: 800_004, answers: [{ key: 'phone_number', answer: '+7 916 000-00-02\u0000' }, { key: 'custom_0', question: 'Вопрос\ud800', answer: 'да' }] }),
    );
    assert.equal(form.status, 200);
    assert.equal(form.text, 'ok');
    const [lead] = await s.database.db.select().from(leads).where(eq(leads.externalId, `vk:${sourceId}:30002`));
    assert.match(lead!.comment ?? '', /Вопрос\ufffd: да/);
  });

  test('messages in multi-user chats and from other communities are acknowledged and not stored', async () => {
    const was = await everything();
    const chat = message(40_001, 800_005, 'всем привет');
    (chat.object as Json).message.peer_id = 2_000_000_001;
    assert.equal((await post(chat)).text, 'ok');
    assert.equal((await post(message(40_002, -5, 'реклама'))).text, 'ok');
    assert.deepEqual(await everything(), was);
  });
});

describe('everything else', () => {
  test('an event type the CRM does not use is answered ok and stores nothing', async () => {
    const was = await everything();
    for (const type of ['group_join', 'wall_post_new', 'message_reply', 'message_typing_state']) {
      const r = await post(event(type, { user_id: 1, join_type: 'join', id: 1, text: 'x' }));
      assert.equal(r.status, 200, type);
      assert.equal(r.text, 'ok', type);
    }
    assert.deepEqual(await everything(), was);
  });

  test('bad JSON or missing fields: 400 naming the fields, nothing stored', async () => {
    const was = await everything();
    const broken = await post(null, { raw: '{"type":"message_new","group_id":' });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.error, 'invalid');

    const noGroup = await post({ type: 'confirmation', secret: SECRET });
    assert.equal(noGroup.status, 400);
    assert.ok('group_id' in noGroup.json.fields, JSON.stringify(noGroup.json));

    const noSender = await post(event('message_new', { message: { id: 50_001, peer_id: 1, text: 'привет' } }));
    assert.equal(noSender.status, 400);
    assert.ok('object.message.from_id' in noSender.json.fields, JSON.stringify(noSender.json));

    const oldVersion = await post(event('message_new', { id: 50_002, from_id: 1, peer_id: 1, text: 'привет' }));
    assert.equal(oldVersion.status, 400);
    assert.match(oldVersion.json.fields['object.message'], /5\.103/);

    const noAnswers = await post(event('lead_forms_new', { user_id: 1 }));
    assert.equal(noAnswers.status, 400);
    assert.ok('object.lead_id' in noAnswers.json.fields && 'object.answers' in noAnswers.json.fields, JSON.stringify(noAnswers.json));

    assert.deepEqual(await everything(), was);
  });
});
