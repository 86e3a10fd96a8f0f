import { Readable } from 'node:stream';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { stringify } from 'csv-stringify';
import type { ServiceContext } from '../context.js';
import { importRows } from '../db/schema/index.js';
import { getImport } from './stage.js';
import { rowProblemTexts } from './describe.js';
import { spreadsheetSafeCell } from './spreadsheet-cell.js';

/**
 * The rows an import skipped or refused, as a CSV to fix and load again: the original columns,
 * then the file's line number and the reason. UTF-8 with BOM and `;`, which Russian Excel opens
 * as it is; no cell opens as a formula. Streamed page by page, so a big list stays in bounded memory.
 */
export async function rejectedRowsCsv(ctx: ServiceContext, batchId: number): Promise<Readable> {
  const batch = await getImport(ctx, batchId);
  async function* records() {
    yield [...batch.headers.map(spreadsheetSafeCell), 'Строка файла', 'Причина'];
    let after = 0;
    for (;;) {
      const rows = await ctx.db
        .select()
        .from(importRows)
        .where(and(eq(importRows.batchId, batchId), inArray(importRows.status, ['skipped', 'error']), gt(importRows.rowNo, after)))
        .orderBy(asc(importRows.rowNo))
        .limit(2000);
      if (!rows.length) return;
      for (const r of rows) {
        const cells = batch.headers.map((_, i) => r.raw[i] ?? '');
        const reason = [...rowProblemTexts(r), r.message].filter(Boolean).join('; ');
        yield [...cells, String(r.rowNo), reason].map(spreadsheetSafeCell);
      }
      after = rows[rows.length - 1]!.rowNo;
    }
  }
  return Readable.from(records()).pipe(stringify({ delimiter: ';', bom: true, record_delimiter: 'windows' }));
}
