import { createReadStream, createWriteStream, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ServiceContext } from '../context.js';
import type { CounterpartyKind } from '../counterparties/counterparties.js';
import { claimBatch, getImport, stageImport, type ImportBatch, type OnProgress } from './stage.js';
import { countSelected, type ImportReport } from './create.js';
import { runImportStep } from './jobs.js';
import { rejectedRowsCsv } from './rejected.js';

/**
 * The whole import of one file, as the command line (and the benchmark) runs it: the same verbs
 * as the admin panel — stage into «Список клиентов для загрузки», then, when asked, create every
 * valid row and write the rejected ones beside the file.
 */
export async function importCounterpartiesFile(
  ctx: ServiceContext,
  opts: { file: string; kind: CounterpartyKind; createValid?: boolean; segmentId?: number | null; responsibleId?: number | null; onProgress?: OnProgress },
): Promise<{ batch: ImportBatch; report: ImportReport | null; rejectedFile: string | null; fileBytes: number }> {
  const fileBytes = statSync(opts.file).size;
  const staged = await stageImport(ctx, createReadStream(opts.file, { highWaterMark: 1024 * 1024 }), {
    kind: opts.kind,
    fileName: path.basename(opts.file),
    segmentId: opts.segmentId ?? null,
    responsibleId: opts.responsibleId ?? null,
    ...(opts.onProgress ? { onProgress: (p) => opts.onProgress!({ ...p, bytesTotal: fileBytes }) } : {}),
  });
  if (!opts.createValid) return { batch: staged, report: null, rejectedFile: null, fileBytes };
  const total = await countSelected(ctx, staged.id, 'valid');
  let report: ImportReport = { created: 0, skipped: 0, errors: 0 };
  if (total > 0) {
    await claimBatch(ctx, staged.id, 'Создание контрагентов', total);
    report = (await runImportStep(ctx, staged.id, { action: 'create', selection: 'valid' }, opts.onProgress))!;
  }
  const batch = await getImport(ctx, staged.id);
  let rejectedFile: string | null = null;
  if (batch.skippedRows + batch.errorRows > 0) {
    const parsed = path.parse(opts.file);
    rejectedFile = path.join(parsed.dir, `${parsed.name}.rejected.csv`);
    await pipeline(await rejectedRowsCsv(ctx, batch.id), createWriteStream(rejectedFile));
  }
  return { batch, report, rejectedFile, fileBytes };
}
