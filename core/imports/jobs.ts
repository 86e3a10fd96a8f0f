import { createReadStream, statSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterCommit, systemActor, type Actor, type ServiceContext } from '../context.js';
import { importBatches } from '../db/schema/index.js';
import { conflict, invalid, isServiceError } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import { getUser, userActor } from '../users/users.js';
import { beginStaging, checkMapping, claimBatch, fillStaging, getImport, remapImport, setProgress, type ImportBatch, type OnProgress, type StageOptions } from './stage.js';
import { openCsv } from './read-csv.js';
import { countSelected, createFromImport, type ImportReport, type ImportSelection } from './create.js';

export const IMPORT_JOB = 'imports.step';
export const IMPORT_READ_JOB = 'imports.read';

/** A step on a staged list that may take long: check it again with a new mapping, or create counterparties. */
export type ImportStep = { action: 'create'; selection: ImportSelection } | { action: 'remap'; mapping: (string | null)[] };

export interface ImportJobData {
  batchId: number;
  /** the user who asked: the job acts as them, for access rules and the audit trail */
  userId: number | null;
  step: ImportStep;
}

/** Up to this many rows a step runs within the request; a bigger one goes to the worker as a job. */
export const INLINE_ROWS = 2000;

/**
 * Starts a step on a staged list: small ones run at once (the report comes back), big ones are
 * queued as a job that the worker runs while the page shows its progress.
 */
export async function startImportStep(
  ctx: ServiceContext,
  batchId: number,
  step: ImportStep,
  opts: { inlineRows?: number } = {},
): Promise<{ queued: boolean; report: ImportReport | null }> {
  const batch = await getImport(ctx, batchId);
  let total: number;
  let label: string;
  if (step.action === 'remap') {
    checkMapping(step.mapping, batch.headers.length);
    if (batch.createdRows > 0 || batch.skippedRows > 0 || batch.errorRows > 0) {
      throw conflict('Из этого списка уже загружали строки: сопоставление менять нельзя, загрузите файл заново');
    }
    total = batch.totalRows;
    label = 'Проверка строк';
  } else {
    total = await countSelected(ctx, batchId, step.selection);
    if (total === 0) throw invalid({ rows: 'нет ожидающих строк' }, 'Нечего загружать: выберите строки, которые ещё не загружены');
    label = 'Создание контрагентов';
  }
  await claimBatch(ctx, batchId, label, total);
  if (total <= (opts.inlineRows ?? INLINE_ROWS)) {
    return { queued: false, report: await runImportStep(ctx, batchId, step) };
  }
  const data: ImportJobData = { batchId, userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null, step };
  await afterCommit(ctx, () => ctx.jobs.add(IMPORT_JOB, data, { jobId: `import-${batchId}-${step.action}-${ctx.clock.now().getTime()}` }));
  return { queued: true, report: null };
}

/** Records progress on the batch for the progress bar, at most a few times a second. */
function progressWriter(ctx: ServiceContext, batchId: number, status: 'working' | 'staging', onProgress?: OnProgress): OnProgress {
  let lastWrite = 0;
  return (p) => {
    onProgress?.(p);
    const now = Date.now();
    if (now - lastWrite < 300 && p.done < p.total) return;
    lastWrite = now;
    // while a file is read its row count is not known yet: estimate it from the bytes read so far
    const total = p.bytes && p.bytesTotal ? Math.max(p.done, Math.round((p.done * p.bytesTotal) / p.bytes)) : p.total;
    void setProgress(ctx, batchId, { ...p, total }, status).catch((err) => ctx.log.warn({ err, batchId }, 'import progress not saved'));
  };
}

/** Runs a claimed step, recording progress on the batch; a failure is recorded there too, for the page to show. */
export async function runImportStep(ctx: ServiceContext, batchId: number, step: ImportStep, onProgress?: OnProgress): Promise<ImportReport | null> {
  const progress = progressWriter(ctx, batchId, 'working', onProgress);
  try {
    if (step.action === 'remap') {
      await remapImport(ctx, batchId, step.mapping, progress);
      return null;
    }
    return await createFromImport(ctx, batchId, step.selection, progress);
  } catch (e) {
    await markFailed(ctx, batchId, e);
    throw e;
  }
}

async function markFailed(ctx: ServiceContext, batchId: number, e: unknown): Promise<void> {
  const message = e instanceof Error ? e.message : String(e);
  await ctx.db
    .update(importBatches)
    .set({ status: 'failed', lastError: message.slice(0, 1000), progressLabel: null, updatedAt: ctx.clock.now() })
    .where(eq(importBatches.id, batchId));
}

export interface ImportReadJobData {
  batchId: number;
  userId: number | null;
  /** the uploaded file, saved under DATA_DIR; removed once read */
  file: string;
}

/**
 * A file too big to read within the request: its header is checked now (a file that is not a
 * client list is refused at once) and the list opened; the worker reads the rows while the page
 * shows a progress bar.
 */
export async function queueImportFile(ctx: ServiceContext, file: string, options: StageOptions): Promise<ImportBatch> {
  // the start of the file, cut after its last whole line: enough for the encoding, the delimiter and the header
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const lastLine = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    head = buf.subarray(0, lastLine > 0 && bytesRead === buf.length ? lastLine + 1 : bytesRead);
  } finally {
    await handle.close();
  }
  const { batch } = await beginStaging(ctx, Readable.from([head]), options);
  const data: ImportReadJobData = { batchId: batch.id, userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null, file };
  await afterCommit(ctx, () => ctx.jobs.add(IMPORT_READ_JOB, data, { jobId: `import-read-${batch.id}` }));
  return batch;
}

/**
 * The worker reads a queued file into its list. Run again after a crash, it starts the list over;
 * a list that is no longer being read (done, failed or deleted) is left alone. A file that turns
 * out unreadable half-way marks the list failed, with the reason for the page.
 */
export async function readQueuedImport(ctx: ServiceContext, data: ImportReadJobData, onProgress?: OnProgress): Promise<void> {
  const batch = await getImport(ctx, data.batchId).catch((e: unknown) => {
    if (isServiceError(e) && e.code === 'not_found') return null;
    throw e;
  });
  try {
    if (!batch || batch.status !== 'staging') return;
    const bytesTotal = statSync(data.file).size;
    const progress = progressWriter(ctx, batch.id, 'staging', onProgress);
    const csv = await openCsv(createReadStream(data.file, { highWaterMark: 1024 * 1024 }));
    await fillStaging(ctx, batch, csv, (p) => progress({ ...p, bytesTotal }));
  } catch (e) {
    if (batch) await markFailed(ctx, batch.id, e);
    throw e;
  } finally {
    // only a crash leaves the file, for the job's next attempt to read again
    await rm(data.file, { force: true });
  }
}

/** The worker side: runs queued import steps as the user who started them. */
export function registerImportJobs(jobs: JobQueue, ctxFor: (actor: Actor) => ServiceContext): void {
  jobs.process<ImportJobData>(
    IMPORT_JOB,
    async (job) => {
      const system = ctxFor(systemActor('загрузка клиентов'));
      const user = job.data.userId ? await getUser(system, job.data.userId) : null;
      const ctx = user ? ctxFor(userActor(user)) : system;
      return runImportStep(ctx, job.data.batchId, job.data.step);
    },
    { concurrency: 2 },
  );
  jobs.process<ImportReadJobData>(
    IMPORT_READ_JOB,
    async (job) => {
      const system = ctxFor(systemActor('загрузка клиентов'));
      const user = job.data.userId ? await getUser(system, job.data.userId) : null;
      await readQueuedImport(user ? ctxFor(userActor(user)) : system, job.data);
    },
    { concurrency: 2 },
  );
}
