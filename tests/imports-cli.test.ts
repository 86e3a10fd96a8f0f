import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { createEmptyPostgresDatabase } from './helpers/db.js';
import { runCrm } from './helpers/cli.js';
import { randomInn } from './helpers/world.js';

/** `crm import:counterparties FILE --kind … [--create-valid]`: the import of the admin panel from a terminal. */
let dir: string;
let env: NodeJS.ProcessEnv;
let dropDb: (() => Promise<void>) | undefined;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'crm-import-cli-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn', SECRET_KEY: 'cli-test-secret-key-cli-test-secret-key' };
  if (process.env.TEST_DATABASE_URL) {
    const db = await createEmptyPostgresDatabase(process.env.TEST_DATABASE_URL);
    env.DATABASE_URL = db.url;
    dropDb = db.drop;
  }
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropDb?.();
});

const crm = (args: string[]) => runCrm(args, { env, cwd: dir });

describe('crm import:counterparties', () => {
  test('without a file or kind it explains itself', async () => {
    const r = await crm(['import:counterparties']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /укажите один CSV-файл/);
  });

  test('a Windows-1251 file: progress on stderr, the report on stdout, the rejected rows beside the file', async () => {
    const inn = randomInn('legal_entity');
    const csv = [
      'Наименование;ИНН;Телефон',
      `ООО «Терминал»;${inn};+7 495 000-11-22`,
      'ООО «Без ИНН»;;+7 495 000-11-23',
      'ООО «Кривой ИНН»;1234567890;',
      `ООО «Повтор»;${inn};`,
    ].join('\r\n');
    const file = path.join(dir, 'клиенты.csv');
    writeFileSync(file, iconv.encode(csv, 'win1251'));
    const r = await crm(['import:counterparties', file, '--kind', 'legal_entity', '--create-valid']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Чтение файла\s+\[#+\] 100%/);
    assert.match(r.stderr, /Создание контрагентов\s+\[#+\] 100%/);
    assert.match(r.stdout, /\(windows-1251, разделитель «;»\)/);
    assert.match(r.stdout, /Строк: 4; с ошибками: 1; дубликатов: 1/);
    assert.match(r.stdout, /Создано: 2; пропущено \(дубликаты\): 1; ошибок: 1/);
    assert.match(r.stdout, /Список загрузки №1: http:\/\/127\.0\.0\.1:3000\/admin\/imports\/1/);
    const rejectedFile = path.join(dir, 'клиенты.rejected.csv');
    assert.ok(existsSync(rejectedFile));
    const rejected = parse(readFileSync(rejectedFile), { delimiter: ';', bom: true }) as string[][];
    assert.deepEqual(rejected.slice(1).map((x) => [x[0], x[3]]), [
      ['ООО «Кривой ИНН»', '4'],
      ['ООО «Повтор»', '5'],
    ]);

    // staging only: the list waits in the panel
    const again = await crm(['import:counterparties', file, '--kind', 'legal_entity']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Строк: 4; с ошибками: 1; дубликатов: 3/);
    assert.match(again.stdout, /Контрагенты не созданы/);
  });
});
