import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import type { PublicApiOptions } from '../api/routes/public-api.js';
import { createContact } from '../core/contacts/contacts.js';
import { isServiceError } from '../core/errors.js';
import { createLead } from '../core/leads/leads.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { leads } from '../core/db/schema/index.js';
import { createApiKey, createUser, userActor, type User } from '../core/users/users.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { PanelClient } from './helpers/http-client.js';

/**
 * Website API keys kept apart, over HTTP on loopback into the real app and database: one site's
 * external ids, Idempotency-Keys and leads are its own; the rate limit counts per key and per
 * webhook source, not per spelling of a header or per sender address.
 */
let s: Services & { dataDir: string };
let app: FastifyInstance;
let base: string;
let admin: User;
/** two websites' keys */
let siteA: string, siteB: string;
let siteBId: number;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(
  url: string,
  opts: { method?: string; body?: unknown; form?: string; headers?: Record<string, string>; auth?: string | null; base?: string } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = `Bearer ${opts.auth}`;
  let body: string | undefined;
  if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${opts.base ?? base}${url}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    /* Tilda's and VK's plain "ok" */
  }
  return { status: res.status, json, text };
}
const leadCount = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`))[0]!.n;

/** Another app on the same database with its own limits, listening on loopback. */
async function appWithLimits(publicApi: Omit<PublicApiOptions, 'services'>): Promise<{ app: FastifyInstance; base: string }> {
  const limited = await buildApp(s, { publicApi });
  await limited.listen({ port: 0, host: '127.0.0.1' });
  return { app: limited, base: `http://127.0.0.1:${(limited.server.address() as { port: number }).port}` };
}

before(async () => {
  s = await openTestServices();
  const anna = await createUser(s.ctx(), { email: 'anna@keys.test', name: 'Анна', role: 'manager' });
  await s.database.rows(sql`UPDATE users SET telegram_id = 7101 WHERE id = ${anna.id}`);
  admin = await createUser(s.ctx(), { email: 'admin@keys.test', name: 'Админ', role: 'admin', password: 'password123' });
  ({ key: siteA } = await createApiKey(s.ctx(userActor(admin)), 'Сайт доставки'));
  ({ key: siteB, id: siteBId } = await createApiKey(s.ctx(userActor(admin)), 'Сайт ремонта'));
  app = await buildApp(s);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  await s.jobs.start();
});
after(async () => {
  await app?.close();
  await s?.close();
});

describe('external ids are per API key', () => {
  test("a second site posting the first site's external_id gets its own lead, not the first site's client", async () => {
    const a = await call('/api/v1/leads', { auth: siteA, body: { name: 'Иван Петров', phone: '+79161110001', email: 'ivan@example.ru', external_id: 'order-1' } });
    assert.equal(a.status, 201);
    const b = await call('/api/v1/leads', { auth: siteB, body: { name: 'Мария Соколова', phone: '+79161110002', external_id: 'order-1' } });
    assert.equal(b.status, 201, "a new lead for site B, not site A's");
    assert.notEqual(b.json.id, a.json.id);
    assert.equal(b.json.contact.name, 'Мария Соколова');
    assert.deepEqual(b.json.contact.phones, ['+79161110002']);
    assert.deepEqual(b.json.contact.emails, [], "nothing of site A's client");
    assert.equal(b.json.external_id, 'order-1', 'each site sees its external id as it sent it');
    assert.equal(a.json.external_id, 'order-1');

    // each site's retry still finds its own lead
    const againB = await call('/api/v1/leads', { auth: siteB, body: { phone: '+79161110002', external_id: 'order-1' } });
    assert.equal(againB.status, 200);
    assert.equal(againB.json.id, b.json.id);
    const againA = await call('/api/v1/leads', { auth: siteA, body: { phone: '+79161110001', external_id: 'order-1' } });
    assert.equal(againA.json.id, a.json.id);
    assert.equal(againA.json.contact.name, 'Иван Петров');

    const [rowB] = await s.ctx().db.select().from(leads).where(eq(leads.id, b.json.id));
    assert.equal(rowB!.apiKeyId, siteBId, 'the lead remembers the key that created it');
  });

  test("a key cannot take a webhook's external id: the Tilda submission still becomes its own lead", async () => {
    const tilda = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Лендинг' });
    const squat = await call('/api/v1/leads', { auth: siteA, body: { phone: '+79161110003', external_id: `tilda:${tilda.id}:555` } });
    assert.equal(squat.status, 201);
    const n = await leadCount();
    const form = new URLSearchParams({ Name: 'Ольга', Phone: '+79161110004', tranid: '555' }).toString();
    assert.equal((await call(`/webhooks/tilda/${tilda.token}`, { form })).status, 200);
    assert.equal(await leadCount(), n + 1);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.externalId, `tilda:${tilda.id}:555`));
    assert.equal(lead!.apiKeyId, null);
    assert.equal(lead!.title, 'Tilda: Лендинг: Ольга');
  });
});

describe('Idempotency-Key', () => {
  test('the same key and body again returns the first lead; another body with the same key is refused with 422', async () => {
    const headers = { 'idempotency-key': 'checkout-42' };
    const first = await call('/api/v1/leads', { auth: siteA, headers, body: { name: 'Пётр', phone: '+79161110010', comment: 'Доставка' } });
    assert.equal(first.status, 201);
    const same = await call('/api/v1/leads', { auth: siteA, headers, body: { comment: ' Доставка ', phone: '+79161110010', name: 'Пётр' } });
    assert.equal(same.status, 200, 'the same fields in another order and spacing are the same request');
    assert.equal(same.json.id, first.json.id);

    const n = await leadCount();
    const other = await call('/api/v1/leads', { auth: siteA, headers, body: { name: 'Светлана', phone: '+79161110011' } });
    assert.equal(other.status, 422);
    assert.equal(other.json.error, 'invalid');
    assert.match(other.json.message, /Idempotency-Key уже использован с другими данными/);
    assert.equal(other.json.id, undefined, "no lead, least of all the first request's");
    assert.equal(await leadCount(), n);

    // the same Idempotency-Key from another site is that site's own
    const siteBs = await call('/api/v1/leads', { auth: siteB, headers, body: { name: 'Светлана', phone: '+79161110011' } });
    assert.equal(siteBs.status, 201);
    assert.notEqual(siteBs.json.id, first.json.id);
    assert.equal(siteBs.json.contact.name, 'Светлана');
  });
});

describe('what a key reads', () => {
  test('a website key reads the leads it created; another site\'s lead and a Telegram lead are «not found» (404)', async () => {
    const mine = await call('/api/v1/leads', { auth: siteA, body: { name: 'Клиент А', phone: '+79161110020', email: 'a@example.ru' } });
    assert.equal(mine.status, 201);
    assert.equal((await call(`/api/v1/leads/${mine.json.id}`, { auth: siteA })).status, 200);

    const fromB = await call(`/api/v1/leads/${mine.json.id}`, { auth: siteB });
    assert.equal(fromB.status, 404);
    assert.equal(fromB.json.message, 'Лид не найден', 'the same answer as for a lead that does not exist');
    assert.equal(fromB.json.contact, undefined);
    assert.equal((await call('/api/v1/leads/999999', { auth: siteB })).json.message, 'Лид не найден');

    const contact = await createContact(s.ctx(), { name: 'Из Telegram', phones: ['+79161110021'] });
    const telegram = await createLead(s.ctx(), { title: 'Telegram: Из Telegram', source: 'telegram', contactId: contact.id });
    assert.equal((await call(`/api/v1/leads/${telegram.id}`, { auth: siteA })).status, 404);
  });

  test('an admin-made read_all key reads every lead', async () => {
    const { key: bi } = await createApiKey(s.ctx(userActor(admin)), 'Выгрузка в BI', 'read_all');
    const a = await call('/api/v1/leads', { auth: siteA, body: { phone: '+79161110030', external_id: 'order-30' } });
    const got = await call(`/api/v1/leads/${a.json.id}`, { auth: bi });
    assert.equal(got.status, 200);
    assert.equal(got.json.external_id, 'order-30');
    const contact = await createContact(s.ctx(), { name: 'Из Telegram 2', phones: ['+79161110031'] });
    const telegram = await createLead(s.ctx(), { title: 'Telegram: Из Telegram 2', source: 'telegram', contactId: contact.id });
    assert.equal((await call(`/api/v1/leads/${telegram.id}`, { auth: bi })).status, 200);
    await assert.rejects(createApiKey(s.ctx(userActor(admin)), 'Всё', 'everything'), (e) => isServiceError(e) && e.code === 'invalid');
  });

  test('the admin panel makes a read_all key when asked, a website key by default', async () => {
    const panel = new PanelClient(app);
    await panel.signIn(admin.email);
    await panel.get('/admin/api-keys');
    const made = await panel.post('/admin/api-keys', { name: 'Отчёты', scope: 'read_all' });
    const reports = /data-testid="new-key">([^<]+)</.exec(made.body)?.[1];
    assert.match(reports ?? '', /^crm_/);
    const plain = /data-testid="new-key">([^<]+)</.exec((await panel.post('/admin/api-keys', { name: 'Ещё сайт' })).body)?.[1];
    assert.match(plain ?? '', /^crm_/);
    assert.match((await panel.get('/admin/api-keys')).body, /чтение всех лидов/);

    const a = await call('/api/v1/leads', { auth: siteA, body: { phone: '+79161110032' } });
    assert.equal((await call(`/api/v1/leads/${a.json.id}`, { auth: reports! })).status, 200);
    assert.equal((await call(`/api/v1/leads/${a.json.id}`, { auth: plain! })).status, 404);
  });

  test("a site posting another site's client gets 202 and none of that client's data; the request joins the open lead", async () => {
    const theirs = await call('/api/v1/leads', { auth: siteB, body: { name: 'Ирина Ремонтова', phone: '+79161110040', email: 'irina@example.ru', company: 'ООО «Ремонт»' } });
    assert.equal(theirs.status, 201);
    const probe = await call('/api/v1/leads', { auth: siteA, body: { phone: '+7 916 111-00-40', comment: 'Хочу доставку' } });
    assert.equal(probe.status, 202);
    assert.equal(probe.json.id, undefined);
    assert.doesNotMatch(probe.text, /Ирина|irina|Ремонт/);
    const history = await s.database.rows<{ summary: string }>(
      sql`SELECT summary FROM history_events WHERE entity_type = 'lead' AND entity_id = ${theirs.json.id} AND kind = 'repeat_request'`,
    );
    assert.equal(history.length, 1, 'the request is not lost: it is on the open lead');
  });
});

describe('rate limit', () => {
  test("counts per key however the header is spelled, and calls without a valid key by address", async () => {
    const limited = await appWithLimits({ rateLimit: { max: 2, timeWindowMs: 60_000 } });
    try {
      const get = (authorization?: string) =>
        fetch(`${limited.base}/api/v1/leads/999999`, { headers: authorization ? { authorization } : {} }).then((r) => r.status);
      assert.equal(await get(`Bearer ${siteA}`), 404);
      assert.equal(await get(`bearer ${siteA}`), 404);
      assert.equal(await get(`Bearer  ${siteA}`), 429, 'another spelling of the same key is the same key');
      assert.equal(await get(`Bearer ${siteB}`), 404, 'another key has its own quota');

      assert.equal(await get('Bearer crm_wrong_1'), 401);
      assert.equal(await get('Bearer crm_wrong_2'), 401);
      assert.equal(await get('Bearer crm_wrong_3'), 429, 'wrong keys share their address');
      assert.equal(await get(), 429);
      assert.equal(await get(`Bearer ${siteB}`), 404, 'a valid key is not held back by the address');
    } finally {
      await limited.app.close();
    }
  });
});

describe('webhook limits', () => {
  test('150 Tilda submissions posted at once all become leads', async () => {
    const src = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Акция' });
    const n = await leadCount();
    const statuses: number[] = [];
    // in waves, as fast as the database takes them, from one address (Tilda's servers)
    for (let wave = 0; wave < 150; wave += 25) {
      const posts = Array.from({ length: 25 }, (_, i) => {
        const k = wave + i;
        const form = new URLSearchParams({ Name: `Участник ${k}`, Phone: `+7916222${String(k).padStart(4, '0')}`, tranid: `promo:${k}` }).toString();
        return call(`/webhooks/tilda/${src.token}`, { form }).then((r) => r.status);
      });
      statuses.push(...(await Promise.all(posts)));
    }
    assert.deepEqual(statuses.filter((st) => st !== 200), [], 'not one submission refused');
    assert.equal(await leadCount(), n + 150);
    const kept = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE external_id LIKE ${`tilda:${src.id}:promo:%`}`);
    assert.equal(kept[0]!.n, 150);
  });

  test('each source has its own quota: one busy form does not hold back another source or the website API', async () => {
    const limited = await appWithLimits({ webhookRateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const busy = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Занятая' });
      const quiet = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'form', name: 'Тихая' });
      const post = (path: string) => call(path, { base: limited.base, form: 'test=test' }).then((r) => r.status);
      assert.deepEqual([await post(`/webhooks/tilda/${busy.token}`), await post(`/webhooks/tilda/${busy.token}`), await post(`/webhooks/tilda/${busy.token}`)], [200, 200, 200]);
      assert.equal(await post(`/webhooks/tilda/${busy.token}`), 429);
      const form = await call(`/webhooks/forms/${quiet.token}`, { base: limited.base, body: { name: 'Лев', phone: '+79161110050' } });
      assert.equal(form.status, 201, 'another source from the same address');
      const api = await call('/api/v1/leads', { base: limited.base, auth: siteA, body: { phone: '+79161110051' } });
      assert.equal(api.status, 201);

      const vk = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'vk', name: 'Сообщество', groupId: 4242, confirmation: 'c0nf1rm', secret: 'vk-secret' });
      const confirm = () =>
        call(`/webhooks/vk/${vk.token}`, { base: limited.base, body: { type: 'confirmation', group_id: 4242, secret: 'vk-secret' } }).then((r) => r.status);
      assert.deepEqual([await confirm(), await confirm(), await confirm(), await confirm()], [200, 200, 200, 429], 'VK counts per community too');
    } finally {
      await limited.app.close();
    }
  });
});
