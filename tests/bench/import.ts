/**
 * `npm run bench:import` — the CSV import at scale, through the same code path as the admin panel
 * and `crm import:counterparties`: a generated 1,000,000-row Windows-1251 `;` file (as Russian
 * Excel saves it) is staged, checked, de-duplicated and created on the configured database
 * (DATABASE_URL, or PGlite in a temporary folder). It prints rows per second and the peak memory,
 * then times PostgreSQL's own COPY of the same file into a scratch table, so the ratio can be read.
 *
 * BENCH_ROWS=N changes the size. The run adds counterparties: it refuses a database that already
 * has some (set BENCH_ALLOW_NONEMPTY=1 to run anyway) — point DATABASE_URL at a scratch database.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { config as loadDotenv } from 'dotenv';
import { openDatabase } from '../../core/db/client.js';
import { migrate } from '../../core/db/migrate.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { systemActor, systemClock, type ServiceContext } from '../../core/context.js';
import { importCounterpartiesFile } from '../../core/imports/run-file.js';

loadDotenv({ quiet: true });
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const databaseUrl = process.env.DATABASE_URL;
const work = mkdtempSync(path.join(os.tmpdir(), 'crm-bench-import-'));
const file = path.join(work, 'clients.csv');
const fmt = (n: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(n);
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MB`;

/** A valid 10-digit INN from a serial number, so every generated one is distinct. */
function innFor(i: number): string {
  const d = `7${String(i).padStart(8, '0')}`.split('').map(Number);
  const w = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  d.push((w.reduce((s, x, k) => s + x * d[k]!, 0) % 11) % 10);
  return d.join('');
}

const regions = ['Москва', 'Санкт-Петербург', 'Татарстан', 'Свердловская область', 'Краснодарский край', 'Новосибирская область'];
const industries = ['Розничная торговля', 'Строительство', 'IT и связь', 'Логистика', 'Производство', 'Общепит'];

/** ~1% rows with a bad INN, ~0.5% repeating an earlier row's phone: the import has work to do. */
async function generate(): Promise<void> {
  const out = createWriteStream(file);
  const write = async (s: string) => {
    if (!out.write(iconv.encode(s, 'win1251'))) await once(out, 'drain');
  };
  await write('Наименование;ИНН;КПП;Телефон;E-mail;Регион;Отрасль;Численность\r\n');
  let buf = '';
  for (let i = 1; i <= rows; i++) {
    const inn = i % 100 === 13 ? '1234567890' : innFor(i);
    const phoneNo = i % 200 === 17 ? i - 1 : i;
    const phone = `+7 9${String(10 + (phoneNo % 90)).padStart(2, '0')} ${String(Math.floor(phoneNo / 90)).padStart(7, '0')}`;
    buf += `ООО «Бенч ${i}»;${inn};770101001;${phone};client${i}@bench.ru;${regions[i % regions.length]};${industries[i % industries.length]};${(i % 500) + 1}\r\n`;
    if (i % 5000 === 0) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  out.end();
  await once(out, 'finish');
}

async function main() {
  process.stderr.write(`Generating ${fmt(rows)} rows…\n`);
  let t = performance.now();
  await generate();
  const genSeconds = (performance.now() - t) / 1000;
  const bytes = statSync(file).size;

  const database = await openDatabase({ databaseUrl, dataDir: path.join(work, 'data') });
  await migrate(database);
  const [existing] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM counterparties`);
  if (Number(existing!.n) > 0 && process.env.BENCH_ALLOW_NONEMPTY !== '1') {
    await database.close();
    throw new Error(`the database already has ${existing!.n} counterparties: run the benchmark on a scratch database (or set BENCH_ALLOW_NONEMPTY=1)`);
  }
  const log = pino({ level: 'silent' });
  const jobs = new EmbeddedQueue(database, { log });
  const ctx: ServiceContext = { db: database.db, actor: systemActor('bench'), clock: systemClock, jobs, log, timeZone: 'Europe/Moscow' };

  const phases = new Map<string, number>();
  let lastDraw = 0;
  t = performance.now();
  let phase = 'Чтение файла';
  let phaseStart = t;
  const result = await importCounterpartiesFile(ctx, {
    file,
    kind: 'legal_entity',
    createValid: true,
    onProgress: (p) => {
      const now = performance.now();
      if (p.label !== phase) {
        if (phase) phases.set(phase, (phases.get(phase) ?? 0) + (now - phaseStart) / 1000);
        phase = p.label;
        phaseStart = now;
      }
      if (now - lastDraw > 1000) {
        lastDraw = now;
        const share = p.bytes !== undefined ? p.bytes / (p.bytesTotal ?? bytes) : p.total ? p.done / p.total : 0;
        process.stderr.write(`  ${p.label}: ${fmt(share * 100)}% (${fmt(p.done)} rows, ${fmt((now - t) / 1000)} s)\n`);
      }
    },
  });
  const end = performance.now();
  if (phase) phases.set(phase, (phases.get(phase) ?? 0) + (end - phaseStart) / 1000);
  const importSeconds = (end - t) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;

  // PostgreSQL's own COPY of the same rows: decoding and parsing only, no checks, no indexes.
  // The file is turned into UTF-8 on the way (inside the timing), as the import does; PGlite's
  // COPY has no Windows-1251 conversion of its own.
  await database.rows(sql`DROP TABLE IF EXISTS bench_copy_scratch`);
  await database.rows(sql`CREATE TABLE bench_copy_scratch (name text, inn text, kpp text, phone text, email text, region text, industry text, headcount text)`);
  const copySql = `COPY bench_copy_scratch FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)`;
  t = performance.now();
  if (database.kind === 'postgres') {
    const writable = await database.pg!.unsafe(copySql).writable();
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), iconv.decodeStream('win1251'), iconv.encodeStream('utf8'), writable);
  } else {
    const utf8 = Buffer.from(iconv.decode(readFileSync(file), 'win1251'), 'utf8');
    await database.pglite!.query(copySql.replace('STDIN', `'/dev/blob'`), [], { blob: new Blob([utf8]) });
  }
  const copySeconds = (performance.now() - t) / 1000;
  const [copied] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM bench_copy_scratch`);
  await database.rows(sql`DROP TABLE bench_copy_scratch`);

  const engine = database.kind === 'postgres' ? `PostgreSQL (${new URL(databaseUrl!).host}${new URL(databaseUrl!).pathname})` : `PGlite (in this process, ${work})`;
  const report = result.report!;
  const lines = [
    '',
    `bench:import — ${fmt(rows)} rows, ${mb(bytes)} Windows-1251 CSV (generated in ${fmt(genSeconds)} s), on ${engine}`,
    `  import (read + check + duplicates + create): ${fmt(importSeconds)} s → ${fmt(rows / importSeconds)} rows/s`,
    ...[...phases].map(([label, s]) => `    ${label}: ${fmt(s)} s`),
    `  created ${fmt(report.created)}, skipped (duplicates) ${fmt(report.skipped)}, errors ${fmt(report.errors)}`,
    `  peak RSS of this process: ${mb(peakRss)}${database.kind === 'pglite' ? ' (the PGlite database runs inside it)' : ''}`,
    `  COPY of the same file into a scratch table: ${fmt(copySeconds)} s → ${fmt(Number(copied!.n) / copySeconds)} rows/s (${fmt(Number(copied!.n))} rows)`,
    `  ratio: the import takes ${fmt(importSeconds / copySeconds)}× the time of COPY (which checks nothing and maintains no index)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  await jobs.close();
  await database.close();
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (process.env.BENCH_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });
