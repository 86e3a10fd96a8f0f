import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { campaigns, contacts, leads } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createApiKey, createUser, revokeApiKey, userActor, type User } from '../core/users/users.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * Leads from the website API, Tilda forms and social-network lead forms, over HTTP on loopback
 * into the real app, database and queue.
 */
let s: Services & { dataDir: string };
let app: FastifyInstance;
let base: string;
let anna: User, admin: User;
let key: string;
const notes: Notification[] = [];


type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(method: string, url: string, opts: { body?: unknown; form?: string; headers?: Record<string, string>; auth?: string | null } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? key : opts.auth;
  if (auth) headers.authorization = `Bearer ${auth}`;
  let body: string | undefined;
  if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${url}`, { method, headers, body });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    /* text answers (Tilda's "ok", HTML) */
  }
  return { status: res.status, json, text, headers: res.headers };
}
const leadCount = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n;

before(async () => {
  s = await openTestServices();
  anna = await createUser(s.ctx(), { email: 'anna@api.test', name: 'Анна', role: 'manager' });
  // Анна has linked Telegram, so she is the one told of her leads
  await s.database.rows(sql`UPDATE users SET telegram_id = 7001 WHERE id = ${anna.id}`);
  admin = await createUser(s.ctx(), { email: 'admin@api.test', name: 'Админ', role: 'admin' });
  ({ key } = await createApiKey(s.ctx(userActor(admin)), 'Сайт'));
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

describe('POST /api/v1/leads', () => {
  test('without a valid API key: 401, nothing stored', async () => {
    const n = await leadCount();
    const none = await call('POST', '/api/v1/leads', { auth: null, body: { phone: '+79160000000' } });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await call('POST', '/api/v1/leads', { auth: 'crm_wrong', body: { phone: '+79160000000' } })).status, 401);
    const { key: old, id } = await createApiKey(s.ctx(userActor(admin)), 'Старый сайт');
    await revokeApiKey(s.ctx(userActor(admin)), id);
    assert.equal((await call('POST', '/api/v1/leads', { auth: old, body: { phone: '+79160000000' } })).status, 401);
    assert.equal((await call('GET', '/api/v1/leads/1', { auth: null })).status, 401);
    assert.equal(await leadCount(), n);
  });

  test('bad fields: 400 naming each field, nothing stored', async () => {
    const n = await leadCount();
    const noContact = await call('POST', '/api/v1/leads', { body: { name: 'Без телефона' } });
    assert.equal(noContact.status, 400);
    assert.equal(noContact.json.error, 'invalid');
    assert.match(noContact.json.fields.phone, /телефон или e-mail/);
    const bad = await call('POST', '/api/v1/leads', { body: { phone: '12345', email: 'not-an-email' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.json.fields).sort(), ['email', 'phone']);
    const long = await call('POST', '/api/v1/leads', { body: { phone: '+79160000000', name: 'Я'.repeat(301) } });
    assert.equal(long.status, 400);
    assert.match(long.json.fields.name, /не длиннее 300/);
    const notJson = await fetch(`${base}/api/v1/leads`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"phone":' });
    assert.equal(notJson.status, 400);
    assert.equal(await leadCount(), n);
  });

  test('a website lead: 201 with the contact, counterparty, campaign and UTM tags; the manager is told', async () => {
    const res = await call('POST', '/api/v1/leads', {
      body: {
        name: 'Анна Смирнова',
        phone: '8 (916) 700-00-01',
        email: 'Anna@Example.RU',
        company: 'ООО «Ромашка»',
        comment: 'Нужна консультация по доставке',
        page_url: 'https://example.ru/delivery?utm_source=yandex',
        utm_source: 'yandex',
        utm_medium: 'cpc',
        utm_campaign: 'spring-sale',
        utm_content: 'banner-1',
        utm_term: 'доставка грузов',
        yclid: '123456789012345',
      },
    });
    assert.equal(res.status, 201);
    const lead = res.json;
    assert.equal(lead.source, 'website');
    assert.equal(lead.status, 'new');
    assert.equal(lead.responsible_id, anna.id);
    assert.equal(lead.comment, 'Нужна консультация по доставке');
    assert.deepEqual(lead.contact.phones, ['+79167000001']);
    assert.deepEqual(lead.contact.emails, ['anna@example.ru']);
    assert.equal(lead.contact.name, 'Анна Смирнова');
    assert.equal(lead.counterparty.name, 'ООО «Ромашка»');
    assert.deepEqual(
      { s: lead.campaign.utm_source, m: lead.campaign.utm_medium, c: lead.campaign.utm_campaign },
      { s: 'yandex', m: 'cpc', c: 'spring-sale' },
    );
    assert.equal(lead.tracking.utm_term, 'доставка грузов');
    assert.equal(lead.tracking.yclid, '123456789012345');
    assert.equal(lead.tracking.page_url, 'https://example.ru/delivery?utm_source=yandex');

    const got = await call('GET', `/api/v1/leads/${lead.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, lead);

    const note = await waitFor('the new_lead notice', () => notes.find((n) => n.kind === 'new_lead' && n.leadId === lead.id));
    assert.equal(note.userId, anna.id);
  });

  test('the same person and company again: no second lead while the first is open, a new one after it closes', async () => {
    const first = await call('POST', '/api/v1/leads', { body: { phone: '+7 916 700-00-03', company: 'ИП Васильев', utm_source: 'yandex', utm_medium: 'cpc', utm_campaign: 'spring-sale' } });
    const second = await call('POST', '/api/v1/leads', { body: { phone: '89167000003', email: 'vas@example.ru', company: 'ип васильев', comment: 'Ещё раз о доставке' } });
    assert.equal(second.status, 200, 'a repeat request, not a new lead');
    assert.equal(second.json.id, first.json.id);
    assert.deepEqual(second.json.contact.emails, ['vas@example.ru'], 'the new e-mail joins the contact');
    const history = await s.database.rows<{ summary: string }>(sql`SELECT summary FROM history_events WHERE entity_type = 'lead' AND entity_id = ${first.json.id} AND kind = 'repeat_request'`);
    assert.deepEqual(history.map((h) => h.summary), ['Повторное обращение: Заявка с сайта — Ещё раз о доставке']);
    await waitFor('the repeat notice', () => notes.find((n) => n.kind === 'repeat_request' && n.leadId === first.json.id && n.userId === anna.id));

    await s.database.rows(sql`UPDATE leads SET status = 'closed', closed_at = now() WHERE id = ${first.json.id}`);
    const third = await call('POST', '/api/v1/leads', { body: { phone: '89167000003', company: 'ип васильев' } });
    assert.equal(third.status, 201);
    assert.notEqual(third.json.id, first.json.id);
    assert.equal(third.json.contact.id, first.json.contact.id);
    assert.equal(third.json.counterparty.id, first.json.counterparty.id);
    const sameCampaign = await s.ctx().db.select().from(campaigns).where(eq(campaigns.utmCampaign, 'spring-sale'));
    assert.equal(sameCampaign.length, 1, 'one campaign per UTM triple');
  });

  test('the same external_id or Idempotency-Key again returns the first lead (200), even at once', async () => {
    const a = await call('POST', '/api/v1/leads', { body: { phone: '+79167000004', external_id: 'site-order-77' } });
    const b = await call('POST', '/api/v1/leads', { body: { phone: '+79167000004', external_id: 'site-order-77', comment: 'повтор' } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.json.comment, null, 'the repeat changes nothing');

    const n = await leadCount();
    const headers = { 'idempotency-key': 'retry-5f1c' };
    const all = await Promise.all(Array.from({ length: 4 }, () => call('POST', '/api/v1/leads', { headers, body: { phone: '+79167000005' } })));
    assert.equal(new Set(all.map((r) => r.json.id)).size, 1);
    assert.deepEqual(all.map((r) => r.status).sort(), [200, 200, 200, 201]);
    assert.equal(await leadCount(), n + 1);
    const later = await call('POST', '/api/v1/leads', { headers, body: { phone: '+79167000005' } });
    assert.equal(later.json.id, all[0]!.json.id);
    // the same key with another body is another request: refused (422, tests/api-keys.test.ts), not answered with this lead
    assert.equal((await call('POST', '/api/v1/leads', { headers, body: { phone: '+79167000099' } })).status, 422);

    const concurrent = await Promise.all(Array.from({ length: 3 }, () => call('POST', '/api/v1/leads', { body: { phone: '+79167000006', external_id: 'site-order-88' } })));
    assert.equal(new Set(concurrent.map((r) => r.json.id)).size, 1);
    // stored with the key's prefix (api:<key id>:), so another key's site-order-88 is another lead
    assert.equal((await s.ctx().db.select().from(leads).where(sql`${leads.externalId} LIKE 'api:%:site-order-88'`)).length, 1);
  });

  test('GET of an unknown lead is 404, of a bad id 400', async () => {
    assert.equal((await call('GET', '/api/v1/leads/999999')).status, 404);
    assert.equal((await call('GET', '/api/v1/leads/abc')).status, 400);
  });
});

describe('rate limit', () => {
  test('too many calls with one key get 429 with Retry-After; another key is not affected', async () => {
    const limited = await buildApp(s, { publicApi: { rateLimit: { max: 2, timeWindowMs: 60_000 } } });
    try {
      const inject = (k: string) => limited.inject({ method: 'GET', url: '/api/v1/leads/999999', headers: { authorization: `Bearer ${k}` } });
      assert.equal((await inject(key)).statusCode, 404);
      assert.equal((await inject(key)).statusCode, 404);
      const third = await inject(key);
      assert.equal(third.statusCode, 429);
      assert.equal(third.json().error, 'rate_limited');
      assert.ok(Number(third.headers['retry-after']) > 0);
      const { key: other } = await createApiKey(s.ctx(userActor(admin)), 'Второй сайт');
      assert.equal((await inject(other)).statusCode, 404);
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI', () => {
  test('/api/openapi.json describes every public route with its schema', async () => {
    const doc = await call('GET', '/api/openapi.json', { auth: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.0.3');
    const paths = doc.json.paths as Json;
    assert.ok(paths['/api/v1/leads'].post.requestBody.content['application/json'].schema.properties.utm_campaign);
    assert.ok(paths['/api/v1/leads'].post.responses['201']);
    assert.ok(paths['/api/v1/leads/{id}'].get.responses['200'].content['application/json'].schema.properties.campaign);
    assert.ok(paths['/webhooks/tilda/{token}'].post);
    assert.ok(paths['/webhooks/forms/{token}'].post);
    assert.equal(doc.json.components.securitySchemes.apiKey.scheme, 'bearer');
    assert.equal(paths['/webhooks/viber'], undefined);
  });

  test('/api/docs is a browsable page whose assets are served locally', async () => {
    const page = await fetch(`${base}/api/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /swagger-ui/i);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 0);
    for (const ref of refs) assert.doesNotMatch(ref, /^(https?:)?\/\//, `no external asset: ${ref}`);
    const bundle = refs.find((r) => r.includes('swagger-ui-bundle.js'))!;
    const js = await fetch(new URL(bundle, page.url));
    assert.equal(js.status, 200);
  });
});

describe('Tilda', () => {
  let token: string;
  let sourceId: number;
  before(async () => {
    const src = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Лендинг' });
    assert.match(src.path, /^\/webhooks\/tilda\/[\w-]{20,}$/);
    token = src.token;
    sourceId = src.id;
  });

  test("Tilda's check (test=test) gets 200; an unknown address 401", async () => {
    const check = await call('POST', `/webhooks/tilda/${token}`, { auth: null, form: 'test=test' });
    assert.equal(check.status, 200);
    assert.equal(check.text, 'ok');
    assert.equal((await call('POST', '/webhooks/tilda/not-a-token', { auth: null, form: 'test=test' })).status, 401);
  });

  test('a form submission becomes a lead with the UTM tags from the cookies; a retry stores nothing twice', async () => {
    const cookies = `_ym_uid=1690000000; TILDAUTM=${encodeURIComponent('utm_source=vk|||utm_medium=target|||utm_campaign=autumn|||')}`;
    const form = new URLSearchParams({
      Name: 'Пётр Сидоров',
      PHONE: '+7 (916) 700-00-10',
      email: 'petr@example.ru',
      Comments: 'Перезвоните после 18:00',
      Размер: 'XL',
      tranid: '3145678:9876543',
      formid: 'form123456',
      COOKIES: cookies,
    }).toString();
    const n = await leadCount();
    const res = await call('POST', `/webhooks/tilda/${token}`, { auth: null, form });
    assert.equal(res.status, 200);
    assert.equal((await call('POST', `/webhooks/tilda/${token}`, { auth: null, form })).status, 200);
    assert.equal(await leadCount(), n + 1);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.externalId, `tilda:${sourceId}:3145678:9876543`));
    assert.ok(lead);
    assert.equal(lead.source, 'website');
    assert.equal(lead.title, 'Tilda: Лендинг: Пётр Сидоров');
    assert.match(lead.comment!, /Перезвоните после 18:00/);
    assert.match(lead.comment!, /Размер: XL/);
    assert.equal(lead.tracking.utm_source, 'vk');
    const [campaign] = await s.ctx().db.select().from(campaigns).where(eq(campaigns.id, lead.campaignId!));
    assert.deepEqual([campaign!.utmSource, campaign!.utmMedium, campaign!.utmCampaign], ['vk', 'target', 'autumn']);
    const [contact] = await s.ctx().db.select().from(contacts).where(eq(contacts.id, lead.contactId!));
    assert.deepEqual(contact!.phones, ['+79167000010']);
    assert.deepEqual(contact!.emails, ['petr@example.ru']);
    assert.equal(lead.responsibleId, anna.id);
    await waitFor('the new_lead notice', () => notes.find((x) => x.kind === 'new_lead' && x.leadId === lead.id && x.userId === anna.id));
  });

  test('utm_* fields of the form are read too, and a form without phone or e-mail gets 400', async () => {
    const res = await call('POST', `/webhooks/tilda/${token}`, {
      auth: null,
      form: new URLSearchParams({ name: 'Ира', phone: '89167000011', utm_source: 'google', utm_campaign: 'brand', tranid: '1:2' }).toString(),
    });
    assert.equal(res.status, 200);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.externalId, `tilda:${sourceId}:1:2`));
    assert.equal(lead!.tracking.utm_source, 'google');
    const bad = await call('POST', `/webhooks/tilda/${token}`, { auth: null, form: 'Name=%D0%98%D1%80%D0%B0&tranid=1:3' });
    assert.equal(bad.status, 400);
    assert.ok(bad.json.fields.phone);
  });
});

describe('social networks and other forms', () => {
  test('a VK lead form: source social, the network kept on the lead; a retry stores nothing twice', async () => {
    const { token } = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'form', name: 'VK Реклама', network: 'vk' });
    const payload = {
      type: 'lead_forms_new',
      object: {
        lead_id: '987654',
        form_name: 'Заявка на замер',
        answers: [
          { key: 'first_name', question: 'Имя', answer: 'Ольга' },
          { key: 'phone_number', question: 'Телефон', answer: '+7 916 700-00-20' },
          { key: 'custom_0', question: 'Удобное время', answer: 'вечер' },
        ],
      },
    };
    const first = await call('POST', `/webhooks/forms/${token}`, { auth: null, body: payload });
    assert.equal(first.status, 201);
    const again = await call('POST', `/webhooks/forms/${token}`, { auth: null, body: payload });
    assert.equal(again.status, 200);
    assert.equal(again.json.lead_id, first.json.lead_id);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, first.json.lead_id));
    assert.equal(lead!.source, 'social');
    assert.equal(lead!.tracking.network, 'vk');
    assert.equal(lead!.title, 'ВКонтакте: Ольга');
    assert.match(lead!.comment!, /вечер/);
    await waitFor('the new_lead notice', () => notes.find((x) => x.kind === 'new_lead' && x.leadId === lead!.id));
  });

  test('a form builder posting form-encoded fields with its own network name', async () => {
    const { token } = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'form', name: 'Конструктор' });
    const res = await call('POST', `/webhooks/forms/${token}`, { auth: null, form: 'name=Кира&email=kira%40example.ru&network=Instagram&id=ig-1' });
    assert.equal(res.status, 201);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, res.json.lead_id));
    assert.equal(lead!.source, 'social');
    assert.equal(lead!.tracking.network, 'instagram');
    const plain = await call('POST', `/webhooks/forms/${token}`, { auth: null, body: { name: 'Без сети', phone: '+79167000021' } });
    const [site] = await s.ctx().db.select().from(leads).where(eq(leads.id, plain.json.lead_id));
    assert.equal(site!.source, 'website');
    assert.equal((await call('POST', `/webhooks/forms/${token}`, { auth: null, body: { name: 'Никак' } })).status, 400);
    assert.equal((await call('POST', `/webhooks/tilda/${token}`, { auth: null, form: 'test=test' })).status, 401, 'a form token is not a Tilda token');
  });
});
