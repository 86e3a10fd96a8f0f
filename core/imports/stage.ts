import { and, asc, desc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { importBatches, importRows, segments, users } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { requireRole } from '../access/scope.js';
import type { CounterpartyKind } from '../counterparties/counterparties.js';
import { openCsv, type CsvFile } from './read-csv.js';
import { guessMapping, isImportField, validateRow, type ImportMapping, type StagedValues } from './fields.js';

export type ImportBatch = typeof importBatches.$inferSelect;
export type ImportRow = typeof importRows.$inferSelect;

/** Rows written per statement: large enough for speed, small enough for memory and one statement's size. */
export const STAGE_CHUNK = 2000;

export interface ImportProgress {
  label: string;
  done: number;
  total: number;
  /** bytes of the file read so far, while the total row count is not yet known */
  bytes?: number;
  /** the file's size, when the reader knows it */
  bytesTotal?: number;
}
export type OnProgress = (p: ImportProgress) => void;

/** Raw rows of a query, the same shape on PostgreSQL (an array) and PGlite (`{ rows }`). */
export async function queryRows<T>(ctx: ServiceContext, query: SQL): Promise<T[]> {
  const r = await ctx.db.execute(query);
  return (Array.isArray(r) ? r : (r as unknown as { rows: T[] }).rows) as T[];
}

const stageOptions = z.object({
  kind: z.enum(['legal_entity', 'individual', 'sole_proprietor'], 'вид: юридические лица, физические лица или ИП'),
  fileName: z.string().trim().min(1).max(300).default('import.csv'),
  segmentId: idField.nullish(),
  responsibleId: idField.nullish(),
});

/**
 * R6, step one: reads a CSV stream into «Список клиентов для загрузки». Each row is checked as
 * it is read (with the mapping guessed from the headers, or the one given) and written in
 * batches; then duplicates are marked, against the base and inside the file. Nothing becomes a
 * counterparty yet. A file that cannot be read leaves no list behind.
 */
export async function stageImport(
  ctx: ServiceContext,
  input: AsyncIterable<Uint8Array | string>,
  options: StageOptions & { onProgress?: OnProgress },
): Promise<ImportBatch> {
  const { batch, csv } = await beginStaging(ctx, input, options);
  try {
    return await fillStaging(ctx, batch, csv, options.onProgress);
  } catch (e) {
    await ctx.db.delete(importBatches).where(eq(importBatches.id, batch.id));
    throw e;
  }
}

export type StageOptions = z.input<typeof stageOptions> & { mapping?: ImportMapping };

/**
 * Checks the options and the file's header (encoding, delimiter, columns, mapping) and opens the
 * list in state `staging`, before a single row is read: a file that is not a client list is
 * refused at once, even when its rows are then read by a job.
 */
export async function beginStaging(
  ctx: ServiceContext,
  input: AsyncIterable<Uint8Array | string>,
  options: StageOptions,
): Promise<{ batch: ImportBatch; csv: CsvFile }> {
  requireRole(ctx, 'admin', 'head');
  const opts = parseInput(stageOptions, options);
  if (opts.segmentId) {
    const [s] = await ctx.db.select({ id: segments.id }).from(segments).where(eq(segments.id, opts.segmentId));
    if (!s) throw invalid({ segmentId: 'нет такого сегмента' });
  }
  if (opts.responsibleId) {
    const [u] = await ctx.db.select({ id: users.id }).from(users).where(and(eq(users.id, opts.responsibleId), eq(users.active, true)));
    if (!u) throw invalid({ responsibleId: 'нет такого активного пользователя' });
  }
  const csv = await openCsv(input);
  const mapping = options.mapping ? checkMapping(options.mapping, csv.headers.length) : guessMapping(csv.headers);
  const now = ctx.clock.now();
  const [batch] = await ctx.db
    .insert(importBatches)
    .values({
      kind: opts.kind,
      fileName: opts.fileName,
      encoding: csv.encoding,
      delimiter: csv.delimiter,
      headers: csv.headers,
      mapping,
      segmentId: opts.segmentId ?? null,
      responsibleId: opts.responsibleId ?? null,
      status: 'staging',
      progressLabel: 'Чтение файла',
      createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { batch: batch!, csv };
}

/**
 * Reads the rows of a list opened by beginStaging: written in chunks as they are checked, then
 * duplicates are marked and the list becomes ready. Rows of an earlier, interrupted read of the
 * same list are dropped first, so a read that is run again starts clean.
 */
export async function fillStaging(ctx: ServiceContext, batch: ImportBatch, csv: CsvFile, onProgress?: OnProgress): Promise<ImportBatch> {
  const batchId = batch.id;
  if (csv.headers.join('\u0001') !== batch.headers.join('\u0001')) throw invalid({ file: 'заголовки файла изменились' }, 'Файл изменился после проверки заголовков');
  await ctx.db.delete(importRows).where(eq(importRows.batchId, batchId));
  const kind = batch.kind as CounterpartyKind;
  const mapping = checkMapping(batch.mapping, batch.headers.length);
  let chunk: StagedInsert[] = [];
  let total = 0;
  const flush = async () => {
    if (!chunk.length) return;
    await insertRows(ctx, chunk);
    total += chunk.length;
    chunk = [];
    onProgress?.({ label: 'Чтение файла', done: total, total: 0, bytes: csv.bytesRead() });
  };
  for await (const { lineNo, cells } of csv.records) {
    chunk.push({ batch_id: batchId, row_no: lineNo, raw: cells, ...stagedJson(validateRow(kind, cells, mapping)) });
    if (chunk.length >= STAGE_CHUNK) await flush();
  }
  await flush();
  await ctx.db.update(importBatches).set({ totalRows: total }).where(eq(importBatches.id, batchId));
  await markDuplicates(ctx, batchId, onProgress);
  return finishStep(ctx, batchId);
}

export function checkMapping(mapping: unknown[], columns: number): ImportMapping {
  if (mapping.length > columns) throw invalid({ mapping: 'столбцов меньше, чем в сопоставлении' });
  const out: ImportMapping = [];
  for (let i = 0; i < columns; i++) {
    const f = mapping[i];
    if (f === null || f === undefined || f === '') out.push(null);
    else if (isImportField(f)) out.push(f);
    else throw invalid({ [`mapping.${i}`]: `неизвестное поле: ${String(f)}` });
  }
  const single = out.filter((f) => f && !['phones', 'emails', 'address', 'comment'].includes(f));
  const twice = single.find((f, i) => single.indexOf(f) !== i);
  if (twice) throw invalid({ mapping: `поле «${twice}» выбрано для двух столбцов` }, 'Одно поле выбрано для двух столбцов');
  if (!out.includes('name')) throw invalid({ mapping: 'выберите столбец с наименованием' }, 'Выберите столбец с наименованием или ФИО');
  return out;
}

interface StagedInsert extends ReturnType<typeof stagedJson> {
  batch_id: number;
  row_no: number;
  raw: string[];
}

function stagedJson(v: StagedValues) {
  return {
    name: v.name,
    inn: v.inn,
    kpp: v.kpp,
    ogrn: v.ogrn,
    address: v.address,
    region: v.region,
    industry: v.industry,
    headcount: v.headcount,
    capital_kopecks: v.capitalKopecks,
    phones: v.phones,
    emails: v.emails,
    comment: v.comment,
    contact_name: v.contactName,
    contact_position: v.contactPosition,
    problems: v.problems,
    has_problems: Object.keys(v.problems).length > 0,
  };
}

const recordColumns = sql.raw(`name text, inn text, kpp text, ogrn text, address text, region text, industry text, headcount int,
  capital_kopecks bigint, phones text[], emails text[], comment text, contact_name text, contact_position text,
  problems jsonb, has_problems boolean`);

/** One statement per chunk: the rows travel as one JSON parameter, which keeps the statement small and fast. */
async function insertRows(ctx: ServiceContext, rows: StagedInsert[]): Promise<void> {
  await ctx.db.execute(sql`
    INSERT INTO import_rows (batch_id, row_no, raw, name, inn, kpp, ogrn, address, region, industry, headcount,
      capital_kopecks, phones, emails, comment, contact_name, contact_position, problems, has_problems)
    SELECT batch_id, row_no, raw, name, inn, kpp, ogrn, address, region, industry, headcount,
      capital_kopecks, phones, emails, comment, contact_name, contact_position, problems, has_problems
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(batch_id int, row_no int, raw text[], ${recordColumns})`);
}

/**
 * Marks duplicates of the rows still waiting: against the base (a live counterparty with the same
 * INN, phone or e-mail, or a contact of one with the same phone or e-mail), and inside the file
 * (an earlier row without problems with the same INN, phone or e-mail).
 */
export async function markDuplicates(ctx: ServiceContext, batchId: number, onProgress?: OnProgress): Promise<void> {
  await analyzeStaging(ctx);
  const [{ lo, hi } = { lo: null, hi: null }] = await queryRows<{ lo: string | null; hi: string | null }>(
    ctx,
    sql`SELECT min(id)::text AS lo, max(id)::text AS hi FROM import_rows WHERE batch_id = ${batchId}`,
  );
  await ctx.db.execute(sql`UPDATE import_rows SET dup_row_no = NULL WHERE batch_id = ${batchId} AND status = 'pending' AND dup_row_no IS NOT NULL`);
  await ctx.db.execute(sql`
    UPDATE import_rows r SET dup_row_no = d.first_row
    FROM (
      SELECT id, min(first_row) AS first_row FROM (
        SELECT id, row_no, min(row_no) OVER (PARTITION BY k) AS first_row FROM (
          SELECT id, row_no, 'i' || inn AS k FROM import_rows WHERE batch_id = ${batchId} AND NOT has_problems AND inn IS NOT NULL
          UNION ALL
          SELECT id, row_no, 'p' || p FROM import_rows, unnest(phones) AS p WHERE batch_id = ${batchId} AND NOT has_problems
          UNION ALL
          SELECT id, row_no, 'e' || e FROM import_rows, unnest(emails) AS e WHERE batch_id = ${batchId} AND NOT has_problems
        ) keys
      ) w WHERE first_row < row_no GROUP BY id
    ) d
    WHERE r.id = d.id AND r.status = 'pending'`);
  if (lo === null || hi === null) return;
  await flushGinPendingLists(ctx);
  // against the base in id ranges, so a big file reports progress and no statement runs for minutes
  const from = Number(lo);
  const to = Number(hi);
  const step = 20_000;
  for (let a = from; a <= to; a += step) {
    await markBaseDuplicates(ctx, batchId, sql`r.id BETWEEN ${a} AND ${Math.min(a + step - 1, to)}`);
    onProgress?.({ label: 'Поиск дубликатов', done: Math.min(a + step, to + 1) - from, total: to - from + 1 });
  }
}

/**
 * Sets or clears the base-duplicate mark of the waiting rows of a batch matching `where`. Each
 * row is looked up through the INN, phone and e-mail indexes; the planner is told to keep to
 * them, because its estimates lag behind a table that an import is filling (PGlite never
 * analyzes on its own) and a scan per row would make a big import quadratic.
 */
export async function markBaseDuplicates(ctx: ServiceContext, batchId: number, where: SQL): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`SET LOCAL enable_seqscan = off`);
    await markBaseDuplicatesNow(tx, batchId, where);
  });
}

async function markBaseDuplicatesNow(ctx: ServiceContext, batchId: number, where: SQL): Promise<void> {
  await ctx.db.execute(sql`
    UPDATE import_rows r SET (dup_counterparty_id, dup_field) = (
      SELECT u.cid, u.field FROM (
        (SELECT c.id AS cid, 'inn' AS field FROM counterparties c
          WHERE r.inn IS NOT NULL AND c.inn = r.inn AND c.merged_into_id IS NULL LIMIT 1)
        UNION ALL
        (SELECT c.id, 'phone' FROM counterparties c
          WHERE cardinality(r.phones) > 0 AND c.phones && r.phones AND c.merged_into_id IS NULL LIMIT 1)
        UNION ALL
        (SELECT c.id, 'email' FROM counterparties c
          WHERE cardinality(r.emails) > 0 AND c.emails && r.emails AND c.merged_into_id IS NULL LIMIT 1)
        UNION ALL
        (SELECT ct.counterparty_id, 'contact_phone' FROM contacts ct
          WHERE cardinality(r.phones) > 0 AND ct.phones && r.phones AND ct.counterparty_id IS NOT NULL AND ct.merged_into_id IS NULL LIMIT 1)
        UNION ALL
        (SELECT ct.counterparty_id, 'contact_email' FROM contacts ct
          WHERE cardinality(r.emails) > 0 AND ct.emails && r.emails AND ct.counterparty_id IS NOT NULL AND ct.merged_into_id IS NULL LIMIT 1)
      ) u LIMIT 1)
    WHERE r.batch_id = ${batchId} AND r.status = 'pending' AND NOT r.has_problems AND ${where}`);
}

/**
 * New entries of a GIN index wait in its "pending list", which every search scans in full until
 * (auto)vacuum merges it. An import both adds thousands of phones and e-mails and looks each row's
 * up, so the list is merged after every chunk; otherwise each lookup gets slower as the import
 * goes on (PGlite has no autovacuum at all).
 */
export async function flushGinPendingLists(ctx: ServiceContext): Promise<void> {
  await ctx.db.execute(sql`SELECT gin_clean_pending_list(c.oid) FROM pg_class c
    WHERE c.relname IN ('counterparties_phones_idx', 'counterparties_emails_idx', 'contacts_phones_idx', 'contacts_emails_idx')`);
}

/**
 * Fresh planner statistics after a bulk write: without them the planner guesses at a table that
 * just grew by a million rows and may walk the whole batch through the (batch, status) index for
 * every id range instead of the primary key, which makes a big import quadratic. PostgreSQL's
 * autovacuum would come too late, and PGlite has none.
 */
export async function analyzeStaging(ctx: ServiceContext): Promise<void> {
  await ctx.db.execute(sql`ANALYZE import_rows`);
}

/** Recounts a batch's rows by state and marks it ready. */
export async function finishStep(ctx: ServiceContext, batchId: number): Promise<ImportBatch> {
  const [c] = await queryRows<Record<string, number | string>>(
    ctx,
    sql`SELECT count(*)::int AS total,
          count(*) FILTER (WHERE has_problems)::int AS problems,
          count(*) FILTER (WHERE NOT has_problems AND (dup_counterparty_id IS NOT NULL OR dup_row_no IS NOT NULL))::int AS duplicates,
          count(*) FILTER (WHERE status = 'created')::int AS created,
          count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
          count(*) FILTER (WHERE status = 'error')::int AS errors
        FROM import_rows WHERE batch_id = ${batchId}`,
  );
  const [batch] = await ctx.db
    .update(importBatches)
    .set({
      status: 'ready',
      totalRows: Number(c!.total),
      problemRows: Number(c!.problems),
      duplicateRows: Number(c!.duplicates),
      createdRows: Number(c!.created),
      skippedRows: Number(c!.skipped),
      errorRows: Number(c!.errors),
      progressLabel: null,
      updatedAt: ctx.clock.now(),
    })
    .where(eq(importBatches.id, batchId))
    .returning();
  return batch!;
}

export async function getImport(ctx: ServiceContext, id: number): Promise<ImportBatch> {
  requireRole(ctx, 'admin', 'head');
  const [row] = await ctx.db.select().from(importBatches).where(eq(importBatches.id, id));
  if (!row) throw notFound('Загрузка');
  return row;
}

export async function listImports(ctx: ServiceContext, opts: { limit?: number } = {}): Promise<ImportBatch[]> {
  requireRole(ctx, 'admin', 'head');
  return ctx.db
    .select()
    .from(importBatches)
    .orderBy(desc(importBatches.id))
    .limit(Math.min(opts.limit ?? 50, 200));
}

export type ImportRowFilter = 'all' | 'valid' | 'problems' | 'duplicates' | 'created' | 'rejected' | 'pending';

const rowFilterCondition = (f: ImportRowFilter): SQL | undefined => {
  const dup = sql`(${importRows.dupCounterpartyId} IS NOT NULL OR ${importRows.dupRowNo} IS NOT NULL)`;
  switch (f) {
    case 'valid':
      return sql`${importRows.status} = 'pending' AND NOT ${importRows.hasProblems} AND NOT ${dup}`;
    case 'problems':
      return sql`${importRows.hasProblems}`;
    case 'duplicates':
      return sql`NOT ${importRows.hasProblems} AND ${dup}`;
    case 'created':
      return sql`${importRows.status} = 'created'`;
    case 'rejected':
      return sql`${importRows.status} IN ('skipped', 'error')`;
    case 'pending':
      return sql`${importRows.status} = 'pending'`;
    default:
      return undefined;
  }
};

/** A page of the staging list, in file order. */
export async function listImportRows(
  ctx: ServiceContext,
  batchId: number,
  opts: { filter?: ImportRowFilter; afterRowNo?: number; limit?: number } = {},
): Promise<ImportRow[]> {
  await getImport(ctx, batchId);
  const conds = [eq(importRows.batchId, batchId), rowFilterCondition(opts.filter ?? 'all')];
  if (opts.afterRowNo) conds.push(gt(importRows.rowNo, opts.afterRowNo));
  return ctx.db
    .select()
    .from(importRows)
    .where(and(...conds))
    .orderBy(asc(importRows.rowNo))
    .limit(Math.min(Math.max(opts.limit ?? 100, 1), 1000));
}

export async function countImportRows(ctx: ServiceContext, batchId: number, filter: ImportRowFilter): Promise<number> {
  const [r] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(importRows)
    .where(and(eq(importRows.batchId, batchId), rowFilterCondition(filter)));
  return r!.n;
}

/** Forgets a staging list (the counterparties it created stay). */
export async function deleteImport(ctx: ServiceContext, id: number): Promise<void> {
  const batch = await getImport(ctx, id);
  const busy = batch.status === 'working' || batch.status === 'staging';
  // a step that stopped reporting long ago died with its process: its list may go
  if (busy && ctx.clock.now().getTime() - batch.updatedAt.getTime() < STALE_STEP_MS) throw conflict('Загрузка ещё идёт: дождитесь её окончания');
  await ctx.db.delete(importBatches).where(eq(importBatches.id, id));
}

/**
 * The user changed the column mapping: every waiting row is checked again from its raw cells and
 * duplicates are marked anew. Refused once some rows were created (they were read with the old mapping).
 */
export async function remapImport(ctx: ServiceContext, batchId: number, mapping: unknown[], onProgress?: OnProgress): Promise<ImportBatch> {
  const batch = await getImport(ctx, batchId);
  const checked = checkMapping(mapping, batch.headers.length);
  if (batch.createdRows > 0 || batch.skippedRows > 0 || batch.errorRows > 0) {
    throw conflict('Из этого списка уже загружали строки: сопоставление менять нельзя, загрузите файл заново');
  }
  await ctx.db.update(importBatches).set({ mapping: checked, updatedAt: ctx.clock.now() }).where(eq(importBatches.id, batchId));
  let last = 0;
  let done = 0;
  for (;;) {
    const chunk = await ctx.db
      .select({ id: importRows.id, raw: importRows.raw })
      .from(importRows)
      .where(and(eq(importRows.batchId, batchId), gt(importRows.id, last)))
      .orderBy(asc(importRows.id))
      .limit(STAGE_CHUNK);
    if (!chunk.length) break;
    const values = chunk.map((r) => ({ id: r.id, ...stagedJson(validateRow(batch.kind as CounterpartyKind, r.raw, checked)) }));
    await ctx.db.execute(sql`
      UPDATE import_rows r SET name = x.name, inn = x.inn, kpp = x.kpp, ogrn = x.ogrn, address = x.address, region = x.region,
        industry = x.industry, headcount = x.headcount, capital_kopecks = x.capital_kopecks, phones = x.phones, emails = x.emails,
        comment = x.comment, contact_name = x.contact_name, contact_position = x.contact_position, problems = x.problems,
        has_problems = x.has_problems, dup_counterparty_id = NULL, dup_field = NULL
      FROM jsonb_to_recordset(${JSON.stringify(values)}::jsonb) AS x(id bigint, ${recordColumns})
      WHERE r.id = x.id`);
    last = chunk[chunk.length - 1]!.id;
    done += chunk.length;
    onProgress?.({ label: 'Проверка строк', done, total: batch.totalRows });
  }
  await markDuplicates(ctx, batchId, onProgress);
  return finishStep(ctx, batchId);
}

/** Records the progress of the step running on a batch, for the progress bar. */
export async function setProgress(ctx: ServiceContext, batchId: number, p: ImportProgress, status: 'working' | 'staging' = 'working'): Promise<void> {
  // only while the step runs: a progress write that lands after the step finished must not
  // turn a ready list back into a busy one
  await ctx.db
    .update(importBatches)
    .set({ progressLabel: p.label, progressDone: p.done, progressTotal: p.total, updatedAt: ctx.clock.now() })
    .where(and(eq(importBatches.id, batchId), eq(importBatches.status, status)));
}

/** A step that has not reported progress for this long is taken for dead (its process stopped). */
const STALE_STEP_MS = 10 * 60_000;
const STALE_STEP = sql`interval '10 minutes'`;

/** Claims a batch for a step: only one step runs on a batch at a time (a dead one may be taken over). */
export async function claimBatch(ctx: ServiceContext, batchId: number, label: string, total: number): Promise<void> {
  const claimed = await inTransaction(ctx, async (tx) =>
    tx.db
      .update(importBatches)
      .set({ status: 'working', progressLabel: label, progressDone: 0, progressTotal: total, lastError: null, updatedAt: tx.clock.now() })
      .where(
        and(
          eq(importBatches.id, batchId),
          sql`(${importBatches.status} IN ('ready', 'failed') OR (${importBatches.status} = 'working' AND ${importBatches.updatedAt} < now() - ${STALE_STEP}))`,
        ),
      )
      .returning({ id: importBatches.id }),
  );
  if (!claimed.length) throw conflict('С этим списком уже идёт работа: дождитесь её окончания');
}
