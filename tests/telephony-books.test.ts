import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { fixedClock, openWorld, type World } from './helpers/world.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { calls } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import { createLine, deleteLine, extensionOf, lineByNumber, listLines, setUserExtensions, userByExtension, userExtensions } from '../core/telephony/lines.js';
import { chooseCallUser, createCallRule, deleteCallRule, listCallRules, moveCallRule, updateCallRule, type CallToRoute } from '../core/telephony/rules.js';

const TZ = 'Europe/Moscow';
const clock = fixedClock('2026-11-20T09:00:00Z');
let w: World;
let head: User, admin: User;
before(async () => {
  w = await openWorld({ clock });
  head = await w.user('head');
  admin = await w.user('admin');
});
after(() => w.close());

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
