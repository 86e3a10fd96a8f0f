import { eq } from 'drizzle-orm';
import { afterCommit, systemActor, type Actor, type ServiceContext } from '../context.js';
import { importBatches } from '../db/schema/index.js';
import { conflict, invalid } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import { getUser, userActor } from '../users/users.js';
import { checkMapping, claimBatch, getImport, remapImport, setProgress, type OnProgress } from './stage.js';
import { countSelected, createFromImport, type ImportReport, type ImportSelection } from './create.js';

export const IMPORT_JOB = 'imports.step';

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

/** Runs a claimed step, recording progress on the batch; a failure is recorded there too, for the page to show. */
export async function runImportStep(ctx: ServiceContext, batchId: number, step: ImportStep, onProgress?: OnProgress): Promise<ImportReport | null> {
  let lastWrite = 0;
  const progress: OnProgress = (p) => {
    onProgress?.(p);
    const now = Date.now();
    if (now - lastWrite < 300 && p.done < p.total) return;
    lastWrite = now;
    void setProgress(ctx, batchId, p).catch((err) => ctx.log.warn({ err, batchId }, 'import progress not saved'));
  };
  try {
    if (step.action === 'remap') {
      await remapImport(ctx, batchId, step.mapping, progress);
      return null;
    }
    return await createFromImport(ctx, batchId, step.selection, progress);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await ctx.db
      .update(importBatches)
      .set({ status: 'failed', lastError: message.slice(0, 1000), progressLabel: null, updatedAt: ctx.clock.now() })
      .where(eq(importBatches.id, batchId));
    throw e;
  }
}

/** The worker side: runs queued import steps as the user who started them. */
export function registerImportJobs(jobs: JobQueue, ctxFor: (actor: Actor) => ServiceContext): void {
  jobs.process<ImportJobData>(
    IMPORT_JOB,
    async (job) => {
      const system = ctxFor(systemActor('import'));
      const user = job.data.userId ? await getUser(system, job.data.userId) : null;
      const ctx = user ? ctxFor(userActor(user)) : system;
      return runImportStep(ctx, job.data.batchId, job.data.step);
    },
    { concurrency: 2 },
  );
}
