import { and, eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { emails, users } from '../db/schema/index.js';
import { notify } from '../notifications/notify.js';
import { MAIL_SEND_JOB, type MailEnv } from './env.js';
import { loadMailbox } from './mailboxes.js';
import { appendToSent, buildRaw, deliver, retryDelay } from './outgoing.js';
import { readStoredAttachment } from './attachments.js';

export interface SendJob {
  emailId: number;
  /** this try's number, from 1 */
  attempt: number;
}

/**
 * The `mail.send` job: sends one queued letter. A temporary failure (a 4xx reply, a dropped or
 * refused connection) queues the next try with a growing delay, up to `sendAttempts`; a
 * permanent one (5xx) or the last try marks the letter failed and tells its author. A sent
 * letter is then filed in the mailbox's Sent folder; failing that does not unsend it.
 */
export async function processMailSend(ctx: ServiceContext, env: MailEnv, job: SendJob): Promise<{ status: string }> {
  const [email] = await ctx.db.select().from(emails).where(eq(emails.id, job.emailId));
  if (!email || email.status !== 'queued') return { status: email?.status ?? 'missing' };
  const fail = async (reason: string) => {
    await ctx.db.update(emails).set({ status: 'failed', error: reason }).where(and(eq(emails.id, email.id), eq(emails.status, 'queued')));
    ctx.log.warn({ emailId: email.id, attempt: job.attempt }, 'letter failed');
    if (email.authorUserId) {
      await notify(ctx, {
        kind: 'delivery_failed',
        userId: email.authorUserId,
        text: `Письмо «${email.subject}» для ${email.toAddresses.join(', ')} не отправлено: ${reason}`,
        leadId: email.leadId ?? undefined,
        dealId: email.dealId ?? undefined,
        dedupeKey: `email:${email.id}:failed`,
      });
    }
    return { status: 'failed' };
  };
  if (!email.mailboxId) return fail('почтовый ящик удалён');
  const mailbox = await loadMailbox(ctx, email.mailboxId).catch(() => null);
  if (!mailbox) return fail('почтовый ящик удалён');

  let fromName = mailbox.name;
  if (email.authorUserId) {
    const [author] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, email.authorUserId));
    if (author) fromName = author.name;
  }
  // a file gone from disk fails the letter rather than sending it without what it promised
  let attachments: { filename: string; contentType: string; content: Buffer }[];
  try {
    attachments = await Promise.all(
      email.attachments.map(async (a) => ({ filename: a.name, contentType: a.mime, content: await readStoredAttachment(env.dataDir, a.path) })),
    );
  } catch (err) {
    ctx.log.warn({ err, emailId: email.id }, 'an attachment of the letter is missing');
    return fail('файл вложения не найден на диске');
  }
  const raw = await buildRaw({
    attachments,
    fromName,
    fromAddress: mailbox.email,
    to: email.toAddresses,
    cc: email.ccAddresses,
    subject: email.subject,
    text: email.bodyText ?? '',
    messageId: email.messageId!,
    inReplyTo: email.inReplyTo,
    references: email.references,
    date: ctx.clock.now(),
  });
  const outcome = await deliver(env, mailbox, { from: mailbox.email, to: [...email.toAddresses, ...email.ccAddresses] }, raw);
  if (!outcome.ok) {
    if (outcome.permanent || job.attempt >= env.sendAttempts) return fail(outcome.reason);
    await ctx.db.update(emails).set({ error: `Попытка ${job.attempt}: ${outcome.reason}` }).where(eq(emails.id, email.id));
    const next = job.attempt + 1;
    await ctx.jobs.add(MAIL_SEND_JOB, { emailId: email.id, attempt: next } satisfies SendJob, {
      jobId: `mail.send:${email.id}:${next}`,
      delayMs: retryDelay(env, job.attempt),
    });
    ctx.log.info({ emailId: email.id, attempt: job.attempt }, 'letter not sent yet, will retry');
    return { status: 'retrying' };
  }
  await ctx.db.update(emails).set({ status: 'sent', error: null, at: ctx.clock.now() }).where(eq(emails.id, email.id));
  ctx.log.info({ emailId: email.id }, 'letter sent');
  try {
    const folder = await appendToSent(env, mailbox, raw, ctx.clock.now());
    if (!folder) ctx.log.warn({ mailboxId: mailbox.id }, 'no Sent folder: the letter was not filed');
  } catch (err) {
    ctx.log.warn({ err, mailboxId: mailbox.id, emailId: email.id }, 'filing a sent letter in the Sent folder failed');
  }
  return { status: 'sent' };
}
