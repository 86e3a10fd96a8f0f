import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock, openWorld, type World } from './helpers/world.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createAction, createResult, listActions, allowedResults, deleteAction } from '../core/works/actions.js';
import { cancelWork, completeWork, createFollowUpWork, createWork, listWorks } from '../core/works/works.js';
import { createDeal, listDealStages, setDealStage } from '../core/deals/deals.js';
import { listLossReasons } from '../core/deals/loss-reasons.js';
import { monthOf, planVsActual, setPlan } from '../core/plans/plans.js';
import { ServiceError } from '../core/errors.js';
import { calls } from '../core/db/schema/index.js';

const clock = fixedClock('2026-11-20T09:00:00Z');
let w: World;
let manager: User, head: User;
let cpId: number;
before(async () => {
  w = await openWorld({ clock });
  manager = await w.user('manager');
  head = await w.user('head');
  cpId = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Клиент»', responsibleId: manager.id })).id;
});
after(() => w.close());

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;

describe('actions and results', () => {
  test('the guide\'s example: «Отправить» allows Договор, Письмо, Счёт, Коммерческое предложение', async () => {
    const send = (await listActions(w.system)).find((a) => a.name === 'Отправить')!;
    assert.deepEqual(send.results.map((r) => r.name).sort(), ['Договор', 'Коммерческое предложение', 'Письмо', 'Счёт'].sort());
  });

  test('a new action with its results; an action in use cannot be deleted', async () => {
    const r1 = await createResult(w.system, 'Анкета заполнена');
    const action = await createAction(w.system, { name: 'Анкетирование', resultIds: [r1.id] });
    assert.deepEqual((await allowedResults(w.system, action.id)).map((r) => r.name), ['Анкета заполнена']);
    await createWork(w.as(manager), { actionId: action.id, deadline: '2026-11-21T10:00:00Z', counterpartyId: cpId });
    await assert.rejects(deleteAction(w.system, action.id), code('conflict'));
    await assert.rejects(createAction(w.as(manager), { name: 'Чужое', resultIds: [] }), code('forbidden'));
  });
});

describe('works', () => {
  test('completing records the actual result, which must be one the action allows', async () => {
    const actions = await listActions(w.system);
    const call = actions.find((a) => a.name === 'Позвонить')!;
    const contract = actions.find((a) => a.name === 'Отправить')!.results.find((r) => r.name === 'Договор')!;
    const reached = call.results.find((r) => r.name === 'Дозвонился')!;
    const work = await createWork(w.as(manager), { actionId: call.id, deadline: '2026-11-20T12:00:00Z', counterpartyId: cpId, comment: 'Уточнить объём' });
    assert.equal(work.responsibleId, manager.id);
    await assert.rejects(completeWork(w.as(manager), work.id, { resultId: contract.id }), (e: ServiceError) => e.code === 'invalid' && 'resultId' in e.fields);
    const done = await completeWork(w.as(manager), work.id, { resultId: reached.id, comment: 'Договорились о встрече' });
    assert.equal(done.status, 'done');
    assert.equal(done.actualResultId, reached.id);
    // pressing «done» twice acts once
    await assert.rejects(completeWork(w.as(manager), work.id, { resultId: reached.id }), code('conflict'));
  });

  test('a planned result outside the action is refused, as is a work without a counterparty', async () => {
    const actions = await listActions(w.system);
    const call = actions.find((a) => a.name === 'Позвонить')!;
    const invoice = actions.find((a) => a.name === 'Отправить')!.results.find((r) => r.name === 'Счёт')!;
    await assert.rejects(createWork(w.as(manager), { actionId: call.id, plannedResultId: invoice.id, deadline: new Date(), counterpartyId: cpId }), code('invalid'));
    await assert.rejects(createWork(w.as(manager), { actionId: call.id, deadline: new Date() }), (e: ServiceError) => 'leadId' in e.fields);
    await assert.rejects(createWork(w.as(manager), { actionId: call.id, deadline: 'завтра', counterpartyId: cpId }), (e: ServiceError) => 'deadline' in e.fields);
  });

  test('a follow-up work is copied from an existing one, with the changes made', async () => {
    const call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
    const first = await createWork(w.as(manager), { actionId: call.id, deadline: '2026-11-20T15:00:00Z', counterpartyId: cpId, comment: 'Первый звонок' });
    const next = await createFollowUpWork(w.as(manager), first.id, { deadline: '2026-11-27T15:00:00Z' });
    assert.equal(next.basedOnId, first.id);
    assert.equal(next.actionId, first.actionId);
    assert.equal(next.comment, 'Первый звонок');
    assert.equal(next.counterpartyId, cpId);
    assert.equal(next.deadline.toISOString(), '2026-11-27T15:00:00.000Z');
    assert.equal(next.status, 'planned');
  });

  test("today's and overdue works", async () => {
    const call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
    const m = await w.user('manager');
    const cp = await createCounterparty(w.system, { kind: 'individual', name: 'Клиент М', responsibleId: m.id });
    await createWork(w.as(m), { actionId: call.id, deadline: '2026-11-19T10:00:00Z', counterpartyId: cp.id }); // overdue
    await createWork(w.as(m), { actionId: call.id, deadline: '2026-11-20T18:00:00Z', counterpartyId: cp.id }); // today
    await createWork(w.as(m), { actionId: call.id, deadline: '2026-11-23T10:00:00Z', counterpartyId: cp.id }); // later
    const cancelled = await createWork(w.as(m), { actionId: call.id, deadline: '2026-11-18T10:00:00Z', counterpartyId: cp.id });
    await cancelWork(w.as(m), cancelled.id, { reason: 'Клиент передумал' });
    const due = await listWorks(w.as(m), { responsibleId: m.id, dueBefore: '2026-11-20T21:00:00Z' });
    assert.equal(due.length, 2);
  });
});

describe('plans', () => {
  test('the head sets a plan; plan vs actual counts won deals, their amount and works done in the period', async () => {
    const m = await w.user('manager', { name: 'Анна' });
    const period = monthOf(clock.now());
    assert.deepEqual(period, { periodStart: '2026-11-01', periodEnd: '2026-11-30' });
    await setPlan(w.as(head), { userId: m.id, ...period, dealAmount: '1 000 000', dealCount: 5, worksCount: 20 });
    await assert.rejects(setPlan(w.as(m), { userId: m.id, ...period, dealCount: 1 }), code('forbidden'));
    await assert.rejects(setPlan(w.as(head), { userId: m.id, periodStart: '2026-11-30', periodEnd: '2026-11-01' }), (e: ServiceError) => 'periodEnd' in e.fields);

    const stages = await listDealStages(w.system);
    const won = stages.find((s) => s.isWon)!.id;
    const lost = stages.find((s) => s.isLost)!.id;
    const d1 = await createDeal(w.as(m), { title: 'A', amount: '250 000,50' });
    const d2 = await createDeal(w.as(m), { title: 'B', amount: '100 000' });
    const d3 = await createDeal(w.as(m), { title: 'C', amount: '999' });
    await setDealStage(w.as(m), d1.id, won);
    await setDealStage(w.as(m), d2.id, won);
    await setDealStage(w.as(m), d3.id, lost, { lossReasonId: (await listLossReasons(w.system))[0]!.id });
    // a deal won last month does not count
    clock.set('2026-10-31T20:00:00Z'); // 23:00 in Moscow, 31 October
    const old = await createDeal(w.as(m), { title: 'Old', amount: '5' });
    await setDealStage(w.as(m), old.id, won);
    clock.set('2026-11-20T09:00:00Z');
    const call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
    const cp = await createCounterparty(w.system, { kind: 'individual', name: 'Клиент А', responsibleId: m.id });
    const work = await createWork(w.as(m), { actionId: call.id, deadline: '2026-11-20T10:00:00Z', counterpartyId: cp.id });
    await completeWork(w.as(m), work.id, { resultId: call.results[0]!.id });

    const [mine] = await planVsActual(w.as(m), period);
    assert.equal(mine!.userId, m.id);
    assert.deepEqual(mine!.plan, { dealAmountKopecks: 100000000n, dealCount: 5, worksCount: 20, callsCount: 0 });
    assert.deepEqual(mine!.actual, { dealAmountKopecks: 35000050n, dealCount: 2, worksCount: 1, callsCount: 0 });
    // the head sees every manager; a manager may not look at someone else's
    const all = await planVsActual(w.as(head), period);
    assert.ok(all.some((p) => p.userId === m.id) && all.some((p) => p.userId === manager.id));
    await assert.rejects(planVsActual(w.as(m), period, { userId: manager.id }), code('forbidden'));
    const oct = await planVsActual(w.as(m), { periodStart: '2026-10-01', periodEnd: '2026-10-31' });
    assert.equal(oct[0]!.actual.dealCount, 1);
  });
});

describe('plans: calls (R4, R20)', () => {
  test('a calls target; the actual counts the person\'s answered calls within the period\'s days, not missed ones or another month\'s', async () => {
    const m = await w.user('manager', { name: 'Борис' });
    const other = await w.user('manager');
    const period = monthOf(clock.now());
    await setPlan(w.as(head), { userId: m.id, ...period, callsCount: 40 });
    await assert.rejects(setPlan(w.as(head), { userId: m.id, ...period, callsCount: -1 }), (e: ServiceError) => 'callsCount' in e.fields);
    const call = (userId: number, at: string, status: 'answered' | 'missed' | 'busy' = 'answered', direction: 'in' | 'out' = 'in') =>
      w.database.db.insert(calls).values({ direction, fromNumber: '+74951112233', toNumber: '+74954445566', userId, status, at: new Date(at) });
    await call(m.id, '2026-11-02T07:00:00Z');
    await call(m.id, '2026-11-15T12:00:00Z', 'answered', 'out');
    await call(m.id, '2026-11-30T20:30:00Z'); // 23:30 on 30 November in Moscow: still November
    await call(m.id, '2026-11-16T12:00:00Z', 'missed');
    await call(m.id, '2026-11-16T12:05:00Z', 'busy', 'out');
    await call(m.id, '2026-10-31T20:30:00Z'); // 23:30 on 31 October in Moscow
    await call(m.id, '2026-11-30T21:30:00Z'); // 00:30 on 1 December in Moscow
    await call(other.id, '2026-11-10T10:00:00Z');
    const [mine] = await planVsActual(w.as(m), period);
    assert.equal(mine!.plan!.callsCount, 40);
    assert.equal(mine!.actual.callsCount, 3);
    const [theirs] = await planVsActual(w.as(head), period, { userId: other.id });
    assert.equal(theirs!.actual.callsCount, 1);
    assert.equal(theirs!.plan, null);
  });
});

describe('works and access', () => {
  test('a work cannot be tied to a deal the manager does not see, nor to another client\'s deal', async () => {
    const call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
    const m = await w.user('manager');
    const mine = await createCounterparty(w.system, { kind: 'individual', name: 'Мой клиент', responsibleId: m.id });
    const theirs = await createCounterparty(w.system, { kind: 'individual', name: 'Чужой клиент' });
    const foreignDeal = await createDeal(w.system, { title: 'Чужая сделка', counterpartyId: theirs.id });
    await assert.rejects(
      createWork(w.as(m), { actionId: call.id, deadline: new Date(), counterpartyId: mine.id, dealId: foreignDeal.id }),
      code('forbidden'),
    );
    await assert.rejects(createWork(w.system, { actionId: call.id, deadline: new Date(), counterpartyId: mine.id, dealId: foreignDeal.id }), code('invalid'));
    await assert.rejects(createWork(w.system, { actionId: call.id, deadline: new Date(), counterpartyId: mine.id, dealId: 987654 }), code('not_found'));
  });
});
