import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { randomInn } from './helpers/world.js';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText } from './helpers/http-client.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createDeal, getDeal, updateDeal, winDeal } from '../core/deals/deals.js';
import { addDealLine, listDealLines, moveDealLine, removeDealLine, updateDealLine } from '../core/deals/lines.js';
import { getHistory } from '../core/history/history.js';
import { products } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import { FakeTelegram, buttons, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import type { Services } from '../core/services.js';
import { createLinkCode, createUser } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';

/** «Товары и услуги» of a deal: exact sums, the deal's amount following them, the panel's block. */

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const fieldError = (field: string, message: RegExp) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && message.test(e.fields[field] ?? '');
/** money as people read it, with ordinary spaces */
const plain = (s: string) => s.replace(/\u00a0/g, ' ');

let a: AdminApp;
let manager: User, stranger: User;
let cpA: number;
let montage: number, cable: number;

const titles = async (dealId: number) => (await getHistory(a.world.system, 'deal', dealId, { limit: 50 })).map((h) => plain(h.title));
const count = async (table: string, dealId: number) =>
  (await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${sql.raw(table)} WHERE ${sql.raw(table === 'deal_lines' ? 'deal_id' : 'entity_id')} = ${dealId}${sql.raw(table === 'history_events' ? " AND entity_type = 'deal'" : '')}`))[0]!.n;

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  const segA = await a.world.segment('Сегмент А');
  const segB = await a.world.segment('Сегмент Б');
  manager = await a.world.user('manager', { name: 'Петров', segments: [segA] });
  stranger = await a.world.user('manager', { name: 'Чужой', segments: [segB] });
  cpA = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО «Позиции»', inn: randomInn('legal_entity'), segmentId: segA })).id;
  // the products book is another part's work: rows straight into its table
  const rows = await a.world.database.db
    .insert(products)
    .values([
      { name: 'Монтаж', unit: 'час', priceKopecks: 150_000n, vatRate: 22 },
      { name: 'Кабель ВВГ', unit: 'м', priceKopecks: 12_050n, vatRate: 10 },
    ])
    .returning();
  montage = rows[0]!.id;
  cable = rows[1]!.id;
});
after(() => a.close());

describe('deal lines in core', () => {
  test('adding lines: exact sums, VAT included, the deal amount follows and the history says what changed', async () => {
    const as = a.world.as(manager);
    const deal = await createDeal(as, { title: 'Электрика', counterpartyId: cpA, amount: '10 000' });

    const first = await addDealLine(as, deal.id, { productId: montage, quantity: '2' });
    assert.equal(first.name, 'Монтаж');
    assert.equal(first.unit, 'час');
    assert.equal(first.priceKopecks, 150_000n);
    assert.equal(first.vatRate, 22);
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 300_000n, 'the lines replace the typed amount');
    let t = await titles(deal.id);
    assert.ok(t.includes('Добавлена позиция «Монтаж»: 2 час × 1 500,00 ₽ = 3 000,00 ₽'), t.join('\n'));
    assert.ok(t.includes('Сумма сделки: 10 000,00 ₽ → 3 000,00 ₽'), t.join('\n'));

    // 3 × 333,33 with 10 % off = 899,991 → 899,99; 1,5 час × 2 000,00 = 3 000,00
    await addDealLine(as, deal.id, { name: 'Розетка', quantity: '3', unit: 'шт', price: '333,33', discount: '10', vatRate: 22 });
    await addDealLine(as, deal.id, { name: 'Проектирование', quantity: '1,5', unit: 'час', price: '2 000', vatRate: '10' });
    const list = await listDealLines(as, deal.id);
    assert.equal(list.taxMode, 'osn');
    assert.deepEqual(list.lines.map((l) => [l.no, l.name, l.sums.amountKopecks]), [
      [1, 'Монтаж', 300_000n],
      [2, 'Розетка', 89_999n],
      [3, 'Проектирование', 300_000n],
    ]);
    assert.equal(list.lines[1]!.sums.discountKopecks, 10_000n);
    // «в том числе НДС» by hand: 3000 × 22/122 = 540,98; 899,99 × 22/122 = 162,29; 3000 × 10/110 = 272,73
    assert.equal(list.lines[0]!.sums.vatKopecks, 54_098n);
    assert.equal(list.lines[1]!.sums.vatKopecks, 16_229n);
    assert.equal(list.lines[2]!.sums.vatKopecks, 27_273n);
    assert.equal(list.totals.totalKopecks, 689_999n);
    assert.deepEqual(list.totals.vatByRate, [
      { rate: 22, vatKopecks: 70_327n },
      { rate: 10, vatKopecks: 27_273n },
    ]);
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 689_999n);
    t = await titles(deal.id);
    assert.ok(t.includes('Добавлена позиция «Розетка»: 3 шт × 333,33 ₽, скидка 10% = 899,99 ₽'), t.join('\n'));
    assert.ok(t.includes('Сумма сделки: 3 899,99 ₽ → 6 899,99 ₽'), t.join('\n'));
  });

  test('changing, moving and removing lines; the last line gone leaves the amount as it was', async () => {
    const as = a.world.as(manager);
    const deal = await createDeal(as, { title: 'Кабель', counterpartyId: cpA });
    const cableLine = await addDealLine(as, deal.id, { productId: cable, quantity: '10' });
    const work = await addDealLine(as, deal.id, { productId: montage, quantity: '1', price: '1 000' });
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 220_500n);

    await updateDealLine(as, work.id, { quantity: '2,5', discount: '12,5' });
    // 2,5 × 1000 = 2500, −12,5 % = 2187,50
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 120_500n + 218_750n);
    let t = await titles(deal.id);
    assert.ok(t.includes('Изменена позиция «Монтаж»: 1 час × 1 000,00 ₽ = 1 000,00 ₽ → «Монтаж»: 2,5 час × 1 000,00 ₽, скидка 12,5% = 2 187,50 ₽'), t.join('\n'));
    assert.ok(t.includes('Сумма сделки: 2 205,00 ₽ → 3 392,50 ₽'), t.join('\n'));

    await moveDealLine(as, work.id, 'up');
    assert.deepEqual((await listDealLines(as, deal.id)).lines.map((l) => l.name), ['Монтаж', 'Кабель ВВГ']);
    await moveDealLine(as, work.id, 'up'); // already first
    assert.deepEqual((await listDealLines(as, deal.id)).lines.map((l) => l.name), ['Монтаж', 'Кабель ВВГ']);
    await moveDealLine(as, work.id, 'down');
    assert.deepEqual((await listDealLines(as, deal.id)).lines.map((l) => l.name), ['Кабель ВВГ', 'Монтаж']);

    // while there are lines, a typed amount is refused (the same amount, as the card's form sends it, passes)
    await assert.rejects(updateDeal(as, deal.id, { amount: '100' }), fieldError('amount', /по позициям/));
    await updateDeal(as, deal.id, { title: 'Кабель и монтаж', amount: '3392,50' });

    await removeDealLine(as, cableLine.id);
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 218_750n);
    assert.deepEqual((await listDealLines(as, deal.id)).lines.map((l) => [l.no, l.position]), [[1, 1]]);
    t = await titles(deal.id);
    assert.ok(t.includes('Удалена позиция «Кабель ВВГ»: 10 м × 120,50 ₽ = 1 205,00 ₽'), t.join('\n'));
    await removeDealLine(as, work.id);
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 218_750n, 'the amount stays and is typed by hand again');
    assert.equal((await listDealLines(as, deal.id)).lines.length, 0);
    assert.equal((await updateDeal(as, deal.id, { amount: '5000' })).amountKopecks, 500_000n);
  });

  test('bad input is refused in Russian and writes nothing', async () => {
    const as = a.world.as(manager);
    const deal = await createDeal(as, { title: 'Проверка ввода', counterpartyId: cpA });
    const before = await count('history_events', deal.id);
    await assert.rejects(addDealLine(as, deal.id, { name: 'Ноль', quantity: '0', price: '100' }), fieldError('quantity', /Количество — число больше нуля/));
    await assert.rejects(addDealLine(as, deal.id, { name: 'Много знаков', quantity: '1,2345', price: '100' }), fieldError('quantity', /например 1,5/));
    await assert.rejects(addDealLine(as, deal.id, { name: 'Минус', quantity: '1', price: '-5' }), fieldError('price', /отрицательной/));
    await assert.rejects(addDealLine(as, deal.id, { name: 'Скидка', quantity: '1', price: '5', discount: '101' }), fieldError('discount', /от 0 до 100/));
    await assert.rejects(addDealLine(as, deal.id, { name: 'НДС', quantity: '1', price: '5', vatRate: '18' }), fieldError('vatRate', /без НДС/));
    await assert.rejects(addDealLine(as, deal.id, { quantity: '1', price: '5' }), fieldError('name', /наименование/));
    assert.equal(await count('deal_lines', deal.id), 0);
    assert.equal(await count('history_events', deal.id), before);
  });

  test('a manager who cannot see the deal gets «не найдена», and a closed deal refuses changes', async () => {
    const as = a.world.as(manager);
    const deal = await createDeal(as, { title: 'Чужие руки', counterpartyId: cpA });
    const line = await addDealLine(as, deal.id, { name: 'Услуга', quantity: '1', price: '500' });
    const history = await count('history_events', deal.id);
    const other = a.world.as(stranger);
    await assert.rejects(listDealLines(other, deal.id), code('not_found'));
    await assert.rejects(addDealLine(other, deal.id, { name: 'Чужая', quantity: '1', price: '1' }), code('not_found'));
    await assert.rejects(updateDealLine(other, line.id, { price: '1' }), code('not_found'));
    await assert.rejects(moveDealLine(other, line.id, 'down'), code('not_found'));
    await assert.rejects(removeDealLine(other, line.id), code('not_found'));
    assert.equal(await count('deal_lines', deal.id), 1);
    assert.equal(await count('history_events', deal.id), history);
    assert.equal((await getDeal(as, deal.id)).amountKopecks, 50_000n);

    await winDeal(as, deal.id);
    const closed = await count('history_events', deal.id);
    await assert.rejects(addDealLine(as, deal.id, { name: 'После оплаты', quantity: '1', price: '1' }), (e: unknown) => code('conflict')(e) && /Сделка закрыта/.test((e as Error).message));
    await assert.rejects(updateDealLine(as, line.id, { price: '1' }), code('conflict'));
    await assert.rejects(removeDealLine(as, line.id), code('conflict'));
    assert.equal(await count('deal_lines', deal.id), 1);
    assert.equal(await count('history_events', deal.id), closed);
    assert.equal((await listDealLines(as, deal.id)).closed, true);
  });
});

describe('deal lines in the panel', () => {
  test('a line from the products book and a free-text line, with the totals; a bad quantity is a Russian flash and writes nothing', async () => {
    const deal = await createDeal(a.world.as(manager), { title: 'Щиток', counterpartyId: cpA, amount: '100' });
    const panel = new PanelClient(a.app);
    await panel.signIn(manager.email);
    const card = await panel.get(`/admin/deals/${deal.id}`);
    assert.equal(card.statusCode, 200);
    assert.match(pageText(card.body), /Товары и услуги/);
    const back = `/admin/deals/${deal.id}/lines`;
    let page = await panel.get(back);
    assert.equal(page.statusCode, 200);
    assert.match(pageText(page.body), /Позиций нет/);

    page = await panel.submit(`/admin/deals/${deal.id}/lines`, { productId: String(montage), quantity: '2', back });
    assert.match(plain(pageText(page.body)), /Позиция «Монтаж» добавлена/);
    page = await panel.submit(`/admin/deals/${deal.id}/lines`, { productId: '', name: 'Выезд инженера', quantity: '1', unit: 'усл.', price: '2 500', discount: '', vatRate: '10', back });
    const t = plain(pageText(page.body));
    assert.match(t, /1\. Монтаж 2 час × час 1 500,00 ₽ = 3 000,00 ₽ НДС 22 %/);
    assert.match(t, /2\. Выезд инженера 1 усл\. × усл\. 2 500,00 ₽ = 2 500,00 ₽ НДС 10 %/);
    assert.match(t, /Итого 5 500,00 ₽/);
    // 3000 × 22/122 = 540,98; 2500 × 10/110 = 227,27
    assert.match(t, /в том числе НДС 22 % 540,98 ₽/);
    assert.match(t, /в том числе НДС 10 % 227,27 ₽/);
    assert.equal((await getDeal(a.world.system, deal.id)).amountKopecks, 550_000n);

    const lines = await count('deal_lines', deal.id);
    page = await panel.submit(`/admin/deals/${deal.id}/lines`, { productId: '', name: 'Кабель', quantity: 'два', price: '10', back });
    assert.match(plain(pageText(page.body)), /Позиция не добавлена: Количество — число больше нуля, например 1,5/);
    assert.equal(await count('deal_lines', deal.id), lines);

    // change, move and remove through the row's forms; a form from another card cannot send one elsewhere
    const [first, second] = (await listDealLines(a.world.system, deal.id)).lines;
    page = await panel.submit(`/admin/deals/${deal.id}/lines/${second!.id}`, { name: 'Выезд инженера', quantity: '2', unit: 'усл.', price: '2 500', discount: '10', vatRate: '10', back });
    assert.match(plain(pageText(page.body)), /Позиция «Выезд инженера» сохранена/);
    assert.equal((await getDeal(a.world.system, deal.id)).amountKopecks, 300_000n + 450_000n);
    await panel.submit(`/admin/deals/${deal.id}/lines/${second!.id}/up`, { back });
    assert.deepEqual((await listDealLines(a.world.system, deal.id)).lines.map((l) => l.id), [second!.id, first!.id]);
    const removed = await panel.post(`/admin/deals/${deal.id}/lines/${first!.id}/delete`, { back: 'https://evil.example/' });
    assert.equal(removed.headers.location, `/admin/deals/${deal.id}#lines`);
    assert.deepEqual((await listDealLines(a.world.system, deal.id)).lines.map((l) => l.id), [second!.id]);
  });

  test('the lines fit a phone at 390 px: each line one block, the forms without sideways scroll', async () => {
    const deal = await createDeal(a.world.as(manager), { title: 'Узкий экран', counterpartyId: cpA });
    await addDealLine(a.world.as(manager), deal.id, { productId: montage, quantity: '12,375', discount: '7,5' });
    await addDealLine(a.world.as(manager), deal.id, { name: 'Очень длинное наименование услуги по проектированию и согласованию электроснабжения объекта', quantity: '1', price: '1 234 567,89', vatRate: 'none' });
    const b = await openBrowser();
    try {
      const { page } = await b.newPage({ width: 390, height: 844 });
      await signIn(page, a.url, manager.email, 'password123');
      for (const url of [`/admin/deals/${deal.id}/lines`, `/admin/deals/${deal.id}`]) {
        await page.goto(a.url + url);
        await page.locator('.line-edit summary').first().click().catch(() => {});
        const { scroll, view } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })')) as { scroll: number; view: number };
        assert.ok(scroll <= view, `${url}: the page is ${scroll} px wide on a ${view} px screen`);
        await screenshot(page, `deal-lines-390${url.replace(/[^a-z0-9]+/gi, '-')}`);
      }
    } finally {
      await b.close();
    }
  });

  test('the deal card shows its lines and totals', async () => {
    const deal = await createDeal(a.world.as(manager), { title: 'Карточка', counterpartyId: cpA });
    await addDealLine(a.world.as(manager), deal.id, { productId: montage, quantity: '1' });
    const panel = new PanelClient(a.app);
    await panel.signIn(manager.email);
    const t = plain(pageText((await panel.get(`/admin/deals/${deal.id}`)).body));
    assert.match(t, /1\. Монтаж 1 час/);
    assert.match(t, /Итого 1 500,00 ₽/);
  });
});

describe('deal lines in the Telegram bot', () => {
  const ANNA = 7001;
  let tg: FakeTelegram;
  let s: Services;
  let crm: TestCrm;
  let dealId: number;
  let productId: number;
  const say = (c: ApiCall) => plain(String(c.params.text));
  const buttonFor = (c: ApiCall, label: string | RegExp) => {
    const b = buttons(c).find(([t]) => (typeof label === 'string' ? t === label : label.test(t)));
    assert.ok(b, `no button «${label}» in ${JSON.stringify(buttons(c))}`);
    return b[1];
  };

  before(async () => {
    tg = await new FakeTelegram().start();
    s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
    const sys = s.ctx();
    const seg = await createSegment(sys, { name: 'Север' });
    const anna = await createUser(sys, { email: 'anna@lines.test', name: 'Анна', role: 'manager' });
    await setUserSegments(sys, anna.id, [seg.id]);
    const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Бот и позиции»', segmentId: seg.id });
    productId = (await s.database.db.insert(products).values({ name: 'Монтаж розеток', unit: 'шт', priceKopecks: 45_000n, vatRate: 22 }).returning())[0]!.id;
    const as = s.ctx({ kind: 'user', userId: anna.id, role: 'manager', name: anna.name, timeZone: 'Europe/Moscow' });
    dealId = (await createDeal(as, { title: 'Электрика в офисе', counterpartyId: cp.id })).id;
    for (let i = 1; i <= 11; i++) await addDealLine(as, dealId, { name: `Кабель ${i}`, quantity: '10', unit: 'м', price: '100' });
    crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
    await tg.waitFor('setMyCommands', () => true, { timeoutMs: 60_000 });
    const { code } = await createLinkCode(sys, anna.id);
    assert.match(say(await tg.ask(ANNA, `/start ${code}`)), /Telegram привязан/);
  });
  after(async () => {
    await crm?.close();
    await s?.close();
    await tg?.stop();
  });

  test('/deal shows the lines briefly with the total and VAT; «Позиции» → «Добавить позицию» adds a product with its price', async () => {
    const card = await tg.ask(ANNA, `/deal ${dealId}`);
    const t = say(card);
    assert.match(t, /Товары и услуги/);
    assert.match(t, /1\. Кабель 1 — 10 м × 100,00 ₽ = 1 000,00 ₽/);
    assert.match(t, /10\. Кабель 10/);
    assert.doesNotMatch(t, /11\. Кабель 11/);
    assert.match(t, /и ещё 1/);
    // the VAT is the sum of the lines' own: 1 000 × 22/122 = 180,33, × 11 = 1 983,63
    assert.match(t, /Итого: <b>11 000,00 ₽<\/b>, в т\. ч\. НДС 22 %: 1 983,63 ₽/);
    assert.equal(buttonFor(card, 'КП'), `ddoc:cp:${dealId}`);
    assert.equal(buttonFor(card, 'Счёт и договор'), `ddoc:inv:${dealId}`);

    const list = await tg.pressAndWait(ANNA, buttonFor(card, 'Позиции'));
    assert.match(say(list), /11\. Кабель 11/);
    assert.ok(buttons(list).some(([label]) => /^Удалить 11\./.test(label)));
    assert.match(say(await tg.pressAndWait(ANNA, buttonFor(list, 'Добавить позицию'))), /Что добавить/);
    const found = await tg.ask(ANNA, 'монтаж');
    assert.equal(buttonFor(found, /^Монтаж розеток/), `dl:prod:${dealId}:${productId}`);
    assert.match(say(await tg.pressAndWait(ANNA, `dl:prod:${dealId}:${productId}`)), /Количество\?/);
    assert.match(say(await tg.ask(ANNA, 'ноль')), /Количество — число больше нуля, например 1,5/);
    assert.match(say(await tg.ask(ANNA, '4')), /Цена за шт: 450,00 ₽ по справочнику/);
    assert.match(say(await tg.ask(ANNA, 'дёшево')), /Цена — число рублей/);
    const added = say(await tg.ask(ANNA, '+'));
    assert.match(added, /Позиция «Монтаж розеток» добавлена/);
    assert.match(added, /Итого: <b>12 800,00 ₽<\/b>/);
    assert.equal((await getDeal(s.ctx(), dealId)).amountKopecks, 1_280_000n);
    const [line] = (await listDealLines(s.ctx(), dealId)).lines.slice(-1);
    assert.deepEqual([line!.name, line!.quantity, line!.priceKopecks, line!.productId], ['Монтаж розеток', '4.000', 45_000n, productId]);

    // a free-text line, and «Удалить» from the list
    await tg.pressAndWait(ANNA, `dl:add:${dealId}`);
    assert.match(say(await tg.ask(ANNA, 'Выезд мастера')), /добавлю как есть/);
    assert.match(say(await tg.ask(ANNA, '1')), /Цена за шт в рублях/);
    assert.match(say(await tg.ask(ANNA, '1 500')), /Позиция «Выезд мастера» добавлена/);
    assert.equal((await getDeal(s.ctx(), dealId)).amountKopecks, 1_430_000n);
    const first = (await listDealLines(s.ctx(), dealId)).lines[0]!;
    assert.match(say(await tg.pressAndWait(ANNA, `dl:del:${dealId}:${first.id}`)), /Позиция «Кабель 1» удалена/);
    assert.equal((await getDeal(s.ctx(), dealId)).amountKopecks, 1_330_000n);
  });
});
