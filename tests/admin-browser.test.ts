import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp, type BrowserSession } from './helpers/browser.js';
import { randomInn, randomOgrn } from './helpers/world.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { createDeal } from '../core/deals/deals.js';
import type { User } from '../core/users/users.js';

/**
 * The admin panel in headless Chromium (Debian's, driven by playwright-core), against the real
 * app listening on loopback: signing in, the client base and segmentation, access by segment,
 * and the CSRF refusal — as a person at the keyboard would meet them.
 */
let a: AdminApp;
let b: BrowserSession;
let admin: User, head: User, manager: User;
let segRetail: number, segWholesale: number;

before(async () => {
  a = await openAdminApp();
  b = await openBrowser();
  segRetail = await a.world.segment('Розница');
  segWholesale = await a.world.segment('Опт');
  admin = await a.world.user('admin', { name: 'Анна Админова' });
  head = await a.world.user('head', { name: 'Глеб Руководителев' });
  manager = await a.world.user('manager', { name: 'Мария Менеджерова', segments: [segRetail] });
  for (let i = 1; i <= 3; i++) {
    await createCounterparty(a.world.system, { kind: 'legal_entity', name: `ООО Казанский завод ${i}`, region: 'Татарстан', headcount: 100 * i, inn: randomInn('legal_entity') });
  }
  await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Московский магазин', region: 'Москва', segmentId: segRetail, inn: randomInn('legal_entity') });
  await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Оптовая база', region: 'Москва', segmentId: segWholesale, inn: randomInn('legal_entity') });
});
after(async () => {
  await b?.close();
  await a?.close();
});

describe('in the browser', () => {
  test('sign in: a wrong password is refused, the right one opens the panel; logout', async () => {
    const { page, context } = await b.newPage();
    await page.goto(`${a.url}/admin`);
    assert.match(page.url(), /\/admin\/login\?next=%2Fadmin$/);
    await page.fill('input[name=email]', admin.email);
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    assert.equal(await page.locator('.alert.error').innerText(), 'Неверный e-mail или пароль');
    await screenshot(page, 'login-error');
    await page.fill('input[name=password]', 'password123');
    await Promise.all([page.waitForURL(`${a.url}/admin`), page.click('button[type=submit]')]);
    assert.match(await page.locator('h1').innerText(), /Здравствуйте, Анна Админова/);
    const session = (await context.cookies()).find((c) => c.name === 'crm_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    await Promise.all([page.waitForURL(/\/admin\/login$/), page.click('header button:has-text("Выйти")')]);
    await page.goto(`${a.url}/admin/counterparties`);
    assert.match(page.url(), /\/admin\/login/);
    await context.close();
  });

  test('create a counterparty of each kind; a bad INN is shown as you type and refused on save', async () => {
    const { page, context } = await b.newPage();
    await signIn(page, a.url, admin.email, 'password123');
    const cases = [
      { kind: 'legal_entity', name: 'ООО «Новый клиент»', inn: randomInn('legal_entity'), ogrn: randomOgrn('legal_entity'), kpp: '770101001' },
      { kind: 'individual', name: 'Сидоров Семён Семёнович', inn: randomInn('individual') },
      { kind: 'sole_proprietor', name: 'ИП Кузнецова Е.А.', inn: randomInn('sole_proprietor'), ogrn: randomOgrn('sole_proprietor') },
    ] as const;
    // each with its own phone and e-mail: a repeated one is shown as a possible duplicate before saving
    for (const [i, c] of cases.entries()) {
      await page.goto(`${a.url}/admin/counterparties/new`);
      await page.check(`input[name=kind][value=${c.kind}]`);
      assert.equal(await page.locator('[name=kpp]').isVisible(), c.kind === 'legal_entity', 'KPP only for a legal entity');
      assert.equal(await page.locator('[name=ogrn]').isVisible(), c.kind !== 'individual', 'no OGRN for an individual');
      await page.fill('[name=name]', c.name);
      // one digit off: the checksum fails, and the page says so before anything is sent
      const badInn = c.inn.slice(0, -1) + String((Number(c.inn.at(-1)) + 1) % 10);
      await page.fill('[name=inn]', badInn);
      await page.locator('[data-hint-for=inn].bad').waitFor();
      assert.equal(await page.locator('[data-hint-for=inn]').innerText(), 'ИНН: неверная контрольная сумма');
      await page.click('button:has-text("Сохранить")');
      assert.equal(await page.locator('[data-error-for=inn]').innerText(), 'ИНН: неверная контрольная сумма');
      assert.match(await page.locator('.alert.error').innerText(), /не сохранён/);
      if (c.kind === 'legal_entity') await screenshot(page, 'counterparty-inn-error');
      await page.fill('[name=inn]', c.inn);
      await page.locator('[data-hint-for=inn].ok').waitFor();
      if ('ogrn' in c) await page.fill('[name=ogrn]', c.ogrn);
      if ('kpp' in c) await page.fill('[name=kpp]', c.kpp);
      await page.fill('[name=phones]', `8 (916) 555-44-3${i}`);
      await page.fill('[name=emails]', `Client${i}@Example.ru`);
      await page.selectOption('[name=segmentId]', String(segRetail));
      await Promise.all([page.waitForURL(/\/admin\/counterparties\/\d+$/), page.click('button:has-text("Сохранить")')]);
      assert.equal(await page.locator('h1').innerText(), c.name);
      const card = await page.locator('.card dl').innerText();
      assert.match(card, new RegExp(c.inn));
      assert.match(card, new RegExp(`\\+7 916 555 44 3${i}`));
      assert.match(card, new RegExp(`client${i}@example\\.ru`));
      const [row] = await a.world.database.rows<{ kind: string; ogrn: string | null }>(sql`SELECT kind, ogrn FROM counterparties WHERE name = ${c.name}`);
      assert.equal(row!.kind, c.kind);
      assert.equal(row!.ogrn, 'ogrn' in c ? c.ogrn : null);
    }
    await screenshot(page, 'counterparty-card');
    await context.close();
  });

  test('filter the client base and assign a segment to all that match, with the count shown before confirming', async () => {
    const { page, context } = await b.newPage();
    await signIn(page, a.url, head.email, 'password123');
    await page.goto(`${a.url}/admin/counterparties`);
    await page.fill('[name=region]', 'Татарстан');
    await page.click('summary:has-text("Ещё фильтры")');
    await page.fill('[name=headcountMin]', '150');
    await page.click('button:has-text("Найти")');
    const names = await page.locator('table.list tbody tr td:nth-child(2)').allInnerTexts();
    assert.deepEqual(names.sort(), ['ООО Казанский завод 2', 'ООО Казанский завод 3']);
    await page.selectOption('[name=segmentId_assign]', String(segWholesale));
    await page.click('button:has-text("Всем по фильтру")');
    const count = await page.locator('[data-testid=assign-count]').innerText();
    assert.match(count, /Сегмент «Опт» будет назначен 2 контрагентам \(всем, кто подходит под фильтр\)/);
    assert.match(await page.locator('main').innerText(), /Фильтр: численность 150–∞, регион «Татарстан»/);
    await screenshot(page, 'assign-segment-confirm');
    const before = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM counterparties WHERE segment_id = ${segWholesale}`);
    assert.equal(Number(before[0]!.n), 1, 'nothing changes before confirming');
    await page.click('button:has-text("Подтвердить")');
    assert.match(await page.locator('.flash.ok').innerText(), /Сегмент назначен: 2/);
    const rows = await a.world.database.rows<{ name: string }>(sql`SELECT name FROM counterparties WHERE segment_id = ${segWholesale} ORDER BY name`);
    assert.deepEqual(rows.map((r) => r.name), ['ООО Казанский завод 2', 'ООО Казанский завод 3', 'ООО Оптовая база']);

    // the selected rows only
    await page.goto(`${a.url}/admin/counterparties?text=Казанский`);
    await page.locator('table.list tbody tr', { hasText: 'ООО Казанский завод 1' }).locator('input[name=ids]').check();
    await page.selectOption('[name=segmentId_assign]', String(segRetail));
    await page.click('button:has-text("Выбранным")');
    assert.match(await page.locator('[data-testid=assign-count]').innerText(), /Сегмент «Розница» будет назначен 1 контрагенту \(отмеченным в списке\)/);
    await page.click('button:has-text("Подтвердить")');
    assert.match(await page.locator('.flash.ok').innerText(), /Сегмент назначен: 1/);
    const [one] = await a.world.database.rows<{ segment_id: number }>(sql`SELECT segment_id FROM counterparties WHERE name = 'ООО Казанский завод 1'`);
    assert.equal(Number(one!.segment_id), segRetail);
    await context.close();
  });

  test('a manager sees only the counterparties of their segments', async () => {
    const { page, context } = await b.newPage();
    await signIn(page, a.url, manager.email, 'password123');
    await page.goto(`${a.url}/admin/counterparties`);
    const names = await page.locator('table.list tbody tr td:first-child').allInnerTexts();
    assert.ok(names.includes('ООО Московский магазин'));
    assert.ok(!names.includes('ООО Оптовая база'), 'another segment is not listed');
    assert.ok(!(await page.locator('nav.side').innerText()).includes('Пользователи'), 'no reference books of the admin in the menu');
    assert.equal(await page.locator('text=Назначить сегмент рынка').count(), 0);
    const [other] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM counterparties WHERE name = 'ООО Оптовая база'`);
    const res = await page.goto(`${a.url}/admin/counterparties/${other!.id}`);
    assert.equal(res!.status(), 403);
    assert.match(await page.locator('main').innerText(), /Этот контрагент не в ваших сегментах/);
    await page.goto(`${a.url}/admin/counterparties?text=Оптовая`);
    assert.match(await page.locator('main').innerText(), /Ничего не найдено/);
    const users = await page.goto(`${a.url}/admin/users`);
    assert.equal(users!.status(), 403);
    await context.close();
  });

  test('a form posted without the CSRF token is refused with 403 and changes nothing', async () => {
    const { page, context } = await b.newPage();
    await signIn(page, a.url, admin.email, 'password123');
    await page.goto(`${a.url}/admin/segments`);
    await page.fill('#s-name', 'Сегмент без токена');
    // a page on another site would post the same form without the token
    await page.evaluate(`document.querySelectorAll('form[action="/admin/segments"] input[name=_csrf]').forEach((i) => i.remove())`);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/admin/segments') && r.request().method() === 'POST'), page.click('button:has-text("Добавить")')]);
    assert.equal(response.status(), 403);
    assert.match(await page.locator('main').innerText(), /CSRF/);
    const [row] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM segments WHERE name = 'Сегмент без токена'`);
    assert.equal(Number(row!.n), 0);
    // the same form with its token works
    await page.goto(`${a.url}/admin/segments`);
    await page.fill('#s-name', 'Сегмент с токеном');
    await page.click('button:has-text("Добавить")');
    assert.match(await page.locator('.flash.ok').innerText(), /Сегмент «Сегмент с токеном» добавлен/);
    await context.close();
  });

  test('every main page fits a phone screen: the page never scrolls sideways (wide tables scroll in their frame)', async () => {
    const { page, context } = await b.newPage({ width: 390, height: 844 });
    await signIn(page, a.url, admin.email, 'password123');
    const [cp] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM counterparties ORDER BY id LIMIT 1`);
    const contact = await createContact(a.world.system, {
      name: 'Анна Контактова',
      counterpartyId: cp!.id,
      phones: ['+7 916 111-22-33', '8 (495) 123-45-67 доб. 1234'],
      emails: ['anna.kontaktova.zakupki@client-company-with-long-name.ru'],
    });
    const lead = await createLead(a.world.system, { title: 'Запрос цены на поставку оборудования для склада', source: 'manual', counterpartyId: cp!.id, contactId: contact.id });
    const deal = await createDeal(a.world.system, { title: 'Поставка оборудования для склада', amount: '1250000', counterpartyId: cp!.id, contactId: contact.id });
    const pages = [
      `/admin/leads/${lead.id}`, `/admin/deals/${deal.id}`, '/admin/deals/board', '/admin/deals/new',
      '/admin', '/admin/counterparties', `/admin/counterparties/${cp!.id}`, `/admin/counterparties/${cp!.id}?tab=history`, '/admin/counterparties/new',
      '/admin/contacts', `/admin/contacts/${contact.id}`, `/admin/counterparties/${cp!.id}?tab=works`, '/admin/mailing-types', '/admin/leads', '/admin/leads/new', '/admin/deals', '/admin/works', '/admin/plan', '/admin/plans',
      '/admin/imports', '/admin/segments', '/admin/managers', '/admin/actions', '/admin/stages', '/admin/campaigns', '/admin/lead-sources',
      '/admin/users', '/admin/api-keys', '/admin/integrations', '/admin/mailboxes', '/admin/mailouts', '/admin/mail/write', '/admin/account',
    ];
    // the main lists stack their rows on a phone: not even their frame scrolls sideways
    const lists = new Set(['/admin/counterparties', '/admin/contacts', '/admin/leads']);
    const wide: string[] = [];
    for (const url of pages) {
      const res = await page.goto(`${a.url}${url}`);
      assert.equal(res?.status(), 200, url);
      const { scroll, view, frames } = (await page.evaluate(
        `({ scroll: document.documentElement.scrollWidth, view: window.innerWidth,
            frames: [...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth) })`,
      )) as { scroll: number; view: number; frames: number[] };
      if (scroll > view) wide.push(`${url}: ${scroll}px`);
      if (lists.has(url) && frames.some((d) => d > 0)) wide.push(`${url}: the table scrolls by ${Math.max(...frames)}px`);
    }
    await page.goto(`${a.url}/admin/counterparties`);
    await screenshot(page, 'phone-counterparties');
    assert.deepEqual(wide, [], 'pages wider than a 390 px phone');
    // a phone on a phone is a link to call, the extension dialled after a pause
    await page.goto(`${a.url}/admin/contacts`);
    assert.equal(await page.locator('a[href="tel:+74951234567,1234"]').innerText(), '+7 495 123 45 67 доб. 1234');
    assert.equal(await page.locator('a[href^="mailto:anna.kontaktova"]').count(), 1);
    await context.close();
  });
});
