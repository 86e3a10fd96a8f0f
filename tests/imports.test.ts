import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import { openWorld, randomInn, randomOgrn, type World } from './helpers/world.js';
import { detectDelimiter, detectEncoding } from '../core/imports/read-csv.js';
import { guessMapping } from '../core/imports/fields.js';
import { getImport, listImportRows, stageImport, type ImportBatch } from '../core/imports/stage.js';
import { createFromImport } from '../core/imports/create.js';
import { queueImportFile, readQueuedImport, registerImportJobs, startImportStep } from '../core/imports/jobs.js';
import { rejectedRowsCsv } from '../core/imports/rejected.js';
import { rowProblemTexts } from '../core/imports/describe.js';
import { createCounterparty, getCounterparty, listCounterparties } from '../core/counterparties/counterparties.js';
import { createContact, listContacts } from '../core/contacts/contacts.js';
import { getHistory } from '../core/history/history.js';
import { auditLog, importBatches } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import type { User } from '../core/users/users.js';

/** R6: CSV files as Russian offices produce them land in the staging list, then become counterparties. */
let w: World;
let admin: User;
let segment: number;

before(async () => {
  w = await openWorld();
  admin = await w.user('admin', { name: 'Администратор импорта' });
  segment = await w.segment('Импорт');
});
after(() => w.close());

const file = (text: string, encoding: 'utf-8' | 'win1251' | 'utf-8-bom' = 'utf-8') =>
  Readable.from([encoding === 'win1251' ? iconv.encode(text, 'win1251') : Buffer.from((encoding === 'utf-8-bom' ? '\uFEFF' : '') + text, 'utf8')]);

const rowsOf = async (batch: ImportBatch) => {
  const rows = await listImportRows(w.as(admin), batch.id, { limit: 1000 });
  return new Map(rows.map((r) => [r.rowNo, { ...r, texts: rowProblemTexts(r) }]));
};

describe('reading the file', () => {
  test('encoding: UTF-8 with and without BOM, Windows-1251', () => {
    assert.equal(detectEncoding(Buffer.from('\uFEFFИНН;Имя', 'utf8')), 'utf-8');
    assert.equal(detectEncoding(Buffer.from('ИНН;Имя', 'utf8')), 'utf-8');
    assert.equal(detectEncoding(iconv.encode('ИНН;Наименование', 'win1251')), 'windows-1251');
    // a Cyrillic letter cut in half at the end of the sample is still UTF-8
    assert.equal(detectEncoding(Buffer.from('ИНН;Ж', 'utf8').subarray(0, -1)), 'utf-8');
  });

  test('delimiter: the most frequent of ; , tab in the header, quotes respected', () => {
    assert.equal(detectDelimiter('Наименование;ИНН;Телефон\nа;б;в'), ';');
    assert.equal(detectDelimiter('name,inn,phone'), ',');
    assert.equal(detectDelimiter('name\tinn\tphone'), '\t');
    assert.equal(detectDelimiter('"Имя; фамилия",ИНН,Телефон'), ',');
    assert.equal(detectDelimiter('Наименование'), ',');
  });

  test('columns are guessed from Russian and English headers', () => {
    assert.deepEqual(guessMapping(['Наименование', 'ИНН', 'КПП', 'ОГРН', 'Юридический адрес', 'Регион', 'Отрасль', 'Численность сотрудников', 'Уставный капитал']), [
      'name', 'inn', 'kpp', 'ogrn', 'address', 'region', 'industry', 'headcount', 'capital',
    ]);
    assert.deepEqual(guessMapping(['Company name', 'INN', 'Phone', 'E-mail', 'Contact person', 'Position', 'Notes', 'Что-то ещё']), [
      'name', 'inn', 'phones', 'emails', 'contactName', 'contactPosition', 'comment', null,
    ]);
    assert.deepEqual(guessMapping(['ФИО', 'Телефон контактного лица', 'Адрес эл. почты', 'Почтовый адрес', 'Мобильный телефон']), [
      'name', 'phones', 'emails', 'address', 'phones',
    ]);
  });
});

describe('staging list «Список клиентов для загрузки»', () => {
  test('a Windows-1251 ;-separated file: bad INN, bad phone, missing name and duplicates are marked per row', async () => {
    const existingInn = randomInn('legal_entity');
    const existing = await createCounterparty(w.system, { kind: 'legal_entity', name: 'Старый клиент', inn: existingInn });
    const contactOwner = await createCounterparty(w.system, { kind: 'legal_entity', name: 'Клиент с контактом' });
    await createContact(w.system, { name: 'Пётр', counterpartyId: contactOwner.id, emails: ['petr@old.ru'] });
    const good = randomInn('legal_entity');
    const csv = [
      'Наименование;ИНН;Телефон;E-mail;Регион',
      `ООО «Ромашка»;${good};8 (916) 123-45-67;info@romashka.ru;Москва`,
      'ООО Плохой ИНН;1234567890;;;',
      `;${randomInn('legal_entity')};;;`,
      'ООО Плохой телефон;;12345;;',
      `ООО Дубль базы;${existingInn};;;`,
      'ООО Дубль файла;;+7 916 123 45 67;;',
      'ООО Контакт;;;PETR@old.ru;',
      ';;;;',
    ].join('\r\n');
    const batch = await stageImport(w.as(admin), file(csv, 'win1251'), { kind: 'legal_entity', fileName: 'клиенты.csv' });
    assert.equal(batch.encoding, 'windows-1251');
    assert.equal(batch.delimiter, ';');
    assert.deepEqual(batch.mapping, ['name', 'inn', 'phones', 'emails', 'region']);
    assert.equal(batch.totalRows, 7, 'the line of separators only is not a row');
    assert.equal(batch.problemRows, 3);
    assert.equal(batch.duplicateRows, 3);
    const rows = await rowsOf(batch);
    assert.deepEqual(rows.get(2)!.texts, []);
    assert.equal(rows.get(2)!.name, 'ООО «Ромашка»');
    assert.deepEqual(rows.get(2)!.phones, ['+79161234567']);
    assert.deepEqual(rows.get(3)!.texts, ['ИНН: неверная контрольная сумма']);
    assert.deepEqual(rows.get(4)!.texts, ['Укажите наименование']);
    assert.match(rows.get(5)!.texts[0]!, /^Неверный номер телефона/);
    assert.deepEqual(rows.get(6)!.texts, [`Дубликат: в базе уже есть контрагент №${existing.id} с тем же ИНН`]);
    assert.deepEqual(rows.get(7)!.texts, ['Дубликат строки 2 этого файла']);
    assert.deepEqual(rows.get(8)!.texts, [`Дубликат: в базе уже есть контрагент №${contactOwner.id} с контактом с тем же e-mail`]);
    assert.equal((await listCounterparties(w.system, { text: 'Ромашка' })).items.length, 0, 'staging creates nothing');
  });

  test('UTF-8 with BOM, commas and quoted cells; tab-separated UTF-8 without BOM', async () => {
    const inn = randomInn('sole_proprietor');
    const ogrnip = randomOgrn('sole_proprietor');
    const csv = `ФИО,ИНН,ОГРНИП,Адрес,Комментарий\n"Иванов Иван Иванович",${inn},${ogrnip},"г. Москва, ул. Ленина, д. 1","сказал: ""перезвонить"""\n`;
    const batch = await stageImport(w.as(admin), file(csv, 'utf-8-bom'), { kind: 'sole_proprietor', fileName: 'ip.csv' });
    assert.equal(batch.encoding, 'utf-8');
    assert.equal(batch.delimiter, ',');
    const [row] = await listImportRows(w.as(admin), batch.id);
    assert.equal(row!.name, 'Иванов Иван Иванович', 'the BOM does not stick to the first header or cell');
    assert.equal(row!.address, 'г. Москва, ул. Ленина, д. 1');
    assert.equal(row!.comment, 'сказал: "перезвонить"');
    assert.equal(row!.ogrn, ogrnip);
    assert.equal(row!.hasProblems, false);

    const tsv = `Name\tPhone\tEmail\nПетров Пётр\t+7 903 111-22-33\tpetrov@mail.ru\n`;
    const b2 = await stageImport(w.as(admin), file(tsv), { kind: 'individual', fileName: 'people.tsv' });
    assert.equal(b2.delimiter, '\t');
    const [r2] = await listImportRows(w.as(admin), b2.id);
    assert.deepEqual([r2!.name, r2!.phones, r2!.emails], ['Петров Пётр', ['+79031112233'], ['petrov@mail.ru']]);
  });

  test('an empty or unreadable file is refused and leaves no list behind', async () => {
    const before = (await w.system.db.select({ n: sql<number>`count(*)::int` }).from(importBatches))[0]!.n;
    await assert.rejects(stageImport(w.as(admin), file(''), { kind: 'legal_entity' }), (e: unknown) => e instanceof ServiceError && e.code === 'invalid');
    await assert.rejects(stageImport(w.as(admin), file('a;b\n"x;y\n'), { kind: 'legal_entity' }), (e: unknown) => e instanceof ServiceError && e.code === 'invalid');
    // an Excel workbook uploaded as it is: said so in words a person can act on
    const xlsx = Readable.from([Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(40), Buffer.from('[Content_Types].xml')])]);
    await assert.rejects(stageImport(w.as(admin), xlsx, { kind: 'legal_entity' }), (e: unknown) => e instanceof ServiceError && /Это не CSV: похоже на файл Excel \(\.xlsx\)/.test(e.message));
    const after = (await w.system.db.select({ n: sql<number>`count(*)::int` }).from(importBatches))[0]!.n;
    assert.equal(after, before);
  });

  test('a manager may not import', async () => {
    const manager = await w.user('manager');
    await assert.rejects(stageImport(w.as(manager), file('Наименование\nООО А\n'), { kind: 'legal_entity' }), (e: unknown) => e instanceof ServiceError && e.code === 'forbidden');
  });
});

describe('creating counterparties from the list', () => {
  test('selected rows, then all valid rows: counterparties with segment, contact, history and audit; a report and a CSV of the rejected', async () => {
    const innA = randomInn('legal_entity');
    const innB = randomInn('legal_entity');
    const csv = [
      'Наименование;ИНН;Телефон;E-mail;Контактное лицо;Должность;Численность;Уставный капитал',
      `ООО Альфа;${innA};+7 495 100-00-01;alpha@a.ru;Анна Смирнова;директор;25;10 000,50`,
      `ООО Бета;${innB};+7 495 100-00-02;;;;;`,
      'ООО Гамма;1111111111;;;;;;',
      `ООО Альфа-копия;${innA};;;;;;`,
      'ООО Дельта;;+7 495 100-00-04;;;;много;',
    ].join('\n');
    const batch = await stageImport(w.as(admin), file(csv, 'win1251'), { kind: 'legal_entity', fileName: 'alpha.csv', segmentId: segment, responsibleId: admin.id });
    const rows = await rowsOf(batch);
    assert.deepEqual(rows.get(6)!.texts, ['Численность: целое число сотрудников']);

    const first = await createFromImport(w.as(admin), batch.id, [rows.get(2)!.id]);
    assert.deepEqual(first, { created: 1, skipped: 0, errors: 0 });
    const alpha = await getCounterparty(w.system, (await listImportRows(w.as(admin), batch.id, { filter: 'created' }))[0]!.counterpartyId!);
    assert.equal(alpha.name, 'ООО Альфа');
    assert.equal(alpha.inn, innA);
    assert.equal(alpha.segmentId, segment);
    assert.equal(alpha.responsibleId, admin.id);
    assert.equal(alpha.headcount, 25);
    assert.equal(alpha.capitalKopecks, 1_000_050n);
    assert.deepEqual(alpha.phones, ['+74951000001']);
    const [contact] = (await listContacts(w.system, { counterpartyId: alpha.id })).items;
    assert.deepEqual([contact!.name, contact!.position, contact!.emails], ['Анна Смирнова', 'директор', ['alpha@a.ru']]);
    const history = await getHistory(w.system, 'counterparty', alpha.id);
    assert.match(history[0]!.title, /создан загрузкой из файла «alpha.csv» \(строка 2\)/);
    assert.equal(history[0]!.actor, 'Администратор импорта');
    const audits = await w.system.db.select().from(auditLog).where(eq(auditLog.entityId, alpha.id));
    assert.ok(audits.some((a) => a.action === 'create' && a.entityType === 'counterparty' && a.actorUserId === admin.id));

    const rest = await createFromImport(w.as(admin), batch.id, 'valid');
    assert.deepEqual(rest, { created: 1, skipped: 1, errors: 2 }, 'Бета created; Альфа-копия skipped; Гамма and Дельта refused');
    const done = await getImport(w.as(admin), batch.id);
    assert.deepEqual([done.createdRows, done.skippedRows, done.errorRows, done.status], [2, 1, 2, 'ready']);

    const rejected = parse(await streamText(await rejectedRowsCsv(w.as(admin), batch.id)), { delimiter: ';', bom: true }) as string[][];
    assert.deepEqual(rejected[0]!.slice(-2), ['Строка файла', 'Причина']);
    assert.deepEqual(
      rejected.slice(1).map((r) => [r[0], r[8], r[9]]),
      [
        ['ООО Гамма', '4', 'ИНН: неверная контрольная сумма'],
        ['ООО Альфа-копия', '5', `Дубликат: в базе уже есть контрагент №${alpha.id} с тем же ИНН; Дубликат строки 2 этого файла`],
        ['ООО Дельта', '6', 'Численность: целое число сотрудников'],
      ],
    );

    // the same file again: every good row is now a duplicate of the base, nothing is doubled
    const again = await stageImport(w.as(admin), file(csv, 'win1251'), { kind: 'legal_entity', fileName: 'alpha.csv' });
    assert.deepEqual(await createFromImport(w.as(admin), again.id, 'valid'), { created: 0, skipped: 3, errors: 2 });
    assert.equal((await listCounterparties(w.system, { text: innA })).items.length, 1);
  });

  test('a duplicate created after staging is caught when the rows are created', async () => {
    const inn = randomInn('legal_entity');
    const batch = await stageImport(w.as(admin), file(`Наименование;ИНН\nООО Поздний;${inn}\n`), { kind: 'legal_entity' });
    await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Поздний (вручную)', inn });
    assert.deepEqual(await createFromImport(w.as(admin), batch.id, 'valid'), { created: 0, skipped: 1, errors: 0 });
  });

  test('changing the column mapping checks the rows again; refused once rows were created', async () => {
    const inn = randomInn('individual');
    const batch = await stageImport(w.as(admin), file(`Клиент;Номер;Примечание\nСидоров С.С.;${inn};тест\n`), { kind: 'individual' });
    assert.deepEqual(batch.mapping, ['name', null, 'comment']);
    const remapped = await startImportStep(w.as(admin), batch.id, { action: 'remap', mapping: ['name', 'inn', 'comment'] });
    assert.equal(remapped.queued, false);
    const [row] = await listImportRows(w.as(admin), batch.id);
    assert.equal(row!.inn, inn);
    await assert.rejects(
      startImportStep(w.as(admin), batch.id, { action: 'remap', mapping: ['inn', 'inn', null] }),
      (e: unknown) => e instanceof ServiceError && e.code === 'invalid',
    );
    await startImportStep(w.as(admin), batch.id, { action: 'create', selection: 'valid' });
    await assert.rejects(
      startImportStep(w.as(admin), batch.id, { action: 'remap', mapping: ['name', null, null] }),
      (e: unknown) => e instanceof ServiceError && e.code === 'conflict',
    );
  });

  // before the worker of the next test starts: here the job is run by hand, as the worker would
  test('a file queued for the worker: the header is checked at once, the rows are read by the job, the file removed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'crm-import-queue-'));
    try {
      const save = (name: string, data: Buffer | string) => {
        const f = path.join(dir, name);
        writeFileSync(f, data);
        return f;
      };
      // not a client list: refused within the request, no list opened
      const empty = save('empty.csv', '');
      await assert.rejects(queueImportFile(w.as(admin), empty, { kind: 'legal_entity', fileName: 'empty.csv' }), (e) => e instanceof ServiceError && /пуст/.test(e.message));
      const lines = ['Наименование;ИНН;Телефон'];
      for (let i = 0; i < 1500; i++) lines.push(`ООО Очередь ${i};${i === 3 ? '1234567890' : randomInn('legal_entity')};+7 914 ${String(4000000 + i)}`);
      const good = save('queued.csv', iconv.encode(lines.join('\r\n'), 'win1251'));
      const batch = await queueImportFile(w.as(admin), good, { kind: 'legal_entity', fileName: 'queued.csv', segmentId: segment });
      assert.deepEqual([batch.status, batch.encoding, batch.delimiter, batch.headers.length], ['staging', 'windows-1251', ';', 3]);
      assert.equal((await w.system.jobs.getJob(`import-read-${batch.id}`, 'imports.read'))?.status, 'waiting', 'the reading is queued');
      const job = { data: { batchId: batch.id, file: good, userId: admin.id } };
      // a first attempt died half-way (rows of it are left); the job's next attempt starts over
      await w.database.rows(sql`INSERT INTO import_rows (batch_id, row_no, raw, name, phones, emails, problems, has_problems)
        VALUES (${batch.id}, 2, '{}', 'остаток', '{}', '{}', '{}', false)`);
      const progress: number[] = [];
      await readQueuedImport(w.as(admin), job.data, (p) => p.label === 'Чтение файла' && progress.push(p.done));
      const read = await getImport(w.as(admin), batch.id);
      assert.deepEqual([read.status, read.totalRows, read.problemRows], ['ready', 1500, 1]);
      assert.ok(progress.length > 0 && progress.at(-1) === 1500, 'reading reported its progress');
      assert.equal(existsSync(good), false, 'the uploaded file is removed once read');
      // run again (a duplicate delivery of the job): the list is left as it is
      await readQueuedImport(w.as(admin), job.data);
      assert.equal((await getImport(w.as(admin), batch.id)).totalRows, 1500);

      // a file that breaks half-way marks its list failed, with the reason, for the page to show
      const broken = save('broken.csv', Buffer.concat([Buffer.from('Наименование;ИНН\nООО Раз;\n'), Buffer.from(`ООО Два;"${'x'.repeat(2 * 1024 * 1024)}`)]));
      const bad = await queueImportFile(w.as(admin), broken, { kind: 'legal_entity', fileName: 'broken.csv' });
      await assert.rejects(readQueuedImport(w.as(admin), { batchId: bad.id, file: broken, userId: admin.id }));
      const failed = await getImport(w.as(admin), bad.id);
      assert.equal(failed.status, 'failed');
      assert.ok(failed.lastError, 'the reason is kept');
      assert.equal(existsSync(broken), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a big list is created by a job on the worker, with progress, ending in a report', async () => {
    const lines = ['Наименование;ИНН;Телефон'];
    for (let i = 0; i < 3000; i++) lines.push(`ООО Массовый ${i};${i % 100 === 7 ? '1234567890' : randomInn('legal_entity')};+7 912 ${String(3000000 + i)}`);
    const batch = await stageImport(w.as(admin), file(lines.join('\n'), 'win1251'), { kind: 'legal_entity', fileName: 'big.csv' });
    assert.equal(batch.totalRows, 3000);
    const seen = new Set<string>();
    registerImportJobs(w.system.jobs, (actor) => w.ctx(actor));
    const started = await startImportStep(w.as(admin), batch.id, { action: 'create', selection: 'valid' }, { inlineRows: 500 });
    assert.deepEqual(started, { queued: true, report: null });
    const queued = await getImport(w.as(admin), batch.id);
    assert.equal(queued.status, 'working');
    // the page shows where it stands from the start: nothing done yet, out of 3000
    seen.add(`${queued.progressDone}/${queued.progressTotal}`);
    await w.system.jobs.start();
    const deadline = Date.now() + 60_000;
    let b = await getImport(w.as(admin), batch.id);
    while (b.status === 'working' && Date.now() < deadline) {
      if (b.progressTotal) seen.add(`${b.progressDone}/${b.progressTotal}`);
      await new Promise((r) => setTimeout(r, 50));
      b = await getImport(w.as(admin), batch.id);
    }
    assert.equal(b.status, 'ready', b.lastError ?? undefined);
    assert.deepEqual([b.createdRows, b.skippedRows, b.errorRows], [2970, 0, 30]);
    assert.ok(seen.has('0/3000'), 'the batch showed its progress out of 3000 before the worker took it');
    const [count] = await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM counterparties WHERE name LIKE 'ООО Массовый %'`);
    assert.equal(Number(count!.n), 2970);
  });

});
