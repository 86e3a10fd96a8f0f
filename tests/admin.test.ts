import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { randomInn } from './helpers/world.js';
import { buildApp } from '../api/app.js';
import { loadConfig } from '../core/config.js';
import { openServices } from '../core/services.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createLead } from '../core/leads/leads.js';
import { listActions } from '../core/works/actions.js';
import { createWork } from '../core/works/works.js';
import { createDeal } from '../core/deals/deals.js';
import type { User } from '../core/users/users.js';
import { createContact } from '../core/contacts/contacts.js';
import { ingestInboundMessage } from '../core/channels/ingest.js';
import { attachmentsDirFor } from '../core/channels/attachments.js';
import { storeAttachments } from '../core/mail/attachments.js';
import { emails } from '../core/db/schema/index.js';
import { recordPairingCode } from '../core/channels/pairing.js';

/**
 * The admin panel over HTTP: sign-in, sessions in the database, CSRF on every form, the login
 * rate limit, security headers, and the access rules of each role on every page.
 */
let a: AdminApp;
let admin: User, head: User, manager: User;
let segA: number, segB: number;
let cpA: number, cpB: number;



before(async () => {
  // the rate limit has its own test (and app); here people sign in as often as the tests need
  // requests come from 127.0.0.1, standing in for the HTTPS proxy of the Secure-cookie test
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } }, env: { TRUST_PROXY: '127.0.0.1' } });
  segA = await a.world.segment('Сегмент А');
  segB = await a.world.segment('Сегмент Б');
  admin = await a.world.user('admin', { name: 'Админ' });
  head = await a.world.user('head', { name: 'Руководитель' });
  manager = await a.world.user('manager', { name: 'Менеджер А', segments: [segA] });
  cpA = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Клиент А', inn: randomInn('legal_entity'), segmentId: segA })).id;
  cpB = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Клиент Б', inn: randomInn('legal_entity'), segmentId: segB })).id;
});
after(() => a.close());

describe('sign-in and sessions', () => {
  test('a page without a session leads to the sign-in form; JSON answers 401', async () => {
    const c = new PanelClient(a.app);
    const res = await c.get('/admin/counterparties?kind=legal_entity');
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/login?next=%2Fadmin%2Fcounterparties%3Fkind%3Dlegal_entity');
    assert.equal((await c.get('/admin/imports/1/status.json')).statusCode, 401);
  });

  test('a wrong password is refused without a session; the right one opens an HttpOnly, SameSite session', async () => {
    const c = new PanelClient(a.app);
    await c.get('/admin/login');
    const wrong = await c.post('/admin/login', { email: admin.email, password: 'nope-nope' });
    assert.equal(wrong.statusCode, 401);
    assert.match(text(wrong.body), /Неверный e-mail или пароль/);
    assert.ok(!c.cookies.has('crm_session'));
    const ok = await c.post('/admin/login', { email: admin.email.toUpperCase(), password: 'password123', next: '/admin/segments' });
    assert.equal(ok.headers.location, '/admin/segments');
    const cookie = [ok.headers['set-cookie']].flat().find((x) => String(x).startsWith('crm_session='))!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\/admin/);
    assert.doesNotMatch(cookie, /Secure/, 'plain http on a laptop');
    const [row] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM admin_sessions WHERE user_id = ${admin.id}`);
    assert.ok(Number(row!.n) >= 1, 'the session is kept in the database');
    assert.equal((await c.get('/admin/segments')).statusCode, 200);
  });

  test('behind an HTTPS proxy the cookies are Secure; «next» cannot leave the panel', async () => {
    const c = new PanelClient(a.app, { 'x-forwarded-proto': 'https' });
    await c.get('/admin/login');
    const res = await c.post('/admin/login', { email: admin.email, password: 'password123', next: 'https://evil.example/' });
    assert.equal(res.headers.location, '/admin');
    assert.match([res.headers['set-cookie']].flat().find((x) => String(x).startsWith('crm_session='))!, /Secure/);
  });

  test('failed sign-ins are rate-limited, successful ones never (counted in Redis when it is configured, so web processes share the count)', async () => {
    const config = loadConfig({
      DATA_DIR: '/tmp',
      SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
      LOG_LEVEL: 'silent',
      ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    });
    const services = await openServices(config, pino({ level: 'silent' }), { database: a.world.database, jobs: a.world.ctx().jobs, migrate: false });
    const limitedApp = await buildApp(services, { admin: { loginRateLimit: { max: 4, timeWindowMs: 60_000 } } });
    after(() => limitedApp.close());
    // a colleague who signs in often is never locked out
    for (let i = 0; i < 6; i++) {
      const again = new PanelClient(limitedApp);
      await again.get('/admin/login');
      assert.equal((await again.post('/admin/login', { email: manager.email, password: 'password123' })).statusCode, 303, `sign-in ${i + 1}`);
    }
    const c = new PanelClient(limitedApp);
    await c.get('/admin/login');
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await c.post('/admin/login', { email: head.email, password: `wrong-${i}` })).statusCode);
    assert.deepEqual(codes, [401, 401, 401, 401, 429, 429]);
    const limited = await c.post('/admin/login', { email: head.email, password: 'password123' });
    assert.equal(limited.statusCode, 429, 'even the right password waits for the window');
    assert.match(text(limited.body), /Слишком много неудачных попыток входа/);
    // another e-mail from the same address is not held back
    assert.equal((await c.post('/admin/login', { email: admin.email, password: 'password123' })).statusCode, 303);
  });

  test('logout ends the session in the database: the old cookie no longer works', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    const stolen = c.cookies.get('crm_session')!;
    await c.get('/admin');
    assert.equal((await c.post('/admin/logout', {})).statusCode, 303);
    const replay = new PanelClient(a.app);
    replay.cookies.set('crm_session', stolen);
    assert.equal((await replay.get('/admin')).statusCode, 303);
  });

  test('a second web process on the same database shares the sessions', async () => {
    const config = loadConfig({ DATA_DIR: '/tmp', SECRET_KEY: 'test-secret-key-test-secret-key-0123456789', LOG_LEVEL: 'silent' });
    const services = await openServices(config, pino({ level: 'silent' }), { database: a.world.database, jobs: a.world.ctx().jobs, migrate: false });
    const second = await buildApp(services);
    try {
      const c = new PanelClient(a.app);
      await c.signIn(head.email);
      const other = new PanelClient(second);
      other.cookies = c.cookies;
      const res = await other.get('/admin/segments');
      assert.equal(res.statusCode, 200);
      assert.match(text(res.body), /Руководитель/);
    } finally {
      await second.close();
    }
  });

  test('security headers: a CSP that allows only our own scripts and styles', async () => {
    const res = await new PanelClient(a.app).get('/admin/login');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(res.body, /<script>|onclick=|style="/, 'no inline script or style for the CSP to block');
    assert.equal((await new PanelClient(a.app).get('/admin/static/admin.js')).statusCode, 200);
  });
});

describe('CSRF', () => {
  test('a form post without the token is refused with 403 and changes nothing', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    const res = await c.post('/admin/segments', { name: 'Подделка' }, { csrf: false });
    assert.equal(res.statusCode, 403);
    assert.match(text(res.body), /CSRF/);
    const forged = await c.post('/admin/segments', { name: 'Подделка', _csrf: 'made-up' }, { csrf: false });
    assert.equal(forged.statusCode, 403);
    const [row] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM segments WHERE name = 'Подделка'`);
    assert.equal(Number(row!.n), 0);
  });

  test("another session's token does not pass", async () => {
    const mine = new PanelClient(a.app);
    await mine.signIn(admin.email);
    await mine.get('/admin/segments');
    const theirs = new PanelClient(a.app);
    await theirs.signIn(head.email);
    const res = await theirs.post('/admin/segments', { name: 'Чужой токен', _csrf: mine.csrf }, { csrf: false });
    assert.equal(res.statusCode, 403);
  });
});

describe('access rules on every page', () => {
  const pages = (ids: { cp: number; lead: number; deal: number }) => [
    '/admin', '/admin/counterparties', `/admin/counterparties?text=Клиент&count=1`, '/admin/counterparties/new', `/admin/counterparties/${ids.cp}`,
    `/admin/counterparties/${ids.cp}/edit`, ...['works', 'emails', 'calls', 'messages', 'leads', 'deals', 'documents', 'history'].map((t) => `/admin/counterparties/${ids.cp}?tab=${t}`),
    '/admin/contacts', '/admin/mailing-types', '/admin/leads', `/admin/leads/${ids.lead}`, `/admin/leads/${ids.lead}?tab=history`, `/admin/leads/${ids.lead}?tab=documents`, '/admin/deals', `/admin/deals/${ids.deal}`,
    '/admin/works', '/admin/works?due=1', '/admin/plan', '/admin/lead-sources', '/admin/account',
  ];
  const staffPages = ['/admin/imports', '/admin/segments', '/admin/managers', '/admin/actions', '/admin/stages', '/admin/campaigns', '/admin/plans'];
  const adminPages = ['/admin/users', `/admin/users/1`, '/admin/api-keys', '/admin/integrations'];

  test('admin, head and manager open their pages; the others are refused with 403', async () => {
    const [action] = await listActions(a.world.system);
    const lead = await createLead(a.world.system, { title: 'Лид А', source: 'website', counterpartyId: cpA, responsibleId: manager.id });
    const deal = await createDeal(a.world.system, { title: 'Сделка А', counterpartyId: cpA, responsibleId: manager.id, amount: '1000' });
    await createWork(a.world.system, { actionId: action!.id, deadline: new Date(), counterpartyId: cpA, responsibleId: manager.id });
    const ids = { cp: cpA, lead: lead.id, deal: deal.id };
    for (const [user, allowed, refused] of [
      [admin, [...pages(ids), ...staffPages, ...adminPages], []],
      [head, [...pages(ids), ...staffPages], adminPages],
      [manager, pages(ids), [...staffPages, ...adminPages]],
    ] as const) {
      const c = new PanelClient(a.app);
      await c.signIn(user.email);
      for (const url of allowed) {
        const res = await c.get(url);
        assert.equal(res.statusCode, 200, `${user.role} ${url}: ${res.statusCode} ${text(res.body).slice(0, 200)}`);
      }
      for (const url of refused) assert.equal((await c.get(url)).statusCode, 403, `${user.role} ${url}`);
    }
  });

  test('a manager sees only their segments: the list, the card of another segment is 403', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    const list = text((await c.get('/admin/counterparties')).body);
    assert.match(list, /ООО Клиент А/);
    assert.doesNotMatch(list, /ООО Клиент Б/);
    const other = await c.get(`/admin/counterparties/${cpB}`);
    assert.equal(other.statusCode, 403);
    assert.match(text(other.body), /не в ваших сегментах/);
    assert.doesNotMatch(list, /Назначить сегмент рынка/, 'segmentation is for the head and the admin');
    assert.doesNotMatch(list, /href="\/admin\/users"/, 'the menu has no reference books of the admin');
    const forged = await c.post('/admin/counterparties/assign-segment', { target: 'filter', segmentId_assign: String(segA) });
    assert.equal(forged.statusCode, 403);
  });
});

describe('reference books', () => {
  test('segments: add, rename, a clear refusal to delete one in use, delete an unused one', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(head.email);
    await c.get('/admin/segments');
    await c.post('/admin/segments', { name: 'Временный' });
    const [row] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM segments WHERE name = 'Временный'`);
    await c.post(`/admin/segments/${row!.id}`, { name: 'Временный 2' });
    const refused = await c.post(`/admin/segments/${segA}/delete`, {});
    assert.equal(refused.statusCode, 303);
    const page = text((await c.get('/admin/segments')).body);
    assert.match(page, /Сегмент используется: контрагентов 1, менеджеров 1/);
    await c.post(`/admin/segments/${row!.id}/delete`, {});
    assert.match(text((await c.get('/admin/segments')).body), /Сегмент удалён/);
    const [gone] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM segments WHERE id = ${row!.id}`);
    assert.equal(Number(gone!.n), 0);
  });

  test('«Менеджер по работе с клиентами»: one form sets every user\'s segments', async () => {
    const other = await a.world.user('manager', { name: 'Менеджер Б' });
    const c = new PanelClient(a.app);
    await c.signIn(head.email);
    await c.get('/admin/managers');
    await c.post('/admin/managers', { users: [String(manager.id), String(other.id)], [`seg_${manager.id}`]: [String(segA)], [`seg_${other.id}`]: [String(segA), String(segB)] });
    const rows = await a.world.database.rows<{ user_id: number; segment_id: number }>(sql`SELECT user_id, segment_id FROM user_segments WHERE user_id = ${other.id} ORDER BY segment_id`);
    assert.deepEqual(rows.map((r) => Number(r.segment_id)), [segA, segB]);
  });

  test('users: create with a password shown once, reset signs the user out, delete refused for one who worked', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    await c.get('/admin/users');
    const created = await c.post('/admin/users', { name: 'Новичок', email: 'novice@test.crm', role: 'manager', password: '' });
    const shown = /data-testid="shown-password">([^<]+)</.exec(created.body)?.[1];
    assert.ok(shown, 'the generated password is on the page');
    const novice = new PanelClient(a.app);
    await novice.signIn('novice@test.crm', shown);
    assert.equal((await novice.get('/admin')).statusCode, 200);
    const [u] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM users WHERE email = 'novice@test.crm'`);
    await c.get(`/admin/users/${u!.id}`);
    await c.post(`/admin/users/${u!.id}/password`, { password: 'another-password' });
    assert.equal((await novice.get('/admin')).statusCode, 303, 'signed out by the reset');
    const code = await c.post(`/admin/users/${u!.id}/link-code`, {});
    assert.match(text(code.body), /Код привязки Telegram/);
    assert.match(text(code.body), /\/start [A-Z0-9]{10}/);
    await c.post(`/admin/users/${manager.id}/delete`, {});
    assert.match(text((await c.get(`/admin/users/${manager.id}`)).body), /уже работал в CRM .*Отключите его вместо удаления/);
    await c.post(`/admin/users/${u!.id}/delete`, {});
    const [left] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM users WHERE id = ${u!.id}`);
    assert.equal(Number(left!.n), 0);
  });

  test('API keys: created key shown once, then revoked', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    await c.get('/admin/api-keys');
    const res = await c.post('/admin/api-keys', { name: 'Сайт' });
    const key = /data-testid="new-key">([^<]+)</.exec(res.body)?.[1];
    assert.match(key ?? '', /^crm_/);
    assert.doesNotMatch((await c.get('/admin/api-keys')).body, new RegExp(key!), 'never shown again');
    const [k] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM api_keys WHERE name = 'Сайт'`);
    await c.post(`/admin/api-keys/${k!.id}/revoke`, {});
    assert.match(text((await c.get('/admin/api-keys')).body), /отозван/);
  });

  test('actions, results, stages, campaigns and mailing types refuse to delete what is in use', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(head.email);
    await c.get('/admin/actions');
    const [action] = await listActions(a.world.system);
    await c.post(`/admin/actions/${action!.id}/delete`, {});
    assert.match(text((await c.get('/admin/actions')).body), /Действие используется в работах: 1/);
    await c.post('/admin/results', { name: 'Перезвонить позже' });
    await c.post('/admin/actions', { name: 'Созвон', resultIds: [] });
    const [res] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM results WHERE name = 'Перезвонить позже'`);
    const [act] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM actions WHERE name = 'Созвон'`);
    await c.post(`/admin/actions/${act!.id}`, { name: 'Созвон', resultIds: [String(res!.id)] });
    await c.post(`/admin/results/${res!.id}/delete`, {});
    assert.match(text((await c.get('/admin/actions')).body), /Результат используется: в работах 0, в действиях 1/);

    await c.get('/admin/stages');
    const [stage] = await a.world.database.rows<{ id: number }>(sql`SELECT stage_id AS id FROM deals LIMIT 1`);
    await c.post(`/admin/stages/${stage!.id}/delete`, {});
    assert.match(text((await c.get('/admin/stages')).body), /Стадия используется в сделках: 1/);
    await c.post('/admin/stages', { name: 'Пауза', sortOrder: '55', outcome: '' });
    await c.post('/admin/stages', { name: 'Отказ клиента', sortOrder: '90', outcome: 'lost' });
    const stages = await a.world.database.rows<{ name: string; is_lost: boolean }>(sql`SELECT name, is_lost FROM deal_stages WHERE name IN ('Пауза', 'Отказ клиента') ORDER BY name`);
    assert.deepEqual(stages.map((s) => [s.name, s.is_lost]), [['Отказ клиента', true], ['Пауза', false]]);

    await createLead(a.world.system, { title: 'С кампании', source: 'website', tracking: { utm_source: 'yandex', utm_campaign: 'spring' } });
    await c.get('/admin/campaigns');
    const [camp] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM campaigns WHERE utm_campaign = 'spring'`);
    await c.post(`/admin/campaigns/${camp!.id}`, { name: 'Весенняя распродажа' });
    await c.post(`/admin/campaigns/${camp!.id}/delete`, {});
    const campaigns = text((await c.get('/admin/campaigns')).body);
    assert.match(campaigns, /Кампания используется в лидах: 1/);
    assert.match((await c.get('/admin/campaigns')).body, /value="Весенняя распродажа"/);
    assert.match(campaigns, /yandex \/ — \/ spring 1 /, 'the lead is counted');

    const sources = text((await c.get('/admin/lead-sources')).body);
    assert.match(sources, /Сайт website \d+/);
    assert.match(sources, /Загрузка из файла import 0/);
  });

  test('plans: the head sets every manager\'s targets in one table; a bad cell saves nothing', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(head.email);
    await c.get('/admin/plans?month=2031-03');
    const bad = await c.post('/admin/plans', { month: '2031-03', users: [String(manager.id)], [`amount_${manager.id}`]: 'много', [`deals_${manager.id}`]: '3', [`works_${manager.id}`]: '10' });
    assert.equal(bad.statusCode, 400);
    assert.match(text(bad.body), /неверная сумма/);
    const ok = await c.post('/admin/plans', { month: '2031-03', users: [String(manager.id)], [`amount_${manager.id}`]: '150 000,50', [`deals_${manager.id}`]: '3', [`works_${manager.id}`]: '10' });
    assert.equal(ok.statusCode, 303);
    const [plan] = await a.world.database.rows<{ deal_amount_kopecks: string; deal_count: number; period_end: string }>(
      sql`SELECT deal_amount_kopecks::text, deal_count, period_end::text FROM plans WHERE user_id = ${manager.id} AND period_start = '2031-03-01'`,
    );
    assert.deepEqual([plan!.deal_amount_kopecks, Number(plan!.deal_count), plan!.period_end], ['15000050', 3, '2031-03-31']);
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    const page = text((await m.get('/admin/plan?month=2031-03')).body);
    assert.match(page, /150 000,50 ₽/);
    // the chart: a bar per manager, with the actual figure and the share of the plan beside it
    assert.match(page, /Сумма выигранных сделок Менеджер А 0 ₽ · 0%/);
  });

  test('a lead: participants, then «Перевести лид в сделку»', async () => {
    const lead = await createLead(a.world.system, { title: 'Лид на сделку', source: 'manual', counterpartyId: cpA, responsibleId: manager.id });
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    await c.get(`/admin/leads/${lead.id}`);
    await c.post(`/admin/leads/${lead.id}/participants`, { userId: String(head.id) });
    assert.match(text((await c.get(`/admin/leads/${lead.id}`)).body), /Участник добавлен.*Руководитель/);
    const res = await c.post(`/admin/leads/${lead.id}/convert`, { title: 'Поставка', amount: '25000', stageId: '' });
    assert.match(String(res.headers.location), /^\/admin\/deals\/\d+$/);
    const deal = text((await c.get(String(res.headers.location))).body);
    assert.match(deal, /Лид переведён в сделку/);
    assert.match(deal, /25 000,00 ₽/);
  });
});

describe('new lead by hand', () => {
  test('«Новый лид»: bad input is named field by field and saves nothing; a known phone joins its contact; a company opens a counterparty', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    const form = await c.get('/admin/leads/new');
    assert.equal(form.statusCode, 200);
    const [before] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`);
    const bad = await c.post('/admin/leads', { name: '', phone: '12-34', email: 'не-почта', company: '', comment: '' });
    assert.equal(bad.statusCode, 400);
    const badText = text(bad.body);
    assert.match(badText, /Лид не создан: проверьте отмеченные поля/);
    for (const f of ['name', 'phone', 'email']) assert.match(bad.body, new RegExp(`data-error-for="${f}"`), f);
    assert.match(bad.body, /value="12-34"/, 'what was typed stays in the form');
    const [after] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads`);
    assert.equal(after!.n, before!.n);

    const known = await createContact(a.world.system, { name: 'Пётр Известный', counterpartyId: cpA, phones: ['+7 916 700-00-01'] });
    const res = await c.post('/admin/leads', { name: 'Пётр', phone: '8 (916) 700-00-01', email: '', company: '', comment: 'звонил по прайсу', confirmDuplicates: '1' }); // the known phone is shown first (R8), then confirmed
    assert.equal(res.statusCode, 303);
    const id = Number(/\/admin\/leads\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    const [lead] = await a.world.database.rows<{ contact_id: number; counterparty_id: number; source: string; responsible_id: number; comment: string }>(
      sql`SELECT contact_id, counterparty_id, source, responsible_id, comment FROM leads WHERE id = ${id}`,
    );
    assert.deepEqual([lead!.contact_id, lead!.counterparty_id, lead!.source, lead!.responsible_id, lead!.comment], [known.id, cpA, 'manual', manager.id, 'звонил по прайсу']);
    assert.match(text((await c.get(String(res.headers.location))).body), new RegExp(`Лид №${id} создан`));

    // the head gives a new client's lead to a manager; the company becomes a counterparty of theirs
    const h = new PanelClient(a.app);
    await h.signIn(head.email);
    const made = await h.post('/admin/leads', { name: 'Ирина Новая', phone: '', email: 'Irina@NewCo.ru', company: 'ООО Новая компания', comment: '', responsibleId: String(manager.id) });
    assert.equal(made.statusCode, 303);
    const newId = Number(/(\d+)$/.exec(String(made.headers.location))?.[1]);
    const [row] = await a.world.database.rows<{ title: string; responsible_id: number; cp_name: string; cp_resp: number; emails: string[] }>(
      sql`SELECT l.title, l.responsible_id, cp.name AS cp_name, cp.responsible_id AS cp_resp, ct.emails FROM leads l
          JOIN counterparties cp ON cp.id = l.counterparty_id JOIN contacts ct ON ct.id = l.contact_id WHERE l.id = ${newId}`,
    );
    assert.deepEqual([row!.title, row!.responsible_id, row!.cp_name, row!.cp_resp, row!.emails], ['Ирина Новая (ООО Новая компания)', manager.id, 'ООО Новая компания', manager.id, ['irina@newco.ru']]);
  });
});

describe('the client card', () => {
  test('«Документы» gathers the files of messages and letters; each opens for whoever sees the client, and only for them', async () => {
    const contact = await createContact(a.world.system, { name: 'Ольга Файлова', counterpartyId: cpA, phones: ['+7 913 555-01-02'] });
    const dataDir = a.services.config.DATA_DIR;
    // a client sends a price list on WhatsApp from the contact's phone; a letter brings a contract
    const pdf = Buffer.from('%PDF-1.4 прайс-лист');
    const received = await ingestInboundMessage(
      a.world.system,
      { channel: 'whatsapp', externalUserId: '79135550102@c.us', externalChatId: '79135550102@c.us', providerMessageId: 'wa-doc-1', phone: '+79135550102', text: 'Наш прайс', attachments: [{ name: 'Прайс 2026.pdf', mime: 'application/pdf', data: pdf }] },
      { attachmentsDir: attachmentsDirFor(dataDir) },
    );
    assert.equal(received.contactId, contact.id);
    const docx = Buffer.from('договор поставки');
    const files = await storeAttachments(dataDir, 0, '<contract-1@client.test>', [{ name: 'Договор.docx', mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', content: docx }]);
    const [letter] = await a.world.system.db
      .insert(emails)
      .values({ direction: 'incoming', messageId: '<contract-1@client.test>', subject: 'Договор на подпись', fromAddress: 'olga@client.test', toAddresses: ['sales@company.test'], contactId: contact.id, counterpartyId: cpA, attachments: files })
      .returning();

    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    const page = await c.get(`/admin/counterparties/${cpA}?tab=documents`);
    assert.equal(page.statusCode, 200);
    const shown = text(page.body);
    assert.match(shown, /Договор\.docx .* от клиента, письмо «Договор на подпись»/);
    assert.match(shown, /Прайс 2026\.pdf .* от клиента, сообщение \(WhatsApp\)/);
    const links = [...page.body.matchAll(/href="(\/admin\/(?:messages|mail\/emails)\/\d+\/attachments\/\d+)"/g)].map((m) => m[1]!);
    assert.equal(links.length, 2);
    const opened = await Promise.all(links.map((l) => c.get(l)));
    assert.deepEqual(opened.map((r) => r.statusCode), [200, 200]);
    assert.deepEqual(opened.map((r) => r.rawPayload.toString()).sort(), [docx.toString(), pdf.toString()].sort());
    assert.match(String(opened.find((r) => r.headers['content-type'] === 'application/pdf')?.headers['content-disposition']), /attachment; filename\*=UTF-8''%D0%9F%D1%80%D0%B0%D0%B9%D1%81/);
    // the lead the message opened lists it too
    assert.ok(received.leadId, 'the message opened a lead');
    assert.match(text((await c.get(`/admin/leads/${received.leadId}?tab=documents`)).body), /Прайс 2026\.pdf/);
    // the messages tab links the same file from the history
    assert.match((await c.get(`/admin/counterparties/${cpA}?tab=messages`)).body, new RegExp(`href="/admin/messages/${received.messageId}/attachments/0">Прайс 2026.pdf`));

    // a manager of another segment opens neither the tab nor the files
    const other = await a.world.user('manager', { name: 'Менеджер Б', segments: [segB] });
    const o = new PanelClient(a.app);
    await o.signIn(other.email);
    assert.equal((await o.get(`/admin/counterparties/${cpA}?tab=documents`)).statusCode, 403);
    for (const l of links) assert.equal((await o.get(l)).statusCode, 403, l);
    assert.equal((await c.get(`/admin/mail/emails/${letter!.id}/attachments/7`)).statusCode, 404);
  });
});

describe('the contact card', () => {
  test('a client who only wrote on WhatsApp: messenger, history and lead on the card; edited with field errors; other segments refused', async () => {
    const r = await ingestInboundMessage(a.world.system, {
      channel: 'whatsapp', externalUserId: '79137770011@c.us', externalChatId: '79137770011@c.us', providerMessageId: 'wa-card-1', phone: '+79137770011', name: 'Светлана', text: 'Здравствуйте, нужен счёт',
    });
    const [lead] = await a.world.database.rows<{ id: number; responsible_id: number }>(sql`SELECT id, responsible_id FROM leads WHERE contact_id = ${r.contactId}`);
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    const card = await c.get(`/admin/contacts/${r.contactId}`);
    assert.equal(card.statusCode, 200);
    const shown = text(card.body);
    assert.match(shown, /Светлана/);
    assert.match(shown, /Мессенджеры WhatsApp/);
    assert.match(shown, /Контрагент —/);
    assert.match(shown, /Сообщение от клиента \(WhatsApp\) Здравствуйте, нужен счёт/);
    assert.match(text((await c.get(`/admin/contacts/${r.contactId}?tab=leads`)).body), new RegExp(`Светлана`));
    assert.match((await c.get(`/admin/contacts/${r.contactId}?tab=leads`)).body, new RegExp(`href="/admin/leads/${lead!.id}"`));
    // the lead card links back to the contact
    assert.match((await c.get(`/admin/leads/${lead!.id}`)).body, new RegExp(`href="/admin/contacts/${r.contactId}"`));

    const bad = await c.post(`/admin/contacts/${r.contactId}`, { name: '', position: '', phones: '+7 913 777-00-11\n12-34', emails: '', comment: '' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /data-error-for="name"/);
    assert.match(bad.body, /data-error-for="phones"/);
    const ok = await c.post(`/admin/contacts/${r.contactId}`, { name: 'Светлана Иванова', position: 'бухгалтер', phones: '+7 913 777-00-11\n8 (495) 123-45-67', emails: 'Sveta@Client.ru', comment: '' });
    assert.equal(ok.statusCode, 303);
    const [row] = await a.world.database.rows<{ name: string; phones: string[]; emails: string[] }>(sql`SELECT name, phones, emails FROM contacts WHERE id = ${r.contactId}`);
    assert.deepEqual([row!.name, row!.phones, row!.emails], ['Светлана Иванова', ['+79137770011', '+74951234567'], ['sveta@client.ru']]);

    // a contact of a counterparty in another segment is not shown to a manager
    const other = await createContact(a.world.system, { name: 'Чужой Контакт', counterpartyId: cpB });
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    assert.equal((await m.get(`/admin/contacts/${other.id}`)).statusCode, 403);
  });
});

describe('integrations', () => {
  test('the admin sees which messengers work, and WhatsApp\'s QR code while it asks to pair; others are refused', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    let page = text((await c.get('/admin/integrations')).body);
    assert.match(page, /Telegram не подключён Задайте TELEGRAM_BOT_TOKEN/);
    assert.match(page, /WhatsApp не подключён/);
    // the bots process (another one, maybe) asks WhatsApp to pair and keeps the code in the database
    await recordPairingCode(a.world.system, 'whatsapp', '2@PairMe,QRDATA==,1');
    const html = (await c.get('/admin/integrations')).body;
    assert.match(text(html), /WhatsApp нужен вход по QR-коду/);
    assert.match(html, /<svg[^>]*viewBox="0 0 \d+ \d+"/);
    assert.match(html, /data-reload-after/);
    // paired: no code any more
    await recordPairingCode(a.world.system, 'whatsapp', null);
    page = text((await c.get('/admin/integrations')).body);
    assert.match(page, /WhatsApp работает/);
    assert.doesNotMatch((await c.get('/admin/integrations')).body, /<svg/);
    const h = new PanelClient(a.app);
    await h.signIn(head.email);
    assert.equal((await h.get('/admin/integrations')).statusCode, 403);
  });
});

describe('works from the card', () => {
  test('a work is planned in the user\'s own time and completed with a result its action allows; a second press changes nothing', async () => {
    const [action] = (await listActions(a.world.system)).filter((x) => x.results.length >= 2);
    assert.ok(action, 'an action with results');
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    await c.get(`/admin/counterparties/${cpA}?tab=works`);
    const planned = await c.post('/admin/works', { counterpartyId: String(cpA), back: `/admin/counterparties/${cpA}?tab=works`, actionId: String(action.id), deadline: '2031-05-20T10:30', comment: 'позвонить по КП' });
    assert.equal(planned.statusCode, 303);
    const [w] = await a.world.database.rows<{ id: number; deadline: string; responsible_id: number }>(
      sql`SELECT id, deadline::text, responsible_id FROM works WHERE counterparty_id = ${cpA} AND comment = 'позвонить по КП'`,
    );
    // typed as 10:30 by a manager in Moscow (UTC+3)
    assert.equal(new Date(w!.deadline).toISOString(), '2031-05-20T07:30:00.000Z');
    assert.equal(w!.responsible_id, manager.id);
    const page = await c.get(`/admin/counterparties/${cpA}?tab=works`);
    assert.match(page.body, new RegExp(`<form [^>]*method="post" action="/admin/works/${w!.id}/complete">`));
    const noDeadline = await c.post('/admin/works', { counterpartyId: String(cpA), back: `/admin/counterparties/${cpA}?tab=works`, actionId: String(action.id), deadline: '', comment: '' });
    assert.match(text((await c.get(String(noDeadline.headers.location))).body), /Работа не запланирована: укажите срок/);

    const foreign = (await a.world.database.rows<{ id: number }>(sql`SELECT id FROM results WHERE id NOT IN (SELECT result_id FROM action_results WHERE action_id = ${action.id}) LIMIT 1`))[0];
    assert.ok(foreign, 'a result of another action');
    const wrong = await c.post(`/admin/works/${w!.id}/complete`, { resultId: String(foreign.id), comment: '', back: `/admin/counterparties/${cpA}?tab=works` });
    assert.match(text((await c.get(String(wrong.headers.location))).body), /Работа не выполнена: этот результат не разрешён/);
    const done = await c.post(`/admin/works/${w!.id}/complete`, { resultId: String(action.results[0]!.id), comment: 'договорились', back: `/admin/counterparties/${cpA}?tab=works` });
    assert.equal(done.headers.location, `/admin/counterparties/${cpA}?tab=works`);
    const again = await c.post(`/admin/works/${w!.id}/complete`, { resultId: String(action.results[1]!.id), comment: '', back: 'https://evil.example/' });
    assert.equal(again.headers.location, '/admin', 'a foreign return address is not followed');
    const [after] = await a.world.database.rows<{ status: string; actual_result_id: number; result_comment: string }>(
      sql`SELECT status, actual_result_id, result_comment FROM works WHERE id = ${w!.id}`,
    );
    assert.deepEqual([after!.status, after!.actual_result_id, after!.result_comment], ['done', action.results[0]!.id, 'договорились']);
  });
});
