import { sql, type SQL } from 'drizzle-orm';
import { actorLabel, actorUserId, inTransaction, type ServiceContext } from '../context.js';
import { isEmbedded } from '../db/client.js';
import { invalid } from '../errors.js';
import { analyzeStaging, finishStep, flushGinPendingLists, getImport, markBaseDuplicates, queryRows, STAGE_CHUNK, type OnProgress } from './stage.js';

/**
 * Rows per transaction on the embedded engine. PostgreSQL runs statements in its own processes, so
 * there a chunk is STAGE_CHUNK and costs the CRM nothing. PGlite runs each statement on this
 * process's only thread and holds its one connection for the whole transaction: a chunk of 2,000
 * took seconds, and one list kept the panel, /health and the webhooks from answering for as long as
 * it ran. A chunk of this size takes a fraction of a second, and the loop lets waiting requests in
 * between its statements (see `letOthersIn`).
 */
export const EMBEDDED_CHUNK = 250;

/**
 * One turn of the event loop: requests that arrived are read and run up to their first query,
 * which then waits for the connection in arrival order, ahead of the import's next transaction.
 */
const letOthersIn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Which waiting rows to create: every valid one, or the ones the user ticked (row ids). */
export type ImportSelection = 'valid' | number[];

export interface ImportReport {
  created: number;
  skipped: number;
  errors: number;
}

export function selectionCondition(selection: ImportSelection): SQL {
  if (selection === 'valid') return sql`true`;
  if (!Array.isArray(selection) || !selection.every((n) => Number.isSafeInteger(n) && n > 0)) throw invalid({ rows: 'неверный выбор строк' });
  return sql`r.id = ANY(${`{${selection.join(',')}}`}::bigint[])`;
}

/** How many waiting rows a creation run would look at. */
export async function countSelected(ctx: ServiceContext, batchId: number, selection: ImportSelection): Promise<number> {
  const [r] = await queryRows<{ n: number }>(
    ctx,
    sql`SELECT count(*)::int AS n FROM import_rows r WHERE r.batch_id = ${batchId} AND r.status = 'pending' AND ${selectionCondition(selection)}`,
  );
  return Number(r!.n);
}

/**
 * R6, step two: the chosen rows become counterparties. Chunk by chunk, in one transaction each:
 * duplicates are looked up again against the base as it is now, rows with problems are marked
 * errors and duplicates skipped (never silently doubled), and the rest are inserted set-wise
 * with their history, audit rows and contact person. A run that stops half-way keeps what it
 * committed; running it again goes on with the rows still waiting.
 */
export async function createFromImport(ctx: ServiceContext, batchId: number, selection: ImportSelection, onProgress?: OnProgress): Promise<ImportReport> {
  const batch = await getImport(ctx, batchId);
  await analyzeStaging(ctx);
  const total = await countSelected(ctx, batchId, selection);
  const report: ImportReport = { created: 0, skipped: 0, errors: 0 };
  const userId = actorUserId(ctx.actor);
  const label = actorLabel(ctx.actor);
  const summary = `Контрагент создан загрузкой из файла «${batch.fileName}»`;
  const embedded = isEmbedded(ctx.db);
  const size = embedded ? EMBEDDED_CHUNK : STAGE_CHUNK;
  const pause = embedded ? letOthersIn : async () => {};
  // chunks are id ranges of the batch (its rows were written in file order), or slices of the
  // chosen ids: each chunk is found through the primary key, whatever the size of the list
  const chunks: SQL[] = [];
  if (selection === 'valid') {
    const [span] = await queryRows<{ lo: string | null; hi: string | null }>(
      ctx,
      sql`SELECT min(id)::text AS lo, max(id)::text AS hi FROM import_rows WHERE batch_id = ${batchId} AND status = 'pending'`,
    );
    if (span?.lo && span.hi) {
      for (let a = Number(span.lo); a <= Number(span.hi); a += size) chunks.push(sql`r.id BETWEEN ${a} AND ${a + size - 1}`);
    }
  } else {
    const sorted = [...new Set(selection)].sort((x, y) => x - y);
    for (let i = 0; i < sorted.length; i += size) chunks.push(sql`r.id = ANY(${`{${sorted.slice(i, i + size).join(',')}}`}::bigint[])`);
  }
  let done = 0;
  for (const chunk of chunks) {
    const range = sql`r.batch_id = ${batchId} AND r.status = 'pending' AND ${chunk}`;
    await inTransaction(ctx, async (tx) => {
      const now = tx.clock.now();
      await markBaseDuplicates(tx, batchId, chunk);
      await pause();
      const rejected = await queryRows<{ status: string }>(
        tx,
        sql`UPDATE import_rows r SET status = CASE WHEN r.has_problems THEN 'error'::import_row_status ELSE 'skipped'::import_row_status END
            WHERE ${range} AND (r.has_problems OR r.dup_counterparty_id IS NOT NULL OR r.dup_row_no IS NOT NULL)
            RETURNING r.status`,
      );
      await pause();
      done += rejected.length;
      for (const r of rejected) {
        if (r.status === 'error') report.errors++;
        else report.skipped++;
      }
      // ids come from the counterparties' own sequence, so rows and counterparties pair up without a round trip
      const created = await queryRows<{ id: string | number }>(
        tx,
        sql`UPDATE import_rows r SET status = 'created', counterparty_id = nextval(pg_get_serial_sequence('counterparties', 'id'))
            WHERE ${range} RETURNING r.id`,
      );
      await pause();
      report.created += created.length;
      done += created.length;
      if (created.length) {
        const mine = sql`r.batch_id = ${batchId} AND r.id = ANY(${`{${created.map((c) => c.id).join(',')}}`}::bigint[])`;
        await tx.db.execute(sql`
          INSERT INTO counterparties (id, kind, name, inn, kpp, ogrn, address, region, industry, headcount, capital_kopecks,
            phones, emails, segment_id, responsible_id, comment, created_at, updated_at)
          SELECT r.counterparty_id, ${batch.kind}::counterparty_kind, r.name, r.inn, CASE WHEN ${batch.kind}::text = 'legal_entity' THEN r.kpp END, r.ogrn,
            r.address, r.region, r.industry, r.headcount, r.capital_kopecks, r.phones, r.emails,
            ${batch.segmentId}::int, ${batch.responsibleId}::int, r.comment, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
          FROM import_rows r WHERE ${mine}`);
        await pause();
        await tx.db.execute(sql`
          INSERT INTO history_events (entity_type, entity_id, kind, summary, data, actor_user_id, actor_label, at)
          SELECT 'counterparty', r.counterparty_id, 'created', ${summary} || ' (строка ' || r.row_no || ')',
            jsonb_build_object('importId', ${batchId}::int, 'rowNo', r.row_no), ${userId}::int, ${label}, ${now.toISOString()}::timestamptz
          FROM import_rows r WHERE ${mine}`);
        await pause();
        await tx.db.execute(sql`
          INSERT INTO audit_log (actor_user_id, actor_label, action, entity_type, entity_id, changes, at)
          SELECT ${userId}::int, ${label}, 'create', 'counterparty', r.counterparty_id,
            jsonb_build_object('name', jsonb_build_object('from', null, 'to', r.name), 'importId', jsonb_build_object('from', null, 'to', ${batchId}::int)),
            ${now.toISOString()}::timestamptz
          FROM import_rows r WHERE ${mine}`);
        await pause();
        // the contact person of the row; an individual is their own contact, so mailing lists reach them
        await tx.db.execute(sql`
          INSERT INTO contacts (counterparty_id, name, position, phones, emails, created_at, updated_at)
          SELECT r.counterparty_id, coalesce(r.contact_name, r.name), r.contact_position, r.phones, r.emails,
            ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
          FROM import_rows r
          WHERE ${mine} AND (r.contact_name IS NOT NULL
            OR (${batch.kind}::text = 'individual' AND (cardinality(r.phones) > 0 OR cardinality(r.emails) > 0)))`);
        await pause();
      }
    });
    await flushGinPendingLists(ctx);
    await pause();
    onProgress?.({ label: 'Создание контрагентов', done, total });
  }
  await finishStep(ctx, batchId);
  return report;
}
