import type { ServiceContext } from '../context.js';
import { isServiceError } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import { MAIL_IMPORT_JOB, MAIL_SEND_JOB, MAILOUT_SEND_JOB, type MailEnv } from './env.js';
import { importMailbox } from './import.js';
import { unscheduleMailboxImport } from './mailboxes.js';
import { processMailoutSend, type MailoutJob } from './mailouts.js';
import { processMailSend, type SendJob } from './send.js';

/**
 * The mail jobs of the worker role: `mail.import` (repeatable, one schedule per mailbox),
 * `mail.send` (letters written in the CRM) and `mailout.send` (throttled by the limiter across
 * all workers). `ctx` gives a context acting as the system.
 */
export function registerMailProcessors(jobs: JobQueue, deps: { ctx: () => ServiceContext; env: MailEnv }): void {
  const { env } = deps;
  // two runs of one mailbox's import in this process would only fetch the same letters twice
  const importing = new Set<number>();
  jobs.process<{ mailboxId: number }>(
    MAIL_IMPORT_JOB,
    async (job) => {
      const { mailboxId } = job.data;
      if (importing.has(mailboxId)) return { skipped: 'already importing' };
      importing.add(mailboxId);
      const ctx = deps.ctx();
      try {
        const r = await importMailbox(ctx, env, mailboxId);
        return { imported: r.imported };
      } catch (err) {
        if (isServiceError(err) && err.code === 'not_found') {
          // the mailbox was deleted while its schedule still ran
          await unscheduleMailboxImport(ctx, mailboxId);
          return { skipped: 'mailbox deleted' };
        }
        throw err;
      } finally {
        importing.delete(mailboxId);
      }
    },
    { concurrency: 2 },
  );
  jobs.process<SendJob>(MAIL_SEND_JOB, (job) => processMailSend(deps.ctx(), env, job.data), { concurrency: 4 });
  jobs.process<MailoutJob>(MAILOUT_SEND_JOB, (job) => processMailoutSend(deps.ctx(), env, job.data), {
    concurrency: 1,
    limiter: env.mailoutLimiter,
  });
}
