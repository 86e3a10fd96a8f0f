import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { afterCommit, inTransaction, type ServiceContext } from '../context.js';
import { contacts, counterparties, emails, mailingTypes, mailoutRecipients, mailouts, unsubscribes, users } from '../db/schema/index.js';
import { invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { requireRole } from '../access/scope.js';
import { MAILOUT_SEND_JOB, type MailEnv } from './env.js';
import { pickMailbox } from './compose.js';
import { loadMailbox } from './mailboxes.js';
import { buildRaw, deliver, newMessageId, retryDelay } from './outgoing.js';
import { checkTemplate, render } from './template.js';
import { unsubscribeUrl } from './unsubscribe.js';
import { execRows } from './rows.js';

export type Mailout = typeof mailouts.$inferSelect;
export type MailoutRecipient = typeof mailoutRecipients.$inferSelect;

export const mailoutInput = z.object({
  mailingTypeId: idField,
  mailboxId: idField.nullish(),
  subject: z.string().trim().min(1, 'укажите тему').max(500, 'слишком длинная тема'),
  body: z.string().trim().min(1, 'напишите текст письма').max(200_000, 'слишком длинное письмо'),
});
export type MailoutInput = z.input<typeof mailoutInput>;

/** is this address off this mailing type's list (or off every list)? */
const unsubscribed = (email: SQL | string, mailingTypeId: number) =>
  sql`EXISTS (SELECT 1 FROM ${unsubscribes} u WHERE u.email = ${email} AND (u.mailing_type_id = ${mailingTypeId} OR u.mailing_type_id IS NULL))`;

/**
 * A mail-out to every contact of a mailing type (R19), from a template with {{name}},
 * {{company}}, {{manager}} (and {{unsubscribe}}, else the link is added at the end).
 * Addresses that unsubscribed are skipped, so are contacts without an address, each recorded
 * with its status. Letters go out one job each, throttled by the queue's limiter.
 */
export async function createMailout(ctx: ServiceContext, input: MailoutInput): Promise<Mailout> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(mailoutInput, input);
  checkTemplate('subject', data.subject);
  checkTemplate('body', data.body);
  return inTransaction(ctx, async (tx) => {
    const [type] = await tx.db.select().from(mailingTypes).where(eq(mailingTypes.id, data.mailingTypeId));
    if (!type) throw invalid({ mailingTypeId: 'нет такого типа рассылки' });
    const mailbox = await pickMailbox(tx, data.mailboxId);
    const now = tx.clock.now();
    const [mailout] = await tx.db
      .insert(mailouts)
      .values({
        mailingTypeId: type.id,
        mailboxId: mailbox.id,
        subject: data.subject,
        body: data.body,
        createdBy: tx.actor.kind === 'user' ? tx.actor.userId : null,
        createdAt: now,
      })
      .returning();
    // one row per address: the first contact with it; then the unsubscribed and the address-less
    await tx.db.execute(sql`
      INSERT INTO mailout_recipients (mailout_id, contact_id, email, status)
      SELECT ${mailout!.id}, c.id, c.emails[1],
             (CASE WHEN c.emails[1] IS NULL THEN 'no_email'
                   WHEN ${unsubscribed(sql`c.emails[1]`, type.id)} THEN 'unsubscribed'
                   ELSE 'queued' END)::mailout_recipient_status
      FROM contact_mailing_types cmt JOIN contacts c ON c.id = cmt.contact_id
      WHERE cmt.mailing_type_id = ${type.id} AND c.merged_into_id IS NULL
      ORDER BY c.id
      ON CONFLICT (mailout_id, email) DO NOTHING`);
    const queued = await tx.db
      .select({ id: mailoutRecipients.id })
      .from(mailoutRecipients)
      .where(and(eq(mailoutRecipients.mailoutId, mailout!.id), eq(mailoutRecipients.status, 'queued')));
    if (!queued.length) await finishIfDone(tx, mailout!.id);
    tx.log.info({ mailoutId: mailout!.id, queued: queued.length }, 'mail-out created');
    await afterCommit(tx, async () => {
      for (const r of queued) {
        await tx.jobs.add(MAILOUT_SEND_JOB, { recipientId: r.id, attempt: 1 }, { jobId: `mailout.send:${r.id}:1` });
      }
    });
    return mailout!;
  });
}

async function finishIfDone(ctx: ServiceContext, mailoutId: number): Promise<void> {
  await ctx.db
    .update(mailouts)
    .set({ status: 'done', finishedAt: ctx.clock.now() })
    .where(
      and(
        eq(mailouts.id, mailoutId),
        eq(mailouts.status, 'sending'),
        sql`NOT EXISTS (SELECT 1 FROM mailout_recipients r WHERE r.mailout_id = ${mailoutId} AND r.status = 'queued')`,
      ),
    );
}

export interface MailoutJob {
  recipientId: number;
  attempt: number;
}

/**
 * The `mailout.send` job: one recipient's letter, with placeholders filled and a personal
 * unsubscribe link. An address unsubscribed since the mail-out was created is skipped.
 */
export async function processMailoutSend(ctx: ServiceContext, env: MailEnv, job: MailoutJob): Promise<{ status: string }> {
  const [row] = await ctx.db
    .select({
      r: mailoutRecipients,
      m: mailouts,
      contactName: contacts.name,
      counterpartyId: contacts.counterpartyId,
      company: counterparties.name,
      manager: users.name,
    })
    .from(mailoutRecipients)
    .innerJoin(mailouts, eq(mailouts.id, mailoutRecipients.mailoutId))
    .leftJoin(contacts, eq(contacts.id, mailoutRecipients.contactId))
    .leftJoin(counterparties, eq(counterparties.id, contacts.counterpartyId))
    .leftJoin(users, eq(users.id, counterparties.responsibleId))
    .where(eq(mailoutRecipients.id, job.recipientId));
  if (!row || row.r.status !== 'queued' || !row.r.email) return { status: row?.r.status ?? 'missing' };
  const { r, m } = row;
  const email = r.email!;
  const settle = async (set: Partial<MailoutRecipient>) => {
    await ctx.db.update(mailoutRecipients).set(set).where(and(eq(mailoutRecipients.id, r.id), eq(mailoutRecipients.status, 'queued')));
    await finishIfDone(ctx, m.id);
    return { status: set.status ?? 'queued' };
  };

  const [gone] = await execRows<{ yes: boolean }>(ctx, sql`SELECT ${unsubscribed(email, m.mailingTypeId)} AS yes`);
  if (gone?.yes) return settle({ status: 'unsubscribed' });
  if (!m.mailboxId) return settle({ status: 'failed', error: 'почтовый ящик удалён' });
  const mailbox = await loadMailbox(ctx, m.mailboxId).catch(() => null);
  if (!mailbox) return settle({ status: 'failed', error: 'почтовый ящик удалён' });

  let manager = row.manager;
  if (!manager && m.createdBy) {
    const [author] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, m.createdBy));
    manager = author?.name ?? null;
  }
  const link = unsubscribeUrl(env, r.id);
  const values = { name: row.contactName ?? '', company: row.company ?? '', manager: manager ?? '', unsubscribe: link };
  const subject = render(m.subject, values).replace(/\s+/g, ' ').trim();
  let text = render(m.body, values);
  if (!/\{\{\s*unsubscribe\s*\}\}/.test(m.body)) text += `\n\n—\nЧтобы не получать эту рассылку, перейдите по ссылке: ${link}`;

  const messageId = newMessageId(mailbox.email);
  const raw = await buildRaw({
    fromName: mailbox.name,
    fromAddress: mailbox.email,
    to: [email],
    cc: [],
    subject,
    text,
    messageId,
    date: ctx.clock.now(),
    // one-click unsubscribe (RFC 8058): mail clients show their own «Отписаться» button
    headers: { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', Precedence: 'bulk' },
  });
  const outcome = await deliver(env, mailbox, { from: mailbox.email, to: [email] }, raw);
  if (!outcome.ok) {
    if (outcome.permanent || job.attempt >= env.sendAttempts) return settle({ status: 'failed', error: outcome.reason });
    await ctx.db.update(mailoutRecipients).set({ error: `Попытка ${job.attempt}: ${outcome.reason}` }).where(eq(mailoutRecipients.id, r.id));
    const next = job.attempt + 1;
    await ctx.jobs.add(MAILOUT_SEND_JOB, { recipientId: r.id, attempt: next } satisfies MailoutJob, {
      jobId: `mailout.send:${r.id}:${next}`,
      delayMs: retryDelay(env, job.attempt),
    });
    return { status: 'retrying' };
  }
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    const [stored] = await tx.db
      .insert(emails)
      .values({
        direction: 'outgoing',
        messageId,
        subject,
        fromAddress: mailbox.email,
        toAddresses: [email],
        bodyText: text,
        contactId: r.contactId,
        counterpartyId: row.counterpartyId ?? null,
        status: 'sent',
        authorUserId: m.createdBy,
        at: now,
        mailboxId: mailbox.id,
        threadKey: messageId,
      })
      .returning({ id: emails.id });
    await tx.db.update(mailoutRecipients).set({ status: 'sent', error: null, sentAt: now, emailId: stored!.id }).where(eq(mailoutRecipients.id, r.id));
    await finishIfDone(tx, m.id);
    return { status: 'sent' };
  });
}

export interface MailoutSummary extends Mailout {
  mailingType: string;
  counts: Record<MailoutRecipient['status'], number>;
}

export async function getMailout(ctx: ServiceContext, id: number): Promise<MailoutSummary & { recipients: MailoutRecipient[] }> {
  requireRole(ctx, 'admin', 'head');
  const [row] = await ctx.db
    .select({ m: mailouts, type: mailingTypes.name })
    .from(mailouts)
    .innerJoin(mailingTypes, eq(mailingTypes.id, mailouts.mailingTypeId))
    .where(eq(mailouts.id, id));
  if (!row) throw notFound('Рассылка');
  const recipients = await ctx.db.select().from(mailoutRecipients).where(eq(mailoutRecipients.mailoutId, id)).orderBy(mailoutRecipients.id);
  const counts = { queued: 0, sent: 0, failed: 0, unsubscribed: 0, no_email: 0 };
  for (const r of recipients) counts[r.status]++;
  return { ...row.m, mailingType: row.type, counts, recipients };
}

export async function listMailouts(ctx: ServiceContext, filter: { mailingTypeId?: number } = {}): Promise<Mailout[]> {
  requireRole(ctx, 'admin', 'head');
  return ctx.db
    .select()
    .from(mailouts)
    .where(filter.mailingTypeId ? eq(mailouts.mailingTypeId, filter.mailingTypeId) : undefined)
    .orderBy(desc(mailouts.createdAt), desc(mailouts.id))
    .limit(200);
}
