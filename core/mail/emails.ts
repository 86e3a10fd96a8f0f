import { and, asc, eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { emails, mailboxes } from '../db/schema/index.js';
import { forbidden, notFound } from '../errors.js';
import { seesAll } from '../access/scope.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';
import { getTicket } from '../helpdesk/tickets.js';
import { readStoredAttachment } from './attachments.js';
import type { MailEnv } from './env.js';

export type Email = typeof emails.$inferSelect;

/**
 * A letter is visible to whoever sees a record it is tied to (R3) or its ticket (R23), to its
 * author and to the owner of its mailbox; head and admin see all.
 */
async function canSee(ctx: ServiceContext, email: Email): Promise<boolean> {
  if (seesAll(ctx.actor)) return true;
  if (ctx.actor.kind !== 'user') return false;
  const uid = ctx.actor.userId;
  if (email.authorUserId === uid) return true;
  if (email.mailboxId) {
    const [mb] = await ctx.db.select({ ownerId: mailboxes.ownerId }).from(mailboxes).where(eq(mailboxes.id, email.mailboxId));
    if (mb?.ownerId === uid) return true;
  }
  const checks: (() => Promise<unknown>)[] = [];
  if (email.leadId) checks.push(() => getLead(ctx, email.leadId!));
  if (email.dealId) checks.push(() => getDeal(ctx, email.dealId!));
  if (email.contactId) checks.push(() => getContact(ctx, email.contactId!));
  if (email.counterpartyId) checks.push(() => getCounterparty(ctx, email.counterpartyId!));
  // R23: a ticket's letters are read by whoever sees the ticket (its assignee from another segment too)
  if (email.ticketId) checks.push(() => getTicket(ctx, email.ticketId!));
  for (const check of checks) {
    try {
      await check();
      return true;
    } catch {
      // not this one; try the next record
    }
  }
  return false;
}

export async function getEmail(ctx: ServiceContext, id: number): Promise<Email> {
  const [email] = await ctx.db.select().from(emails).where(eq(emails.id, id));
  if (!email) throw notFound('Письмо');
  if (!(await canSee(ctx, email))) throw forbidden('Это письмо вам недоступно');
  return email;
}

/** The letters of the conversation this letter is part of, oldest first. */
export async function getEmailThread(ctx: ServiceContext, id: number): Promise<Email[]> {
  const email = await getEmail(ctx, id);
  if (!email.threadKey) return [email];
  const list = await ctx.db.select().from(emails).where(eq(emails.threadKey, email.threadKey)).orderBy(asc(emails.at), asc(emails.id));
  const visible: Email[] = [];
  for (const e of list) if (e.id === email.id || (await canSee(ctx, e))) visible.push(e);
  return visible;
}

/** One attachment of a letter, read from DATA_DIR. */
export async function readEmailAttachment(
  ctx: ServiceContext,
  env: Pick<MailEnv, 'dataDir'>,
  emailId: number,
  index: number,
): Promise<{ name: string; mime: string; size: number; data: Buffer }> {
  const email = await getEmail(ctx, emailId);
  const meta = email.attachments[index];
  if (!meta) throw notFound('Вложение');
  const data = await readStoredAttachment(env.dataDir, meta.path);
  return { name: meta.name, mime: meta.mime, size: meta.size, data };
}

/** Letters of one mailbox and Message-ID (for checks and the admin panel). */
export async function findEmailByMessageId(ctx: ServiceContext, mailboxId: number, messageId: string): Promise<Email | null> {
  const [email] = await ctx.db
    .select()
    .from(emails)
    .where(and(eq(emails.mailboxId, mailboxId), eq(emails.messageId, messageId)));
  return email && (await canSee(ctx, email)) ? email : null;
}
