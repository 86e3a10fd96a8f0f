import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp, type BrowserSession } from './helpers/browser.js';
import { randomInn } from './helpers/world.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createMailingType } from '../core/mailing/mailing-types.js';
import type { User } from '../core/users/users.js';

/**
 * R6 and R19 in headless Chromium: a Windows-1251 file from Russian Excel is uploaded, reviewed
 * in «Список клиентов для загрузки» and created with a report; a big file goes through the
 * worker with a progress bar; contacts get a mailing type and the list is downloaded as .xlsx.
 */
let a: AdminApp;
let b: BrowserSession;
let head: User;
let segment: number;
const existingInn = randomInn('legal_entity');

before(async () => {
  // a file over 20 KB is read, and a step on more than 1000 rows runs, by the worker, as a 100,000-row file would
  a = await openAdminApp({ admin: { inlineImportRows: 1000, inlineImportBytes: 20_000 } });
  b = await openBrowser();
  head = await a.world.user('head', { name: 'Глеб Руководителев' });
  segment = await a.world.segment('Новые клиенты');
  const old = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Старый клиент', inn: existingInn, region: 'Москва' });
  await createContact(a.world.system, { name: 'Старый Контакт', counterpartyId: old.id, emails: ['old@client.ru'] });
  await createContact(a.world.system, { name: 'Частное лицо', emails: ['private@mail.ru'] });
});
after(async () => {
  await b?.close();
  await a?.close();
});

describe('importing clients and mailing lists in the browser', () => {
  test('a Windows-1251 ;-separated file with bad and duplicate rows: staging list, creation, report and rejected rows', async () => {
    const good1 = randomInn('legal_entity');
    const good2 = randomInn('legal_entity');
    const csv = [
      'Наименование;ИНН;Телефон;E-mail;Контактное лицо;Регион',
      `ООО «Альфа»;${good1};8 (495) 111-22-33;info@alfa.ru;Алексей Альфов;Москва`,
      `ООО «Бета»;${good2};+7 495 222-33-44;info@beta.ru;Борис Бетов;Москва`,
      'ООО «Гамма»;7700000001;;;;Москва',
      `;${randomInn('legal_entity')};;;;`,
      `ООО «Дубль базы»;${existingInn};;;;Москва`,
      'ООО «Дубль файла»;;+7 (495) 111-22-33;;;Москва',
      'ООО «Плохой телефон»;;12-34;;;Москва',
    ].join('\r\n');
    const { page, context } = await b.newPage();
    page.on('dialog', (d) => void d.accept());
    await signIn(page, a.url, head.email, 'password123');
    await page.goto(`${a.url}/admin/imports`);
    await page.selectOption('[name=kind]', 'legal_entity');
    await page.selectOption('[name=segmentId]', String(segment));
    await page.setInputFiles('input[type=file]', { name: 'клиенты.csv', mimeType: 'text/csv', buffer: iconv.encode(csv, 'win1251') });
    await Promise.all([page.waitForURL(/\/admin\/imports\/\d+$/), page.click('button:has-text("Прочитать файл")')]);
    assert.equal(await page.locator('.flash.ok').innerText(), 'Файл прочитан: строк 7, с ошибками 3, дубликатов 2');
    assert.match(await page.locator('main').innerText(), /кодировка Windows-1251 · разделитель: точка с запятой/);
    const problems = async (rowNo: number) => page.locator(`tr[data-row="${rowNo}"] ul.problems`).innerText().catch(() => '');
    assert.equal(await problems(2), '');
    assert.equal(await problems(4), 'ИНН: неверная контрольная сумма');
    assert.equal(await problems(5), 'Укажите наименование');
    assert.match(await problems(6), /^Дубликат: в базе уже есть контрагент №\d+ с тем же ИНН$/);
    assert.equal(await problems(7), 'Дубликат строки 2 этого файла');
    assert.match(await problems(8), /^Неверный номер телефона/);
    await screenshot(page, 'import-staging');
    // on a phone the list fits the screen, and each row's problems are in view beside its name
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the staging list fits a phone');
    assert.ok(await page.locator('tr[data-row="4"] ul.problems').isVisible());
    const box = await page.locator('tr[data-row="4"] ul.problems').boundingBox();
    assert.ok(box && box.x < 300, `the row's problems start on screen (${JSON.stringify(box)})`);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.click('button:has-text("Создать все корректные (2)")');
    await page.locator('[data-testid=import-report]').waitFor();
    const report = await page.locator('[data-testid=import-report]').innerText();
    assert.match(report, /2\s+создано контрагентов/);
    assert.match(report, /2\s+пропущено \(дубликаты\)/);
    assert.match(report, /3\s+ошибок/);
    assert.match(await page.locator('.flash.ok').innerText(), /создано 2, пропущено дубликатов 2, строк с ошибками 3/);
    await screenshot(page, 'import-report');
    const created = await a.world.database.rows<{ name: string; segment_id: number; phones: string[] }>(
      sql`SELECT name, segment_id, phones FROM counterparties WHERE inn IN (${good1}, ${good2}) ORDER BY name`,
    );
    assert.deepEqual(created.map((c) => [c.name, Number(c.segment_id), c.phones]), [
      ['ООО «Альфа»', segment, ['+74951112233']],
      ['ООО «Бета»', segment, ['+74952223344']],
    ]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a:has-text("Скачать отклонённые строки")')]);
    const rejected = parse(readFileSync((await download.path())!), { delimiter: ';', bom: true }) as string[][];
    assert.deepEqual(rejected[0], ['Наименование', 'ИНН', 'Телефон', 'E-mail', 'Контактное лицо', 'Регион', 'Строка файла', 'Причина']);
    assert.deepEqual(rejected.slice(1).map((r) => [r[0], r[6]]), [
      ['ООО «Гамма»', '4'],
      ['', '5'],
      ['ООО «Дубль базы»', '6'],
      ['ООО «Дубль файла»', '7'],
      ['ООО «Плохой телефон»', '8'],
    ]);
    await context.close();
  });

  test('a big file is read and created by the worker while the page shows a progress bar, then the report', async () => {
    const lines = ['Name;INN;Phone'];
    for (let i = 0; i < 2500; i++) lines.push(`ООО Поток ${i};${i % 500 === 1 ? '1234567890' : randomInn('legal_entity')};+7 913 ${String(2000000 + i)}`);
    const { page, context } = await b.newPage();
    page.on('dialog', (d) => void d.accept());
    await signIn(page, a.url, head.email, 'password123');
    await page.goto(`${a.url}/admin/imports`);
    await page.setInputFiles('input[type=file]', { name: 'big.csv', mimeType: 'text/csv', buffer: iconv.encode(lines.join('\n'), 'win1251') });
    await Promise.all([page.waitForURL(/\/admin\/imports\/\d+$/), page.click('button:has-text("Прочитать файл")')]);
    // the request only checked the header: the rows wait for the worker, and the page says so
    assert.match(await page.locator('.flash.ok').innerText(), /Файл принят: строки читаются и проверяются в фоне/);
    assert.equal(await page.locator('progress').count(), 1, 'the progress bar is on the page');
    assert.match(await page.locator('[data-progress-label]').innerText(), /Чтение файла: ждёт своей очереди/);
    assert.ok(await page.locator('button:has-text("Создать все корректные")').isDisabled(), 'nothing to create before the file is read');
    await a.startWorker();
    // the page polls the state and reloads itself when the file has been read
    await page.locator('button:has-text("Создать все корректные (2")').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('progress').count(), 0);
    assert.match(await page.locator('.stats').first().innerText(), /2\s?500\s+строк в файле[\s\S]*5\s+с ошибками/);
    await page.click('button:has-text("Создать все корректные")');
    assert.match(await page.locator('.flash.ok').innerText(), /Загрузка идёт в фоне/);
    await screenshot(page, 'import-progress');
    await page.locator('[data-testid=import-report]').waitFor({ timeout: 60_000 });
    const report = await page.locator('[data-testid=import-report]').innerText();
    assert.match(report, /2\s?495\s+создано контрагентов/);
    assert.match(report, /5\s+ошибок/);
    assert.equal(await page.locator('progress').count(), 0);
    // the uploaded file was removed once read
    assert.deepEqual(readdirSync(path.join(a.services.config.DATA_DIR, 'imports')), []);
    await context.close();
  });

  test('assign a mailing type to the filtered contacts and download the list as .xlsx', async () => {
    const type = await createMailingType(a.world.system, { name: 'Новости для юрлиц' });
    const { page, context } = await b.newPage();
    await signIn(page, a.url, head.email, 'password123');
    await page.goto(`${a.url}/admin/contacts`);
    await page.selectOption('[name=counterpartyKind]', 'legal_entity');
    await page.click('button:has-text("Найти")');
    const names = await page.locator('table.list tbody tr td:nth-child(2)').allInnerTexts();
    assert.ok(!names.includes('Частное лицо'), 'a contact without a legal entity is filtered out');
    await page.selectOption('[name=mailingTypeId]', String(type.id));
    await page.click('button:has-text("Всем по фильтру")');
    assert.match(await page.locator('[data-testid=assign-count]').innerText(), /Тип рассылки «Новости для юрлиц» будет назначен 3 контактам/);
    await page.click('button:has-text("Подтвердить")');
    assert.match(await page.locator('.flash.ok').innerText(), /добавлено контактов 3/);
    await page.goto(`${a.url}/admin/mailing-types/${type.id}`);
    assert.match(await page.locator('h1 + .badge').innerText(), /3 контакта/);
    await screenshot(page, 'mailing-type');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.export-form button:has-text("Выгрузить в Excel")')]);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile((await download.path())!);
    const sheet = book.worksheets[0]!;
    const rows: string[][] = [];
    sheet.eachRow((row) => rows.push(Array.from(row.values as unknown[]).slice(1).map((v) => (v == null ? '' : String(v)))));
    assert.deepEqual(rows[0]!.slice(0, 5), ['№ контакта', 'ФИО', 'Должность', 'E-mail', 'Телефон']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[1], r[3], r[6]]).sort(),
      [
        ['Алексей Альфов', 'info@alfa.ru', 'ООО «Альфа»'],
        ['Борис Бетов', 'info@beta.ru', 'ООО «Бета»'],
        ['Старый Контакт', 'old@client.ru', 'ООО Старый клиент'],
      ],
    );
    await context.close();
  });
});
