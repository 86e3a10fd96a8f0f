import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { CUT_NOTE } from '../api/routes/form-fields.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { campaigns, contacts, counterparties, historyEvents, leads, segments } from '../core/db/schema/index.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createSegment } from '../core/segments/segments.js';
import { createApiKey, createUser, userActor, type User } from '../core/users/users.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { PanelClient, pageText } from './helpers/http-client.js';

/**
 * Bad input from integrators, form builders and people at the panel, over HTTP into the real app
 * and database: every refusal is a Russian 4xx naming what is wrong, never a 500, and nothing is
 * stored half-way or with characters PostgreSQL cannot keep.
 */
let s: Services & { dataDir: string };
let app: FastifyInstance;
let base: string;
let admin: User;
let key: string;
let tilda: { token: string; id: number };
let forms: { token: string; id: number };
let vkPath: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(method: string, url: string, opts: { body?: unknown; raw?: string | Buffer; form?: string; type?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? key : opts.auth;
  if (auth) headers.authorization = `Bearer ${auth}`;
  let body: string | Buffer | undefined;
  if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (opts.raw !== undefined) {
    body = opts.raw;
  }
  if (opts.type) headers['content-type'] = opts.type;
  const res = await fetch(`${base}${url}`, { method, headers, body });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    /* text answers (Tilda's "ok", VK's "ok") */
  }
  return { status: res.status, json, text, headers: res.headers };
}

const leadCount = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n;
const leadOf = async (id: number) => (await s.database.db.select().from(leads).where(eq(leads.id, id)))[0]!;
const contactOf = async (id: number) => (await s.database.db.select().from(contacts).where(eq(contacts.id, id)))[0]!;

/** Every string inside a stored row: no NUL byte, no broken surrogate. */
function assertClean(what: string, value: unknown) {
  const strings: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !(v instanceof Date)) Object.values(v).forEach(walk);
  };
  walk(value);
  for (const x of strings) {
    assert.ok(!x.includes('\u0000'), `${what}: a NUL byte was stored in ${JSON.stringify(x)}`);
    assert.ok(x.isWellFormed(), `${what}: a broken surrogate was stored in ${JSON.stringify(x)}`);
  }
}

/** A Russian refusal in the CRM's shape: `{ error, message, fields? }`. */
function assertRussian(res: { status: number; json: Json; text: string }, status: number, error: string) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error, error, res.text);
  assert.match(res.json.message, /[а-яё]/i, `a Russian message: ${res.text}`);
  assert.doesNotMatch(res.json.message, /\b(not found|invalid|body|request|unsupported|too large|exceeded|must)\b/i, `no English: ${res.text}`);
  assert.equal(res.json.statusCode, undefined, "no Fastify's own fields");
}

before(async () => {
  s = await openTestServices();
  admin = await createUser(s.ctx(), { email: 'admin@bad-input.test', name: 'Админ', role: 'admin', password: 'password123' });
  ({ key } = await createApiKey(s.ctx(userActor(admin)), 'Сайт'));
  tilda = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Лендинг' });
  forms = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'form', name: 'Квиз' });
  vkPath = (await createWebhookSource(s.ctx(userActor(admin)), { kind: 'vk', name: 'Сообщество', confirmation: 'c0nf1rm', secret: 'VkS3cret', groupId: 'club218000777' })).path;
  app = await buildApp(s);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
after(async () => {
  await app?.close();
  await s?.close();
});

describe('NUL bytes and broken surrogates', () => {
  test('in any text field of every public entry: the lead is taken, and what is stored is clean', async () => {
    const stored: number[] = [];

    const api = await call('POST', '/api/v1/leads', {
      body: {
        name: 'Анна\u0000 Смирнова\ud800',
        phone: '+7 916 800-00-01\u0000',
        email: 'anna\u0000@example.ru',
        company: 'ООО «Ромашка\udc00»',
        comment: 'Нужна\u0000 консультация \ud83d',
        page_url: 'https://example.ru/\u0000',
        utm_source: 'yandex\u0000',
        utm_medium: 'cpc',
        utm_campaign: 'весна\ud800',
        external_id: 'order\u0000-1',
      },
    });
    assert.equal(api.status, 201, api.text);
    assert.equal(api.json.contact.name, 'Анна Смирнова\ufffd');
    assert.deepEqual(api.json.contact.emails, ['anna@example.ru']);
    stored.push(api.json.id);

    // Tilda posts url-encoded fields; a NUL can be in a value or in a field's name
    const tildaForm = 'Name=%D0%9F%D1%91%D1%82%D1%80%00&Phone=%2B79168000002%00&Comments=%D0%9F%D0%B5%D1%80%D0%B5%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D0%B5%00&%D0%A0%D0%B0%D0%B7%00%D0%BC%D0%B5%D1%80=XL%00&utm_source=vk%00&tranid=t%001';
    assert.equal((await call('POST', `/webhooks/tilda/${tilda.token}`, { auth: null, form: tildaForm })).status, 200);
    const [fromTilda] = await s.database.db.select().from(leads).where(eq(leads.externalId, `tilda:${tilda.id}:t1`));
    assert.ok(fromTilda, 'the Tilda lead is stored, under its cleaned tranid');
    assert.match(fromTilda.comment!, /Разм\s?ер: XL/);
    stored.push(fromTilda.id);

    const tildaJson = await call('POST', `/webhooks/tilda/${tilda.token}`, { auth: null, body: { Name: 'Ира\ud800', Phone: '+79168000003', 'Вопрос\u0000': 'доставка\u0000', tranid: 't2' } });
    assert.equal(tildaJson.status, 200);
    const [fromTildaJson] = await s.database.db.select().from(leads).where(eq(leads.externalId, `tilda:${tilda.id}:t2`));
    stored.push(fromTildaJson!.id);

    const leadForm = await call('POST', `/webhooks/forms/${forms.token}`, {
      auth: null,
      body: {
        type: 'lead_forms_new',
        object: {
          lead_id: 'f\u00001',
          answers: [
            { key: 'first_name', answer: 'Ольга\u0000' },
            { key: 'phone_number', answer: '+7 916 800-00-04\ud800' },
            { key: 'custom\u0000', question: 'Удобное время\udfff', answer: 'вечер\u0000' },
          ],
        },
        network: 'vk\u0000',
      },
    });
    assert.equal(leadForm.status, 201, leadForm.text);
    stored.push(leadForm.json.lead_id);

    const formEncoded = await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, form: 'name=%D0%9A%D0%B8%D1%80%D0%B0%00&email=kira%00%40example.ru&comment=%ED%A0%80%00' });
    assert.ok(formEncoded.status < 500, formEncoded.text);
    assert.equal(formEncoded.status, 201, formEncoded.text);
    stored.push(formEncoded.json.lead_id);

    // VK's Callback API cleaned its events before; it stays so
    const vk = await call('POST', vkPath, {
      auth: null,
      body: { type: 'lead_forms_new', group_id: 218_000_777, secret: 'VkS3cret', object: { lead_id: 51, user_id: 900_001, answers: [{ key: 'phone_number', answer: '+79168000005\u0000' }, { key: 'custom_0', question: 'Вопрос\ud800', answer: 'да\u0000' }] } },
    });
    assert.equal(vk.status, 200, vk.text);

    for (const id of stored) {
      const lead = await leadOf(id);
      assertClean(`lead ${id}`, lead);
      if (lead.contactId) assertClean(`contact of lead ${id}`, await contactOf(lead.contactId));
      const history = await s.database.db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, id)));
      assertClean(`history of lead ${id}`, history);
    }
    assertClean('counterparties', await s.database.db.select().from(counterparties));
    assertClean('campaigns', await s.database.db.select().from(campaigns));
  });

  test("in the panel's forms and searches: saved clean, never a 500", async () => {
    const c = new PanelClient(app);
    await c.signIn(admin.email);

    // «Новый контрагент», then its edit form
    await c.get('/admin/counterparties/new');
    const made = await c.post('/admin/counterparties', { kind: 'individual', name: 'Иванов\u0000 Иван\ud800', phones: '+79168100001\u0000', comment: 'VIP\u0000', address: 'Москва\udc00' });
    assert.equal(made.statusCode, 303, pageText(made.body).slice(0, 300));
    const cpId = Number(/\/admin\/counterparties\/(\d+)/.exec(made.headers.location as string)![1]);
    await c.get(`/admin/counterparties/${cpId}/edit`);
    const edited = await c.post(`/admin/counterparties/${cpId}`, { kind: 'individual', name: 'Иванов Иван\u0000 Петрович', phones: '+79168100001', region: 'Москва\ud800', comment: 'VIP\u0000 клиент' });
    assert.equal(edited.statusCode, 303, pageText(edited.body).slice(0, 300));
    const [cp] = await s.database.db.select().from(counterparties).where(eq(counterparties.id, cpId));
    assert.equal(cp!.name, 'Иванов Иван Петрович');
    assert.equal(cp!.region, 'Москва\ufffd');
    assertClean('counterparty', cp);

    // a contact's card
    const contact = await createContact(s.ctx(userActor(admin)), { name: 'Мария', phones: ['+79168100002'] });
    await c.get(`/admin/contacts/${contact.id}`);
    const contactSaved = await c.post(`/admin/contacts/${contact.id}`, { name: 'Мария\u0000 Петровна', position: 'Директор\ud800', phones: '+79168100002', emails: 'maria@example.ru\u0000', comment: 'звонить\u0000 утром' });
    assert.equal(contactSaved.statusCode, 303, pageText(contactSaved.body).slice(0, 300));
    const saved = await contactOf(contact.id);
    assert.equal(saved.name, 'Мария Петровна');
    assert.deepEqual(saved.emails, ['maria@example.ru']);
    assertClean('contact', saved);

    // «Новый лид»
    await c.get('/admin/leads/new');
    const lead = await c.post('/admin/leads', { name: 'Пётр\u0000', phone: '+79168100003', company: 'ООО «Кедр\ud800»', comment: 'перезвонить\u0000' });
    assert.equal(lead.statusCode, 303, pageText(lead.body).slice(0, 300));
    const leadId = Number(/\/admin\/leads\/(\d+)/.exec(lead.headers.location as string)![1]);
    assertClean('lead', await leadOf(leadId));

    // reference books
    await c.get('/admin/segments');
    const segment = await c.post('/admin/segments', { name: 'Опт\u0000овики', description: 'крупные\ud800' });
    assert.equal(segment.statusCode, 303, pageText(segment.body).slice(0, 300));
    const [seg] = await s.database.db.select().from(segments).where(eq(segments.name, 'Оптовики'));
    assert.ok(seg, 'the segment is saved under its cleaned name');
    assertClean('segment', seg);
    await c.get('/admin/campaigns');
    const campaign = await c.post('/admin/campaigns', { name: 'Осень\u0000', utmSource: 'ya\u0000', utmMedium: 'cpc', utmCampaign: 'autumn\ud800' });
    assert.equal(campaign.statusCode, 303, pageText(campaign.body).slice(0, 300));
    assertClean('campaigns', await s.database.db.select().from(campaigns));

    // a search box
    for (const url of ['/admin/counterparties?text=%D0%98%D0%B2%D0%B0%00', '/admin/contacts?text=%00', '/admin/leads?text=%00']) {
      const res = await c.get(url);
      assert.equal(res.statusCode, 200, `${url}: ${pageText(res.body).slice(0, 200)}`);
    }
    assert.match(pageText((await c.get('/admin/counterparties?text=%D0%98%D0%B2%D0%B0%00')).body), /Иванов Иван Петрович/);
  });
});

describe('record numbers beyond PostgreSQL integer', () => {
  test('GET /api/v1/leads/<a number too long> is a Russian 400 naming the id; the largest integer is a plain 404', async () => {
    for (const id of ['99999999999999999999', '2147483648', '0', '-1', 'abc']) {
      const res = await call('GET', `/api/v1/leads/${id}`);
      assertRussian(res, 400, 'invalid');
      assert.ok(res.json.fields.id, `${id}: the field is named`);
    }
    assertRussian(await call('GET', '/api/v1/leads/2147483647'), 404, 'not_found');
  });

  test('the panel answers its «not found» page for such numbers in a path, and ignores them in a form or query', async () => {
    const c = new PanelClient(app);
    await c.signIn(admin.email);
    for (const url of ['/admin/leads/99999999999999999999', '/admin/counterparties/2147483648', '/admin/contacts/4294967296', '/admin/deals/9999999999']) {
      const res = await c.get(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /text\/html/);
    }
    const cp = await createCounterparty(s.ctx(userActor(admin)), { kind: 'individual', name: 'Сидоров', phones: ['+79168200001'] });
    const segmentId = (await createSegment(s.ctx(userActor(admin)), { name: 'Розница' })).id;
    // a selection holding a number no row can have: the rest is assigned, the stray number is ignored
    const page = await c.get(`/admin/counterparties/assign-segment?target=selected&ids=${cp.id}&ids=99999999999&segmentId_assign=${segmentId}`);
    assert.ok(page.statusCode < 500, `assign-segment answered ${page.statusCode}: ${pageText(page.body).slice(0, 200)}`);
    const assigned = await c.post('/admin/counterparties/assign-segment', { target: 'selected', ids: [String(cp.id), '99999999999'], segmentId_assign: String(segmentId) });
    assert.ok(assigned.statusCode < 500, `assign answered ${assigned.statusCode}: ${pageText(assigned.body).slice(0, 200)}`);
    const [after] = await s.database.db.select().from(counterparties).where(eq(counterparties.id, cp.id));
    assert.equal(after!.segmentId, segmentId);
  });
});

describe('null in form answers', () => {
  test('a field or a lead-form answer holding null is absent, not a 500', async () => {
    const plain = await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, body: { name: null, phone: '+79161234567', comment: null, utm_source: null, id: null } });
    assert.equal(plain.status, 201, plain.text);
    const lead = await leadOf(plain.json.lead_id);
    assert.equal(lead.comment, null);

    const answers = await call('POST', `/webhooks/forms/${forms.token}`, {
      auth: null,
      body: {
        phone: '+79161234568',
        object: {
          lead_id: 'null-1',
          answers: [null, { key: 'first_name', answer: null }, { key: 'phone_number', answer: null }, { key: null, question: null, answer: 'без вопроса' }, { key: 'custom_1', question: 'Размер', answer: 'XL' }],
        },
      },
    });
    assert.equal(answers.status, 201, answers.text);
    const fromAnswers = await leadOf(answers.json.lead_id);
    const contact = await contactOf(fromAnswers.contactId!);
    assert.deepEqual(contact.phones, ['+79161234568'], 'a null answer does not hide the phone sent beside it');
    assert.match(fromAnswers.comment!, /custom_1: XL/);
  });
});

describe('lists where one value is expected', () => {
  test('POST /api/v1/leads with phone, name or comment as a list or an object: 400 naming each field, nothing stored', async () => {
    const n = await leadCount();
    const one = await call('POST', '/api/v1/leads', { body: { phone: ['+79161234570'] } });
    assertRussian(one, 400, 'invalid');
    assert.match(one.json.fields.phone, /строка/);
    const several = await call('POST', '/api/v1/leads', { body: { phone: '+79161234571', email: ['a@example.ru', 'b@example.ru'], comment: { text: 'привет' } } });
    assertRussian(several, 400, 'invalid');
    assert.ok(several.json.fields.email || several.json.fields.comment, several.text);
    const utm = await call('POST', '/api/v1/leads', { body: { phone: '+79161234572', utm_source: ['yandex'] } });
    assertRussian(utm, 400, 'invalid');
    assert.ok(utm.json.fields.utm_source);
    assert.equal(await leadCount(), n);
  });
});

describe('a form with many extra fields', () => {
  test('the lead is kept, its comment cut at 10,000 characters with a note, the whole text in its history; a repeat adds nothing', async () => {
    const form: Record<string, string> = { name: 'Длинная анкета', phone: '+79161234580', external_id: 'long-1', comment: 'Вопрос клиента' };
    for (let i = 1; i <= 40; i++) form[`Поле ${i}`] = `${i}:` + 'я'.repeat(400);
    const res = await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, body: form });
    assert.equal(res.status, 201, res.text);
    const lead = await leadOf(res.json.lead_id);
    assert.ok(lead.comment!.length <= 10_000, `the comment is ${lead.comment!.length} characters`);
    assert.ok(lead.comment!.length > 9_000, 'cut near the limit, not emptied');
    assert.ok(lead.comment!.endsWith(CUT_NOTE), lead.comment!.slice(-100));
    assert.match(lead.comment!, /^Вопрос клиента\nПоле 1: 1:я/);
    const full = await s.database.db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, lead.id), eq(historyEvents.kind, 'full_request_text')));
    assert.equal(full.length, 1);
    for (let i = 1; i <= 40; i++) assert.ok(full[0]!.summary.includes(`Поле ${i}: ${i}:${'я'.repeat(400)}`), `field ${i} is kept whole`);

    const again = await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, body: form });
    assert.equal(again.status, 200);
    assert.equal(again.json.lead_id, lead.id);
    const still = await s.database.db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, lead.id), eq(historyEvents.kind, 'full_request_text')));
    assert.equal(still.length, 1, 'a repeated delivery keeps one copy');

    // the same client with another long form while the lead is open: a repeat request, its text kept too
    const next = await call('POST', `/webhooks/tilda/${tilda.token}`, { auth: null, form: new URLSearchParams({ ...form, tranid: 'long-2' }).toString() });
    assert.equal(next.status, 200);
    const texts = await s.database.db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, lead.id), eq(historyEvents.kind, 'full_request_text')));
    assert.equal(texts.length, 2);
  });
});

describe('refusals an integrator reads are Russian, in one shape', () => {
  test('an unknown address, a body that is not JSON, an unsupported type, a body too large, a URL that cannot be decoded', async () => {
    assertRussian(await call('GET', '/api/v1/nothing-here'), 404, 'not_found');
    assertRussian(await call('DELETE', '/api/v1/leads'), 404, 'not_found');
    assertRussian(await call('POST', '/webhooks/unknown/x', { auth: null, body: {} }), 404, 'not_found');
    assertRussian(await call('POST', '/api/v1/leads', { raw: '{"phone":', type: 'application/json' }), 400, 'invalid');
    assertRussian(await call('POST', '/api/v1/leads', { raw: '', type: 'application/json' }), 400, 'invalid');
    assertRussian(await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, raw: '{"phone":', type: 'application/json' }), 400, 'invalid');
    const xml = await call('POST', '/api/v1/leads', { raw: '<lead/>', type: 'text/xml' });
    assertRussian(xml, 415, 'unsupported_media_type');
    assert.match(xml.json.message, /application\/json/, 'says what to send instead');
    assertRussian(await call('POST', `/webhooks/tilda/${tilda.token}`, { auth: null, raw: '<Name>1</Name>', type: 'application/xml' }), 415, 'unsupported_media_type');
    const huge = await call('POST', '/api/v1/leads', { body: { phone: '+79161234590', comment: 'я'.repeat(1_100_000) } });
    assertRussian(huge, 413, 'too_large');
    assert.match(huge.json.message, /МБ|КБ/);
    assertRussian(await call('POST', `/webhooks/forms/${forms.token}`, { auth: null, form: `comment=${'a'.repeat(1_100_000)}` }), 413, 'too_large');
    assertRussian(await call('POST', '/webhooks/vk/%ED%A0%80', { auth: null, body: { type: 'confirmation', group_id: 1 } }), 400, 'invalid');
  });

  test('schema refusals name the field in Russian', async () => {
    const long = await call('POST', '/api/v1/leads', { body: { phone: '+79161234591', name: 'Я'.repeat(301) } });
    assertRussian(long, 400, 'invalid');
    assert.match(long.json.fields.name, /не длиннее 300/);
    const noBody = await call('POST', '/api/v1/leads', { raw: 'null', type: 'application/json' });
    assertRussian(noBody, 400, 'invalid');
    const vk = await call('POST', vkPath, { auth: null, body: { type: 'confirmation', group_id: 'не число' } });
    assertRussian(vk, 400, 'invalid');
    assert.match(vk.json.fields.group_id, /целое число/);
  });

  test('the rate limit answers 429 in Russian with Retry-After', async () => {
    const limited = await buildApp(s, { publicApi: { rateLimit: { max: 1, timeWindowMs: 60_000 } } });
    try {
      const get = () => limited.inject({ method: 'GET', url: '/api/v1/leads/2147483647', headers: { authorization: `Bearer ${key}` } });
      assert.equal((await get()).statusCode, 404);
      const res = await get();
      assertRussian({ status: res.statusCode, json: res.json(), text: res.body }, 429, 'rate_limited');
      assert.ok(Number(res.headers['retry-after']) > 0);
    } finally {
      await limited.close();
    }
  });

  test('the admin panel keeps its own pages for these', async () => {
    const c = new PanelClient(app);
    await c.signIn(admin.email);
    const res = await c.get('/admin/no-such-page');
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(pageText(res.body), /Такой страницы нет/);
  });

  test('the OpenAPI document lists every status the API answers', async () => {
    const doc = (await call('GET', '/api/openapi.json', { auth: null })).json;
    const posts = ['/api/v1/leads', '/webhooks/tilda/{token}', '/webhooks/forms/{token}', '/webhooks/vk/{token}'];
    for (const path of posts) {
      const responses = doc.paths[path].post.responses as Json;
      for (const status of ['400', '401', '413', '415', '429']) assert.ok(responses[status], `${path} documents ${status}`);
      assert.ok(responses['413'].content['application/json'].schema.properties.message);
    }
    const get = doc.paths['/api/v1/leads/{id}'].get.responses as Json;
    for (const status of ['200', '400', '401', '404', '429']) assert.ok(get[status], `GET /api/v1/leads/{id} documents ${status}`);
    const id = (doc.paths['/api/v1/leads/{id}'].get.parameters as Json[]).find((p) => p.name === 'id')!;
    assert.equal(id.schema.maximum, 2_147_483_647);
  });
});
