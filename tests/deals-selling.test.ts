import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock, openWorld, randomInn, type World } from './helpers/world.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp } from './helpers/browser.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createDeal, getDeal, listDeals, listDealStages, loseDeal, setDealStage, updateDeal, winDeal, type DealStage } from '../core/deals/deals.js';
import { createLossReason, listLossReasons, updateLossReason } from '../core/deals/loss-reasons.js';
import { dealPipeline } from '../core/deals/pipeline.js';
import { planVsActual } from '../core/plans/plans.js';
import { getHistory } from '../core/history/history.js';
import { ServiceError } from '../core/errors.js';
import { formatKopecks } from '../core/validation/money.js';

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const refusedAccess = (e: unknown) => e instanceof ServiceError && (e.code === 'forbidden' || e.code === 'not_found');
const invalidField = (field: string) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && field in e.fields;

describe('deals in core (R10)', () => {
  const clock = fixedClock('2026-11-20T09:00:00Z');
  let w: World;
  let head: User, mA: User, mA2: User, mB: User;
  let cpA: number, cpA2: number, cpB: number, ctA: number, ctA2: number, ctB: number;
  let stages: DealStage[];
  const stage = (name: string) => stages.find((s) => s.name === name)!;
  const reason = async (name: string) => (await listLossReasons(w.system, { includeArchived: true })).find((r) => r.name === name)!;
  const titles = async (id: number) => (await getHistory(w.system, 'deal', id)).map((h) => h.title);

  before(async () => {
    w = await openWorld({ clock });
    const segA = await w.segment('Сегмент А');
    const segB = await w.segment('Сегмент Б');
    head = await w.user('head', { name: 'Руководитель' });
    mA = await w.user('manager', { name: 'Анна', segments: [segA] });
    mA2 = await w.user('manager', { name: 'Алексей', segments: [segA] });
    mB = await w.user('manager', { name: 'Борис', segments: [segB] });
    cpA = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Альфа', inn: randomInn('legal_entity'), segmentId: segA })).id;
    cpA2 = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Астра', inn: randomInn('legal_entity'), segmentId: segA })).id;
    cpB = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Бета', inn: randomInn('legal_entity'), segmentId: segB })).id;
    ctA = (await createContact(w.system, { name: 'Иван Альфин', counterpartyId: cpA })).id;
    ctA2 = (await createContact(w.system, { name: 'Пётр Астров', counterpartyId: cpA2 })).id;
    ctB = (await createContact(w.system, { name: 'Вера Бетова', counterpartyId: cpB })).id;
    stages = await listDealStages(w.system);
  });
  after(() => w.close());

  test('a new deal from a counterparty or a contact; another segment\'s client, another company\'s contact and handing it to a colleague are refused', async () => {
    const fromCp = await createDeal(w.as(mA), { title: 'Повторная поставка', amount: '1000', counterpartyId: cpA });
    assert.equal(fromCp.counterpartyId, cpA);
    assert.equal(fromCp.responsibleId, mA.id);
    const fromContact = await createDeal(w.as(mA), { title: 'Поставка Ивану', contactId: ctA });
    assert.equal(fromContact.contactId, ctA);
    assert.equal(fromContact.counterpartyId, cpA, 'a contact brings its company');
    assert.deepEqual(await titles(fromCp.id), ['Сделка создана']);

    const before = (await listDeals(w.system, {}, { withTotal: true })).total;
    await assert.rejects(createDeal(w.as(mA), { title: 'Чужая', counterpartyId: cpB }), code('forbidden'));
    await assert.rejects(createDeal(w.as(mA), { title: 'Чужая', contactId: ctB }), code('forbidden'));
    await assert.rejects(createDeal(w.as(mA), { title: 'Смесь', counterpartyId: cpA, contactId: ctA2 }), invalidField('contactId'));
    await assert.rejects(createDeal(w.as(mA), { title: 'Коллеге', counterpartyId: cpA, responsibleId: mA2.id }), code('forbidden'));
    await assert.rejects(createDeal(w.as(mA), { title: 'Проигранная', stageId: stage('Проиграна').id }), invalidField('stageId'));
    await assert.rejects(createDeal(w.as(mA), { title: '  ' }), invalidField('title'));
    assert.equal((await listDeals(w.system, {}, { withTotal: true })).total, before, 'nothing written');
    const byHead = await createDeal(w.as(head), { title: 'Для Алексея', counterpartyId: cpA, responsibleId: mA2.id });
    assert.equal(byHead.responsibleId, mA2.id);
  });

  test('every field is editable; the history says what changed from what, with names and money', async () => {
    const deal = await createDeal(w.as(mA), { title: 'Окна', amount: '1000', counterpartyId: cpA, contactId: ctA, comment: 'срочно' });
    clock.set('2026-11-20T09:05:00Z');
    const after = await updateDeal(w.as(head), deal.id, {
      title: 'Окна и двери',
      amount: '2 500,50',
      counterpartyId: cpA2,
      contactId: ctA2,
      responsibleId: mA2.id,
      comment: 'к декабрю',
    });
    assert.equal(after.amountKopecks, 250050n);
    assert.equal(after.counterpartyId, cpA2);
    assert.equal(after.contactId, ctA2);
    assert.equal(after.responsibleId, mA2.id);
    const h = await titles(deal.id);
    for (const line of [
      'Название: «Окна» → «Окна и двери»',
      `Сумма: ${formatKopecks(100000n)} → ${formatKopecks(250050n)}`,
      'Контрагент: ООО Альфа → ООО Астра',
      'Контакт: Иван Альфин → Пётр Астров',
      'Ответственный: Анна → Алексей',
      'Комментарий: «срочно» → «к декабрю»',
    ]) {
      assert.ok(h.includes(line), `history has «${line}»: ${JSON.stringify(h)}`);
    }
    const count = h.length;
    // a no-op patch writes nothing; bad input changes nothing
    const same = await updateDeal(w.as(mA2), deal.id, { title: 'Окна и двери', amount: '2500.50', responsibleId: mA2.id });
    assert.equal(same.updatedAt.getTime(), after.updatedAt.getTime());
    await assert.rejects(updateDeal(w.as(mA2), deal.id, { amount: 'много', title: 'Другое' }), invalidField('amount'));
    await assert.rejects(updateDeal(w.as(mA2), deal.id, { title: '' }), invalidField('title'));
    await assert.rejects(updateDeal(w.as(mA2), deal.id, { contactId: ctA }), invalidField('contactId'));
    // a manager may not hand the deal on, nor tie it to another segment's client
    await assert.rejects(updateDeal(w.as(mA2), deal.id, { responsibleId: mA.id }), code('forbidden'));
    await assert.rejects(updateDeal(w.as(mA2), deal.id, { counterpartyId: cpB }), code('forbidden'));
    assert.equal((await titles(deal.id)).length, count);
    assert.equal((await getDeal(w.system, deal.id)).title, 'Окна и двери');
    // a manager of another segment cannot see, edit, move, win or lose it
    await assert.rejects(getDeal(w.as(mB), deal.id), refusedAccess);
    await assert.rejects(updateDeal(w.as(mB), deal.id, { title: 'Взлом' }), refusedAccess);
    await assert.rejects(setDealStage(w.as(mB), deal.id, stage('Переговоры').id), refusedAccess);
    await assert.rejects(winDeal(w.as(mB), deal.id), refusedAccess);
    await assert.rejects(loseDeal(w.as(mB), deal.id, { lossReasonId: (await reason('Дорого')).id }), refusedAccess);
    const untouched = await getDeal(w.system, deal.id);
    assert.equal(untouched.stageId, deal.stageId);
    assert.equal(untouched.closedAt, null);
  });

  test('«Оплачена» with a paid date: plan vs actual counts it in the month of the payment, not of the close', async () => {
    clock.set('2026-12-02T10:00:00Z');
    const deal = await createDeal(w.as(mA), { title: 'Оплата в ноябре', amount: '70 000', counterpartyId: cpA });
    await assert.rejects(winDeal(w.as(mA), deal.id, { paidOn: '2026-12-03' }), invalidField('paidOn'));
    await assert.rejects(winDeal(w.as(mA), deal.id, { paidOn: '2026-02-30' }), invalidField('paidOn'));
    await assert.rejects(winDeal(w.as(mA), deal.id, { stageId: stage('Переговоры').id }), invalidField('stageId'));
    assert.equal((await getDeal(w.system, deal.id)).closedAt, null);
    const nov = async () => (await planVsActual(w.as(mA), { periodStart: '2026-11-01', periodEnd: '2026-11-30' }))[0]!.actual;
    const dec = async () => (await planVsActual(w.as(mA), { periodStart: '2026-12-01', periodEnd: '2026-12-31' }))[0]!.actual;
    const [novBefore, decBefore] = [await nov(), await dec()];
    const won = await winDeal(w.as(mA), deal.id, { paidOn: '2026-11-28' });
    assert.equal(won.paidOn, '2026-11-28');
    assert.equal(won.stageId, stage('Оплачена').id);
    assert.ok(won.closedAt);
    assert.equal((await titles(deal.id))[0], 'Сделка оплачена 28.11.2026');
    assert.equal((await nov()).dealCount, novBefore.dealCount + 1);
    assert.equal((await nov()).dealAmountKopecks, novBefore.dealAmountKopecks + 7_000_000n);
    assert.equal((await dec()).dealCount, decBefore.dealCount);
    // the date can be corrected; the default is today in the manager's zone
    await winDeal(w.as(mA), deal.id, { paidOn: '2026-12-01' });
    assert.equal((await titles(deal.id))[0], 'Дата оплаты: 28.11.2026 → 01.12.2026');
    assert.equal((await dec()).dealCount, decBefore.dealCount + 1);
    const other = await createDeal(w.as(mA), { title: 'Сегодня', counterpartyId: cpA });
    assert.equal((await setDealStage(w.as(mA), other.id, stage('Оплачена').id)).paidOn, '2026-12-02');
  });

  test('«Проиграна» needs a reason from the book; a closed deal reopens without its paid date or reason', async () => {
    clock.set('2026-12-03T10:00:00Z');
    const deal = await createDeal(w.as(mA), { title: 'Кондиционеры', amount: '5000', counterpartyId: cpA });
    await setDealStage(w.as(mA), deal.id, stage('Переговоры').id);
    const count = (await titles(deal.id)).length;
    await assert.rejects(setDealStage(w.as(mA), deal.id, stage('Проиграна').id), (e: unknown) => invalidField('lossReasonId')(e) && (e as ServiceError).fields.lossReasonId === 'укажите причину отказа');
    await assert.rejects(loseDeal(w.as(mA), deal.id, { lossReasonId: 987654 }), invalidField('lossReasonId'));
    const archived = await createLossReason(w.as(head), { name: 'Устаревшая причина' });
    await updateLossReason(w.as(head), archived.id, { name: archived.name, archived: true });
    await assert.rejects(loseDeal(w.as(mA), deal.id, { lossReasonId: archived.id }), invalidField('lossReasonId'));
    const unchanged = await getDeal(w.system, deal.id);
    assert.equal(unchanged.stageId, stage('Переговоры').id);
    assert.equal(unchanged.closedAt, null);
    assert.equal((await titles(deal.id)).length, count);

    const dear = await reason('Дорого');
    const lost = await setDealStage(w.as(mA), deal.id, stage('Проиграна').id, { lossReasonId: dear.id, lossComment: 'нашли дешевле' });
    assert.equal(lost.lossReasonId, dear.id);
    assert.equal(lost.lossComment, 'нашли дешевле');
    assert.ok(lost.closedAt);
    assert.equal((await titles(deal.id))[0], 'Сделка проиграна: Дорого — нашли дешевле');

    clock.set('2026-12-03T10:05:00Z');
    const reopened = await setDealStage(w.as(mA), deal.id, stage('Переговоры').id);
    assert.equal(reopened.closedAt, null);
    assert.equal(reopened.lossReasonId, null);
    assert.equal(reopened.lossComment, null);
    assert.equal((await titles(deal.id))[0], 'Сделка снова в работе: Проиграна → Переговоры');
    const paid = await winDeal(w.as(mA), deal.id, { paidOn: '2026-12-03' });
    assert.equal(paid.paidOn, '2026-12-03');
    const again = await setDealStage(w.as(mA), deal.id, stage('Новая').id);
    assert.equal(again.paidOn, null);
    assert.equal(again.closedAt, null);
  });

  test('the board: counts and sums per stage over all matching deals, the responsible and period filters, and R3', async () => {
    const segC = await w.segment('Сегмент В');
    const mC = await w.user('manager', { name: 'Вера', segments: [segC] });
    const cpC = (await createCounterparty(w.system, { kind: 'individual', name: 'Клиент В', segmentId: segC })).id;
    const dearId = (await reason('Дорого')).id;
    clock.set('2026-10-15T09:00:00Z');
    const october = await createDeal(w.as(mC), { title: 'В1 октябрь', amount: '100', counterpartyId: cpC });
    const closedLater = await createDeal(w.as(mC), { title: 'В5 октябрь, проиграна в ноябре', amount: '500', counterpartyId: cpC });
    clock.set('2026-11-10T09:00:00Z');
    const ids = [october.id, closedLater.id];
    for (const [title, amount] of [['В2', '200'], ['В3', '300'], ['В4', '400']] as const) ids.push((await createDeal(w.as(mC), { title, amount, counterpartyId: cpC })).id);
    await setDealStage(w.as(mC), ids[3]!, stage('Переговоры').id);
    await winDeal(w.as(mC), ids[4]!, { paidOn: '2026-11-10' });
    await loseDeal(w.as(mC), closedLater.id, { lossReasonId: dearId });
    clock.set('2026-12-05T09:00:00Z');

    const columns = async (as: User, filter: Parameters<typeof dealPipeline>[1]) =>
      Object.fromEntries((await dealPipeline(w.as(as), filter)).stages.map((c) => [c.stage.name, { n: c.count, sum: c.sumKopecks, ids: c.deals.map((d) => d.id) }]));
    const all = await columns(head, { responsibleId: mC.id });
    assert.deepEqual(
      Object.fromEntries(Object.entries(all).map(([k, v]) => [k, [v.n, v.sum]])),
      { 'Новая': [2, 30000n], 'Переговоры': [1, 30000n], 'КП отправлено': [0, 0n], 'Счёт выставлен': [0, 0n], 'Оплачена': [1, 40000n], 'Проиграна': [1, 50000n] },
    );
    assert.deepEqual(all['Новая']!.ids.sort(), [october.id, ids[2]!].sort());
    // the manager herself sees the same board; November only: open deals by creation, closed by closing
    assert.deepEqual(await columns(mC, {}), all);
    const nov = await columns(head, { responsibleId: mC.id, from: '2026-11-01', to: '2026-11-30' });
    assert.deepEqual([nov['Новая']!.n, nov['Переговоры']!.n, nov['Оплачена']!.n, nov['Проиграна']!.n], [1, 1, 1, 1]);
    assert.deepEqual(nov['Проиграна']!.ids, [closedLater.id]);
    await assert.rejects(dealPipeline(w.as(head), { from: '2026-11-30', to: '2026-11-01' }), invalidField('to'));
    // another segment's manager sees none of them and cannot move one
    const foreign = await columns(mB, { responsibleId: mC.id });
    assert.ok(Object.values(foreign).every((c) => c.n === 0 && c.sum === 0n && c.ids.length === 0));
    const mine = await dealPipeline(w.as(mB), {});
    assert.ok(mine.stages.every((c) => c.deals.every((d) => !ids.includes(d.id))));
    await assert.rejects(setDealStage(w.as(mB), ids[2]!, stage('Переговоры').id), refusedAccess);
  });

  test('«Причины отказа»: the head adds, renames, reorders and archives; a manager is refused', async () => {
    const r = await createLossReason(w.as(head), { name: 'Сроки', sortOrder: 5 });
    assert.equal((await listLossReasons(w.as(mA)))[0]!.name, 'Сроки', 'ordered by sort order');
    await assert.rejects(createLossReason(w.as(head), { name: 'Сроки' }), code('conflict'));
    await assert.rejects(createLossReason(w.as(head), { name: ' ' }), invalidField('name'));
    await assert.rejects(updateLossReason(w.as(head), r.id, { name: 'Дорого' }), code('conflict'));
    const renamed = await updateLossReason(w.as(head), r.id, { name: 'Не успеваем в сроки', sortOrder: 500 });
    assert.equal(renamed.sortOrder, 500);
    await updateLossReason(w.as(head), r.id, { name: renamed.name, archived: true });
    assert.ok(!(await listLossReasons(w.as(mA))).some((x) => x.id === r.id));
    assert.ok((await listLossReasons(w.as(mA), { includeArchived: true })).some((x) => x.id === r.id && x.archived));
    await assert.rejects(createLossReason(w.as(mA), { name: 'Моя причина' }), code('forbidden'));
    await assert.rejects(updateLossReason(w.as(mA), r.id, { name: 'Взлом' }), code('forbidden'));
    assert.equal((await reason('Не успеваем в сроки')).name, 'Не успеваем в сроки');
  });
});

describe('deals in the panel', () => {
  let a: AdminApp;
  let head: User, mA: User, mB: User;
  let cpA: number, cpB: number, ctA: number;
  let stages: DealStage[];
  const stage = (name: string) => stages.find((s) => s.name === name)!;

  before(async () => {
    a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
    const segA = await a.world.segment('Сегмент А');
    const segB = await a.world.segment('Сегмент Б');
    head = await a.world.user('head', { name: 'Руководитель' });
    mA = await a.world.user('manager', { name: 'Анна', segments: [segA] });
    mB = await a.world.user('manager', { name: 'Борис', segments: [segB] });
    cpA = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Альфа', inn: randomInn('legal_entity'), segmentId: segA })).id;
    cpB = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Бета', inn: randomInn('legal_entity'), segmentId: segB })).id;
    ctA = (await createContact(a.world.system, { name: 'Иван Альфин', counterpartyId: cpA })).id;
    stages = await listDealStages(a.world.system);
  });
  after(() => a.close());

  const dealCount = async () => (await listDeals(a.world.system, {}, { withTotal: true })).total!;

  test('«Новая сделка» from a counterparty\'s and a contact\'s card; bad input and another segment\'s client are refused', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(mA.email);
    assert.match(text((await c.get('/admin/deals')).body), /Новая сделка/);
    const form = await c.get(`/admin/deals/new?counterpartyId=${cpA}`);
    assert.equal(form.statusCode, 200);
    assert.match(text(form.body), /ООО Альфа/);
    assert.match(text(form.body), /Иван Альфин/, 'the company\'s contacts are offered');

    // finding the client by name shows only the manager's own clients
    const found = text((await c.get(`/admin/deals/new?find=${encodeURIComponent('ООО')}`)).body);
    assert.match(found, /ООО Альфа/);
    assert.doesNotMatch(found, /ООО Бета/);
    assert.match(text((await c.get(`/admin/deals/new?find=${cpA}`)).body), /Иван Альфин/);

    const n = await dealCount();
    const empty = await c.post('/admin/deals', { counterpartyId: String(cpA), title: '', amount: '100' });
    assert.equal(empty.statusCode, 400);
    assert.match(text(empty.body), /укажите название сделки/);
    const money = await c.post('/admin/deals', { counterpartyId: String(cpA), title: 'Окна', amount: 'много' });
    assert.equal(money.statusCode, 400);
    assert.match(text(money.body), /неверная сумма/);
    const foreign = await c.post('/admin/deals', { counterpartyId: String(cpB), title: 'Чужая' });
    assert.equal(foreign.statusCode, 403);
    assert.match(text(foreign.body), /не в ваших сегментах/);
    assert.match(text((await c.get(`/admin/deals/new?counterpartyId=${cpB}`)).body), /недоступен/);
    assert.equal(await dealCount(), n, 'nothing created');

    const page = await c.submit('/admin/deals', { counterpartyId: String(cpA), contactId: String(ctA), title: 'Окна в офис', amount: '150 000', comment: 'повторная продажа' });
    assert.match(text(page.body), /Сделка №\d+ создана/);
    assert.match(text(page.body), /Окна в офис/);
    assert.match(text(page.body), /ООО Альфа/);
    const fromContact = await c.get(`/admin/deals/new?contactId=${ctA}`);
    assert.match(text(fromContact.body), /ООО Альфа/, 'the contact brings its company');
    assert.equal(await dealCount(), n + 1);
    const [deal] = (await listDeals(a.world.system, { counterpartyId: cpA })).items;
    assert.equal(deal!.amountKopecks, 15_000_000n);
    assert.equal(deal!.contactId, ctA);
    assert.equal(deal!.responsibleId, mA.id);
  });

  test('the card edits the deal and closes it as paid or lost; a lost stage without a reason says so', async () => {
    const deal = await createDeal(a.world.system, { title: 'Двери', amount: '1000', counterpartyId: cpA, responsibleId: mA.id });
    const c = new PanelClient(a.app);
    await c.signIn(mA.email);
    const card = await c.get(`/admin/deals/${deal.id}`);
    assert.equal(card.statusCode, 200);
    assert.match(text(card.body), /Сделка оплачена/);
    assert.match(text(card.body), /Дорого/);

    let page = await c.submit(`/admin/deals/${deal.id}`, { title: 'Двери и окна', amount: '2000', counterpartyId: String(cpA), contactId: String(ctA), comment: 'к весне' });
    assert.match(text(page.body), /Сделка сохранена/);
    assert.match(text(page.body), /Название: «Двери» → «Двери и окна»/);
    assert.match(text(page.body), /Контакт: — → Иван Альфин/);
    page = await c.submit(`/admin/deals/${deal.id}`, { title: 'Двери и окна', amount: '-1', counterpartyId: String(cpA), contactId: String(ctA), comment: 'к весне' });
    assert.match(text(page.body), /Сделка не сохранена: сумма не может быть отрицательной/);
    assert.equal((await getDeal(a.world.system, deal.id)).amountKopecks, 200_000n);

    page = await c.submit(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Проиграна').id) });
    assert.match(text(page.body), /укажите причину отказа/);
    assert.equal((await getDeal(a.world.system, deal.id)).closedAt, null);
    const dear = (await listLossReasons(a.world.system)).find((r) => r.name === 'Дорого')!;
    page = await c.submit(`/admin/deals/${deal.id}/lose`, { lossReasonId: String(dear.id), comment: 'дешевле у соседей' });
    assert.match(text(page.body), /Сделка проиграна/);
    assert.match(text(page.body), /Причина отказа Дорого — дешевле у соседей/);
    page = await c.submit(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Переговоры').id) });
    assert.match(text(page.body), /Сделка снова в работе/);
    page = await c.submit(`/admin/deals/${deal.id}/win`, { paidOn: '2020-01-15' });
    assert.match(text(page.body), /Сделка оплачена 15\.01\.2020/);
    const paid = await getDeal(a.world.system, deal.id);
    assert.equal(paid.paidOn, '2020-01-15');
    assert.equal(paid.lossReasonId, null);

    // another segment's manager: the card is refused, the forms change nothing
    const other = new PanelClient(a.app);
    await other.signIn(mB.email);
    assert.equal((await other.get(`/admin/deals/${deal.id}`)).statusCode, 403);
    await other.get('/admin/deals');
    for (const [url, form] of [
      [`/admin/deals/${deal.id}`, { title: 'Взлом', amount: '1', counterpartyId: '', contactId: '', comment: '' }],
      [`/admin/deals/${deal.id}/lose`, { lossReasonId: String(dear.id) }],
      [`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Новая').id), back: '/admin/deals/board' }],
    ] as const) {
      const res = await other.post(url, form);
      assert.equal(res.statusCode, 303);
      const after = await other.get(res.headers.location as string);
      if (after.statusCode === 200) assert.match(text(after.body), /недоступна/);
      else assert.equal(after.statusCode, 403);
    }
    const still = await getDeal(a.world.system, deal.id);
    assert.equal(still.title, 'Двери и окна');
    assert.equal(still.stageId, stage('Оплачена').id);
  });

  test('the board moves a deal without JavaScript and comes back to itself; a lost stage asks for the reason on the card', async () => {
    const deal = await createDeal(a.world.system, { title: 'Доска: кухня', amount: '3000', counterpartyId: cpA, responsibleId: mA.id });
    const c = new PanelClient(a.app);
    await c.signIn(mA.email);
    const board = await c.get(`/admin/deals/board?responsibleId=${mA.id}`);
    assert.equal(board.statusCode, 200);
    assert.match(text(board.body), /Доска: кухня/);
    assert.match(board.body, new RegExp(`action="/admin/deals/${deal.id}/stage"`));
    assert.match(text(board.body), /Список/);

    const back = `/admin/deals/board?responsibleId=${mA.id}`;
    const res = await c.post(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('КП отправлено').id), back });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, back);
    const after = await c.get(back);
    assert.match(text(after.body), /Сделка «Доска: кухня»: КП отправлено/);
    assert.equal((await getDeal(a.world.system, deal.id)).stageId, stage('КП отправлено').id);

    const lost = await c.post(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Проиграна').id), back });
    assert.equal(lost.statusCode, 303);
    assert.match(String(lost.headers.location), new RegExp(`^/admin/deals/${deal.id}\\?lose=${stage('Проиграна').id}#lose$`));
    const card = await c.get(String(lost.headers.location).replace(/#.*/, ''));
    assert.match(text(card.body), /укажите причину отказа/);
    assert.equal((await getDeal(a.world.system, deal.id)).stageId, stage('КП отправлено').id);
    // «back» stays inside the deals section
    const evil = await c.post(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Новая').id), back: 'https://evil.example/' });
    assert.equal(evil.headers.location, `/admin/deals/${deal.id}`);

    // another segment's manager: an empty board, the move refused with a flash
    const other = new PanelClient(a.app);
    await other.signIn(mB.email);
    const theirs = await other.get('/admin/deals/board');
    assert.equal(theirs.statusCode, 200);
    assert.doesNotMatch(text(theirs.body), /Доска: кухня/);
    const refused = await other.post(`/admin/deals/${deal.id}/stage`, { stageId: String(stage('Переговоры').id), back: '/admin/deals/board' });
    assert.equal(refused.headers.location, '/admin/deals/board');
    assert.match(text((await other.get('/admin/deals/board')).body), /Эта сделка вам недоступна/);
    assert.equal((await getDeal(a.world.system, deal.id)).stageId, stage('Новая').id);
  });

  test('«Причины отказа» in the panel: the head keeps the book, a manager is refused', async () => {
    const h = new PanelClient(a.app);
    await h.signIn(head.email);
    const book = await h.get('/admin/books/loss-reasons');
    assert.equal(book.statusCode, 200);
    assert.match(book.body, /value="Выбрали конкурента"/);
    let page = await h.submit('/admin/books/loss-reasons', { name: 'Сезонность', sortOrder: '15' });
    assert.match(text(page.body), /Причина «Сезонность» добавлена/);
    page = await h.submit('/admin/books/loss-reasons', { name: 'Сезонность' });
    assert.match(text(page.body), /уже есть/);
    const r = (await listLossReasons(a.world.system)).find((x) => x.name === 'Сезонность')!;
    page = await h.submit(`/admin/books/loss-reasons/${r.id}`, { name: 'Не сезон', sortOrder: '16' });
    assert.match(text(page.body), /Причина «Не сезон» сохранена/);
    page = await h.submit(`/admin/books/loss-reasons/${r.id}/archive`, {});
    assert.match(text(page.body), /в архиве/);
    assert.ok(!(await listLossReasons(a.world.system)).some((x) => x.id === r.id));

    const m = new PanelClient(a.app);
    await m.signIn(mA.email);
    assert.equal((await m.get('/admin/books/loss-reasons')).statusCode, 403);
    await m.get('/admin/deals');
    const res = await m.post('/admin/books/loss-reasons', { name: 'Моя причина' });
    assert.equal(res.statusCode, 303);
    assert.ok(!(await listLossReasons(a.world.system, { includeArchived: true })).some((x) => x.name === 'Моя причина'));
  });
});

describe('deals in Chromium at 390 px', () => {
  test('the board, the card and the forms fit a phone; dragging a card onto a column moves the deal (same form, strict CSP)', async () => {
    const a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
    const b = await openBrowser();
    try {
      const seg = await a.world.segment('Сегмент А');
      const m = await a.world.user('manager', { name: 'Анна', segments: [seg] });
      const cp = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Очень Длинное Название Клиента Для Узкого Экрана', inn: randomInn('legal_entity'), segmentId: seg })).id;
      const stages = await listDealStages(a.world.system);
      const deal = await createDeal(a.world.system, { title: 'Перетаскиваемая сделка', amount: '12 345 678', counterpartyId: cp, responsibleId: m.id });
      for (const [i, s] of stages.filter((x) => !x.isLost && !x.isWon).entries()) {
        const d = await createDeal(a.world.system, { title: `Сделка ${i}`, amount: '1000', counterpartyId: cp, responsibleId: m.id });
        await setDealStage(a.world.system, d.id, s.id);
      }
      const { page } = await b.newPage({ width: 390, height: 844 });
      const cspErrors: string[] = [];
      page.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) cspErrors.push(msg.text());
      });
      await signIn(page, a.url, m.email, 'password123');
      for (const url of ['/admin/deals/board', `/admin/deals/${deal.id}`, `/admin/deals/new?counterpartyId=${cp}`, '/admin/deals']) {
        await page.goto(a.url + url);
        const { scroll, view } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })')) as { scroll: number; view: number };
        assert.ok(scroll <= view, `${url}: the page is ${scroll} px wide on a ${view} px screen`);
        await screenshot(page, `deals-390${url.replace(/[^a-z0-9]+/gi, '-')}`);
      }
      await page.goto(a.url + '/admin/deals/board');
      const target = stages.find((s) => s.name === 'Переговоры')!;
      // the mouse as a person drags: press on the card, move a little, then over the next column's head
      const from = (await page.locator(`[data-deal-id="${deal.id}"] .board-title`).boundingBox())!;
      const to = (await page.locator(`.board-col[data-stage-id="${target.id}"] .board-head`).boundingBox())!;
      await page.mouse.move(from.x + 5, from.y + from.height / 2);
      await page.mouse.down();
      await page.mouse.move(from.x + 30, from.y + from.height / 2, { steps: 5 });
      await page.mouse.move(to.x + 10, to.y + 10, { steps: 10 });
      await page.mouse.up();
      await page.locator('.flash').waitFor({ timeout: 15_000 });
      assert.match(await page.locator('.flash').innerText(), /Переговоры/);
      assert.equal((await getDeal(a.world.system, deal.id)).stageId, target.id);
      assert.deepEqual(cspErrors, []);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
