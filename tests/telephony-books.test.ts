import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { fixedClock, type World } from './helpers/world.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { calls } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import { createLine, deleteLine, extensionOf, lineByNumber, listLines, setUserExtensions, userByExtension, userExtensions } from '../core/telephony/lines.js';
import { chooseCallUser, createCallRule, deleteCallRule, listCallRules, moveCallRule, updateCallRule, type CallToRoute } from '../core/telephony/rules.js';

const TZ = 'Europe/Moscow';
// rules read the instant they are given, not the clock: this one only names «now» for route()
const clock = fixedClock('2026-11-20T09:00:00Z');
const ZEBRA_SECRET = 'zebra-hook-secret-0123456789abcd';
let a: AdminApp;
let w: World;
let head: User, admin: User;
before(async () => {
  a = await openAdminApp({
    admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } },
    env: { PUBLIC_URL: 'https://crm.example.ru/', MANGO_API_KEY: 'mango-key-abcdef', MANGO_API_SALT: 'mango-salt-secret-9876', ZEBRA_WEBHOOK_SECRET: ZEBRA_SECRET },
  });
  w = a.world;
  head = await w.user('head', { name: 'Руководитель' });
  admin = await w.user('admin', { name: 'Админ' });
});
after(() => a.close());

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const field = (f: string, re?: RegExp) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && f in e.fields && (!re || re.test(e.fields[f]!));

/** a finished call of the user at `at`: what «in turn» reads */
async function callOf(userId: number, at: string): Promise<void> {
  await w.database.db.insert(calls).values({ direction: 'in', fromNumber: '+74950000000', toNumber: '+74951111111', userId, status: 'answered', at: new Date(at) });
}

async function clearRules(): Promise<void> {
  for (const r of await listCallRules(w.as(head))) await deleteCallRule(w.as(head), r.id);
}

const route = (over: Partial<CallToRoute> = {}): CallToRoute => ({ lineId: null, counterpartyId: null, responsibleId: null, at: clock.now(), timeZone: TZ, ...over });

describe('«Линии» (core)', () => {
  test('a line is kept in E.164 and found by any way of writing its number; one number once per provider', async () => {
    const line = await createLine(w.as(head), { provider: 'mango', number: '8 (495) 700-10-01', name: 'Офис' });
    assert.equal(line.number, '+74957001001');
    assert.equal((await lineByNumber(w.system, 'mango', '74957001001'))?.id, line.id);
    assert.equal(await lineByNumber(w.system, 'zebra', '+74957001001'), null);
    await assert.rejects(createLine(w.as(head), { provider: 'mango', number: '+7 495 700 10 01', name: 'Второй' }), field('number', /Офис/));
    await assert.rejects(createLine(w.as(head), { provider: 'mango', number: '12', name: 'Плохой' }), field('number'));
    // the same number at another provider is another line
    await createLine(w.as(head), { provider: 'zebra', number: '+74957001001', name: 'Офис (Zebra)' });
    const manager = await w.user('manager');
    await assert.rejects(createLine(w.as(manager), { provider: 'generic', number: '+74957001002', name: 'Моя' }), code('forbidden'));
    assert.ok((await listLines(w.as(manager))).some((l) => l.id === line.id), 'everyone reads the lines');
  });

  test('a deleted line stays off its calls and takes its rules with it', async () => {
    const line = await createLine(w.as(admin), { provider: 'generic', number: '+74957001003', name: 'Временная' });
    await w.database.db.insert(calls).values({ direction: 'in', fromNumber: '+74950000001', toNumber: line.number, lineId: line.id });
    const rule = await createCallRule(w.as(head), { name: 'На временную', lineId: line.id, target: 'duty' });
    await deleteLine(w.as(head), line.id);
    assert.ok(!(await listCallRules(w.as(head))).some((r) => r.id === rule.id));
    const rows = await w.database.rows<{ line_id: number | null }>(sql`SELECT line_id FROM calls WHERE from_number = '+74950000001'`);
    assert.deepEqual(rows.map((r) => r.line_id), [null]);
  });
});

describe('extensions (core)', () => {
  test('one extension per provider per user; another user\'s is refused with their name', async () => {
    const ann = await w.user('manager', { name: 'Анна Петрова' });
    const bob = await w.user('manager', { name: 'Борис Иванов' });
    await setUserExtensions(w.as(head), ann.id, { mango: '101', zebra: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
    assert.deepEqual(await userExtensions(w.system, ann.id), { mango: '101', zebra: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
    assert.equal(await userByExtension(w.system, 'mango', '101'), ann.id);
    assert.equal(await extensionOf(w.system, ann.id, 'zebra'), 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
    await assert.rejects(setUserExtensions(w.as(head), bob.id, { mango: '101' }), field('extension.mango', /Анна Петрова/));
    await assert.rejects(setUserExtensions(w.as(head), bob.id, { mango: '10 1' }), field('extension.mango'));
    await assert.rejects(setUserExtensions(w.as(bob), bob.id, { mango: '102' }), code('forbidden'));
    // the same digits at another provider are another extension
    await setUserExtensions(w.as(head), bob.id, { generic: '101' });
    // '' removes
    await setUserExtensions(w.as(head), ann.id, { mango: '' });
    assert.deepEqual(await userExtensions(w.system, ann.id), { zebra: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
    await setUserExtensions(w.as(head), bob.id, { mango: '101' });
    assert.equal(await userByExtension(w.system, 'mango', '101'), bob.id);
  });
});

describe('«Прием звонков IP» (core)', () => {
  test('rules keep their order; up and down swap neighbours; bad hours and a queue without people are refused', async () => {
    await clearRules();
    const a = await createCallRule(w.as(head), { name: 'А', target: 'responsible' });
    const b = await createCallRule(w.as(head), { name: 'Б', target: 'segment' });
    const c = await createCallRule(w.as(head), { name: 'В', target: 'duty' });
    const names = async () => (await listCallRules(w.as(head))).map((r) => r.name);
    assert.deepEqual(await names(), ['А', 'Б', 'В']);
    await moveCallRule(w.as(head), c.id, 'up');
    assert.deepEqual(await names(), ['А', 'В', 'Б']);
    await moveCallRule(w.as(head), a.id, 'up'); // already first
    await moveCallRule(w.as(head), a.id, 'down');
    assert.deepEqual(await names(), ['В', 'А', 'Б']);
    await moveCallRule(w.as(head), b.id, 'down'); // already last
    assert.deepEqual(await names(), ['В', 'А', 'Б']);
    await assert.rejects(createCallRule(w.as(head), { name: 'Ночь', timeFrom: '22:00', target: 'duty' }), field('timeTo'));
    await assert.rejects(createCallRule(w.as(head), { name: 'Ночь', timeFrom: '25:00', timeTo: '08:00', target: 'duty' }), field('timeFrom'));
    await assert.rejects(createCallRule(w.as(head), { name: 'Очередь', target: 'queue', memberIds: [] }), field('memberIds'));
    await assert.rejects(createCallRule(w.as(head), { name: 'Ему', target: 'user' }), field('targetUserId'));
    const m = await w.user('manager');
    await assert.rejects(createCallRule(w.as(m), { name: 'Моё', target: 'duty' }), code('forbidden'));
    await assert.rejects(moveCallRule(w.as(m), a.id, 'up'), code('forbidden'));
    const edited = await updateCallRule(w.as(head), a.id, { name: 'А2', target: 'user', targetUserId: m.id, timeFrom: '9:00', timeTo: '18:00' });
    assert.equal(edited.timeFrom, '09:00');
    assert.equal(edited.targetUserId, m.id);
  });

  test('responsible, user and segment targets; inactive users are skipped; no rule → lead routing', async () => {
    await clearRules();
    const seg = await w.segment();
    const resp = await w.user('manager');
    const named = await w.user('manager');
    const segLinked = await w.user('manager', { segments: [seg] });
    const segOther = await w.user('manager', { segments: [seg] });
    await w.database.db.execute(sql`UPDATE users SET telegram_id = ${9_000_000 + segLinked.id} WHERE id = ${segLinked.id}`);
    const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Сегмент»', segmentId: seg });
    const cpResp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Ответственный»', responsibleId: resp.id });

    // no rules at all: the leads' routing (the counterparty's responsible)
    assert.deepEqual(await chooseCallUser(w.system, route({ counterpartyId: cpResp.id })), { userId: resp.id, ruleId: null });
    // …but first the client's own responsible (a new caller's lead was just given to someone), as a lead would go
    assert.deepEqual(await chooseCallUser(w.system, route({ counterpartyId: cpResp.id, responsibleId: named.id })), { userId: named.id, ruleId: null });

    const r1 = await createCallRule(w.as(head), { name: 'Ответственному', target: 'responsible' });
    const r2 = await createCallRule(w.as(head), { name: 'Сегменту', target: 'segment' });
    const r3 = await createCallRule(w.as(head), { name: 'Дежурному', target: 'user', targetUserId: named.id });
    assert.deepEqual(await chooseCallUser(w.system, route({ counterpartyId: cp.id, responsibleId: resp.id })), { userId: resp.id, ruleId: r1.id });
    // no responsible: the segment's manager with Telegram first
    assert.deepEqual(await chooseCallUser(w.system, route({ counterpartyId: cp.id })), { userId: segLinked.id, ruleId: r2.id });
    await w.database.db.execute(sql`UPDATE users SET active = false WHERE id IN (${resp.id}, ${segLinked.id})`);
    assert.deepEqual(await chooseCallUser(w.system, route({ counterpartyId: cp.id, responsibleId: resp.id })), { userId: segOther.id, ruleId: r2.id });
    // an unknown number: no responsible, no segment → the named user
    assert.deepEqual(await chooseCallUser(w.system, route()), { userId: named.id, ruleId: r3.id });
    await updateCallRule(w.as(head), r3.id, { name: 'Дежурному', target: 'user', targetUserId: named.id, active: false });
    const fallback = await chooseCallUser(w.system, route());
    assert.equal(fallback.ruleId, null, 'no rule yields: the lead routing decides');
  });

  test('a rule for one line and for night hours spanning midnight, in the team\'s zone', async () => {
    await clearRules();
    const night = await w.user('manager');
    const dayUser = await w.user('manager');
    const sales = await createLine(w.as(head), { provider: 'mango', number: '+74957002000', name: 'Продажи' });
    const support = await createLine(w.as(head), { provider: 'mango', number: '+74957002001', name: 'Поддержка' });
    const rNight = await createCallRule(w.as(head), { name: 'Ночью', lineId: sales.id, timeFrom: '22:00', timeTo: '08:00', target: 'user', targetUserId: night.id });
    const rDay = await createCallRule(w.as(head), { name: 'Днём', target: 'user', targetUserId: dayUser.id });
    const at = (iso: string) => route({ lineId: sales.id, at: new Date(iso) });
    // 23:30 and 07:59 in Moscow are night; 08:00 and 12:00 are not
    assert.equal((await chooseCallUser(w.system, at('2026-11-20T20:30:00Z'))).ruleId, rNight.id);
    assert.equal((await chooseCallUser(w.system, at('2026-11-21T04:59:00Z'))).ruleId, rNight.id);
    assert.equal((await chooseCallUser(w.system, at('2026-11-21T05:00:00Z'))).ruleId, rDay.id);
    assert.equal((await chooseCallUser(w.system, at('2026-11-20T09:00:00Z'))).ruleId, rDay.id);
    // the night rule is for the sales line only
    assert.equal((await chooseCallUser(w.system, route({ lineId: support.id, at: new Date('2026-11-20T20:30:00Z') }))).userId, dayUser.id);
  });

  test('a queue goes round in turn by the members\' last calls, skipping the inactive', async () => {
    await clearRules();
    const [q1, q2, q3] = [await w.user('manager'), await w.user('manager'), await w.user('manager')];
    const rule = await createCallRule(w.as(head), { name: 'Очередь', target: 'queue', memberIds: [q1.id, q2.id, q3.id] });
    assert.deepEqual([...rule.memberIds].sort(), [q1.id, q2.id, q3.id].sort());
    await callOf(q1.id, '2026-11-19T10:00:00Z');
    await callOf(q2.id, '2026-11-19T11:00:00Z');
    await callOf(q3.id, '2026-11-19T12:00:00Z');
    const got: number[] = [];
    for (const at of ['2026-11-20T09:00:00Z', '2026-11-20T09:01:00Z', '2026-11-20T09:02:00Z']) {
      const pick = await chooseCallUser(w.system, route());
      assert.equal(pick.ruleId, rule.id);
      got.push(pick.userId!);
      await callOf(pick.userId!, at);
    }
    assert.deepEqual(got, [q1.id, q2.id, q3.id]);
    await w.database.db.execute(sql`UPDATE users SET active = false WHERE id = ${q1.id}`);
    assert.equal((await chooseCallUser(w.system, route())).userId, q2.id);
  });

  test('on duty: active managers on duty in turn; nobody on duty → the next rule', async () => {
    await clearRules();
    await w.database.db.execute(sql`UPDATE users SET on_duty = false`);
    const [d1, d2] = [await w.user('manager'), await w.user('manager')];
    const rule = await createCallRule(w.as(head), { name: 'Дежурные', target: 'duty' });
    const last = await w.user('manager');
    const rLast = await createCallRule(w.as(head), { name: 'Последний', target: 'user', targetUserId: last.id });
    await w.database.db.execute(sql`UPDATE users SET on_duty = false WHERE id = ${last.id}`);
    await callOf(d1.id, '2026-11-19T10:00:00Z');
    assert.deepEqual(await chooseCallUser(w.system, route()), { userId: d2.id, ruleId: rule.id });
    await callOf(d2.id, '2026-11-20T08:00:00Z');
    assert.deepEqual(await chooseCallUser(w.system, route()), { userId: d1.id, ruleId: rule.id });
    await w.database.db.execute(sql`UPDATE users SET on_duty = false WHERE id IN (${d1.id}, ${d2.id})`);
    assert.deepEqual(await chooseCallUser(w.system, route()), { userId: last.id, ruleId: rLast.id });
  });
});

describe('the books in the panel', () => {
  const signedIn = async (u: User) => {
    const c = new PanelClient(a.app);
    await c.signIn(u.email);
    return c;
  };

  test('«Линии»: the head adds, is told what is wrong with a bad or repeated number, edits and deletes; a manager cannot', async () => {
    const c = await signedIn(head);
    let page = await c.get('/admin/books/phone-lines');
    assert.equal(page.statusCode, 200);
    page = await c.submit('/admin/books/phone-lines', { provider: 'zebra', number: 'восемь девятьсот', name: 'Кривая', active: 'on' });
    assert.match(text(page.body), /Не добавлено: номер телефона, например/);
    page = await c.submit('/admin/books/phone-lines', { provider: 'zebra', number: '8 812 300-20-10', name: 'Питер', active: 'on' });
    assert.match(text(page.body), /Линия «Питер» добавлена/);
    assert.match(text(page.body), /\+7 812 300 20 10/);
    page = await c.submit('/admin/books/phone-lines', { provider: 'zebra', number: '+78123002010', name: 'Снова', active: 'on' });
    assert.match(text(page.body), /этот номер уже есть в Zebra Telecom: линия «Питер»/);
    const line = (await lineByNumber(w.system, 'zebra', '+78123002010'))!;
    page = await c.get(`/admin/books/phone-lines/${line.id}`);
    assert.match(page.body, /data-confirm="[^"]*правила приёма звонков для этой линии будут удалены/);
    page = await c.submit(`/admin/books/phone-lines/${line.id}`, { provider: 'zebra', number: '+7 812 300 20 11', name: 'Питер, склад' });
    assert.match(text(page.body), /Линия «Питер, склад» сохранена/);
    const edited = (await lineByNumber(w.system, 'zebra', '+78123002011'))!;
    assert.equal(edited.active, false, 'an unticked box is «not used»');

    const m = await signedIn(await w.user('manager'));
    assert.equal((await m.get('/admin/books/phone-lines')).statusCode, 403);
    assert.equal((await m.get('/admin/books/call-rules')).statusCode, 403);
    await m.get('/admin');
    const res = await m.post('/admin/books/phone-lines', { provider: 'mango', number: '+74957009999', name: 'Моя', active: 'on' });
    assert.notEqual(res.statusCode, 200);
    assert.equal(await lineByNumber(w.system, 'mango', '+74957009999'), null);
    await m.post(`/admin/books/phone-lines/${edited.id}/delete`, {});
    assert.ok(await lineByNumber(w.system, 'zebra', '+78123002011'), 'a manager deletes nothing');

    page = await c.submit(`/admin/books/phone-lines/${edited.id}/delete`, {});
    assert.match(text(page.body), /Линия удалена/);
    assert.equal(await lineByNumber(w.system, 'zebra', '+78123002011'), null);
  });

  test('extensions on «Пользователи»: saved per provider; one another user has is refused with their name', async () => {
    const ann = await w.user('manager', { name: 'Анна Сидорова' });
    const bob = await w.user('manager', { name: 'Борис Смирнов' });
    const c = await signedIn(admin);
    let page = await c.get(`/admin/users/${ann.id}`);
    assert.match(text(page.body), /Внутренний номер Mango Office/);
    assert.match(text(page.body), /ID устройства Zebra Telecom/);
    assert.match(text(page.body), /Внутренний номер \(другая АТС\)/);
    page = await c.submit(`/admin/users/${ann.id}/extensions`, { extension_mango: '301', extension_zebra: 'f00dcafe', extension_generic: '' });
    assert.match(text(page.body), /Внутренние номера сохранены/);
    assert.match(page.body, /name="extension_mango" value="301"/);
    assert.deepEqual(await userExtensions(w.system, ann.id), { mango: '301', zebra: 'f00dcafe' });
    await c.get(`/admin/users/${bob.id}`);
    page = await c.submit(`/admin/users/${bob.id}/extensions`, { extension_mango: '301', extension_zebra: '', extension_generic: '' });
    assert.match(text(page.body), /Не сохранено: Внутренний номер Mango Office 301 уже у сотрудника «Анна Сидорова»/);
    page = await c.submit(`/admin/users/${bob.id}/extensions`, { extension_mango: '30-1', extension_zebra: '', extension_generic: '' });
    assert.match(text(page.body), /только латинские буквы и цифры/);
    assert.deepEqual(await userExtensions(w.system, bob.id), {});
  });

  test('«Прием звонков IP»: the page explains the order; rules added last, moved up and down, a bad rule refused, edited and deleted', async () => {
    await clearRules();
    const c = await signedIn(head);
    let page = await c.get('/admin/books/call-rules');
    assert.match(text(page.body), /Правила пробуются по порядку, сверху вниз/);
    assert.match(text(page.body), /распределяется как новый лид/);
    const who = await w.user('manager', { name: 'Вера Дежурная' });
    await c.submit('/admin/books/call-rules', { name: 'Первое', target: 'responsible', active: 'on' });
    await c.submit('/admin/books/call-rules', { name: 'Второе', target: 'segment', active: 'on' });
    page = await c.submit('/admin/books/call-rules', { name: 'Третье', target: 'user', targetUserId: String(who.id), timeFrom: '22:00', timeTo: '08:00', active: 'on' });
    assert.match(text(page.body), /Правило «Третье» добавлено последним/);
    assert.match(text(page.body), /Сотруднику: Вера Дежурная/);
    assert.match(text(page.body), /22:00–08:00/);
    const order = (body: string) => [...body.matchAll(/href="\/admin\/books\/call-rules\/\d+">([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(order(page.body), ['Первое', 'Второе', 'Третье']);
    const third = (await listCallRules(w.as(head))).find((r) => r.name === 'Третье')!;
    page = await c.submit(`/admin/books/call-rules/${third.id}/move`, { dir: 'up' });
    page = await c.submit(`/admin/books/call-rules/${third.id}/move`, { dir: 'up' });
    assert.deepEqual(order(page.body), ['Третье', 'Первое', 'Второе']);
    page = await c.submit(`/admin/books/call-rules/${third.id}/move`, { dir: 'down' });
    assert.deepEqual(order(page.body), ['Первое', 'Третье', 'Второе']);

    page = await c.submit('/admin/books/call-rules', { name: 'Пустая очередь', target: 'queue', active: 'on' });
    assert.match(text(page.body), /Не добавлено: выберите сотрудников очереди/);
    page = await c.submit('/admin/books/call-rules', { name: 'Полночь', target: 'duty', timeFrom: '22:00', active: 'on' });
    assert.match(text(page.body), /укажите и начало, и конец часов/);

    const members = [who.id, head.id].map(String);
    await c.get(`/admin/books/call-rules/${third.id}`);
    const res = await c.post(`/admin/books/call-rules/${third.id}`, { name: 'Третье: очередь', target: 'queue', memberIds: members, lineId: '', timeFrom: '', timeTo: '' });
    assert.equal(res.statusCode, 303);
    const saved = (await listCallRules(w.as(head))).find((r) => r.id === third.id)!;
    assert.deepEqual([...saved.memberIds].sort(), [who.id, head.id].sort());
    assert.equal(saved.active, false);
    assert.equal(saved.timeFrom, null);
    page = await c.submit(`/admin/books/call-rules/${third.id}/delete`, {});
    assert.match(text(page.body), /Правило удалено/);
    assert.deepEqual(order(page.body), ['Первое', 'Второе']);
  });

  test('«Интеграции»: each provider configured or not, the addresses for its cabinet without the secrets, lines and extensions', async () => {
    await createLine(w.as(head), { provider: 'mango', number: '+74957003000', name: 'Mango основная' });
    const c = await signedIn(admin);
    const page = await c.get('/admin/integrations');
    assert.equal(page.statusCode, 200);
    const t = text(page.body);
    assert.match(t, /Телефония/);
    const section = (p: string) => text(page.body.split(`data-telephony="${p}"`)[1]!.split(/data-telephony=|<h2>/)[0]!);
    assert.match(section('mango'), /Mango Office настроено/);
    assert.match(section('mango'), /https:\/\/crm\.example\.ru\/webhooks\/mango /);
    assert.match(section('mango'), /Линий: \d+/);
    assert.match(section('zebra'), /не настроено/);
    assert.match(section('zebra'), /ZEBRA_LOGIN/);
    assert.match(section('zebra'), /https:\/\/crm\.example\.ru\/webhooks\/zebra\/••••abcd\/channel_create/);
    assert.match(section('zebra'), /channel_destroy/);
    assert.match(section('generic'), /https:\/\/crm\.example\.ru\/webhooks\/pbx\/calls/);
    assert.match(section('generic'), /PBX_WEBHOOK_SECRET/);
    for (const secret of [ZEBRA_SECRET, 'mango-salt-secret-9876', 'mango-key-abcdef']) assert.ok(!page.body.includes(secret), 'no secret printed');
  });

  test('plan vs actual in the panel: a calls target is set and the answered calls are shown', async () => {
    const m = await w.user('manager', { name: 'Галина Звонкова' });
    const c = await signedIn(head);
    await c.get('/admin/plans?month=2026-11');
    const form: Record<string, string> = { month: '2026-11', users: String(m.id), [`amount_${m.id}`]: '', [`deals_${m.id}`]: '', [`works_${m.id}`]: '', [`calls_${m.id}`]: '25' };
    let page = await c.submit('/admin/plans', form);
    assert.match(text(page.body), /Планы сохранены/);
    assert.match(page.body, new RegExp(`name="calls_${m.id}" value="25"`));
    for (const [at, status] of [['2026-11-03T08:00:00Z', 'answered'], ['2026-11-04T08:00:00Z', 'answered'], ['2026-11-05T08:00:00Z', 'missed']] as const) {
      await w.database.db.insert(calls).values({ direction: 'in', fromNumber: '+74951234567', toNumber: '+74957003000', userId: m.id, status, at: new Date(at) });
    }
    page = await c.get('/admin/plan?month=2026-11');
    const rowOf = (html: string) => text(html.split('<td>Галина Звонкова</td>')[1]!.split('</tr>')[0]!);
    const row = rowOf(page.body);
    assert.match(row, /25 2\s*$/, 'plan 25, actual 2 answered calls');
    assert.match(text(page.body), /Звонки \(состоявшиеся\)/);
    const mine = await signedIn(m);
    page = await mine.get('/admin/plan?month=2026-11');
    assert.match(rowOf(page.body), /25 2\s*$/);
  });
});
