import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { afterCommit, inTransaction, type ServiceContext } from '../context.js';
import { emails, mailboxes } from '../db/schema/index.js';
import { forbidden, invalid } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { normalizeEmail } from '../validation/email.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';
import { MAIL_SEND_JOB, type MailEnv } from './env.js';
import { storeAttachments } from './attachments.js';
import { canUseMailbox, loadMailbox } from './mailboxes.js';
import { AddressMatcher } from './matching.js';
import { threadKeyFor } from './threading.js';
import { getEmail, type Email } from './emails.js';
import { newMessageId } from './outgoing.js';
import addressparser from 'nodemailer/lib/addressparser';

type MailboxRow = typeof mailboxes.$inferSelect;

/** "Анна <anna@x.ru>, b@y.ru" or a list of such; kept as unique lower-cased addresses */
const addressList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v, c) => {
    const out: string[] = [];
    for (const item of Array.isArray(v) ? v : v ? [v] : []) {
      const parsed = addressparser(item, { flatten: true });
      if (item.trim() && !parsed.length) c.addIssue({ code: 'custom', message: `неверный e-mail: ${item}` });
      for (const a of parsed) {
        const n = normalizeEmail(a.address ?? '');
        if (!n) c.addIssue({ code: 'custom', message: `неверный e-mail: ${a.address || a.name}` });
        else if (!out.includes(n)) out.push(n);
      }
    }
    return out;
  });

export const composeInput = z.object({
  mailboxId: idField.nullish(),
  to: addressList,
  cc: addressList,
  subject: z.string().trim().max(500, 'слишком длинная тема').default(''),
  body: z.string().trim().min(1, 'напишите текст письма').max(200_000, 'слишком длинное письмо'),
  counterpartyId: idField.nullish(),
  contactId: idField.nullish(),
  leadId: idField.nullish(),
  dealId: idField.nullish(),
  /** answering a letter: threads the new one under it */
  replyToEmailId: idField.nullish(),
});
export type ComposeInput = z.input<typeof composeInput>;

/** A file attached to a letter being written. */
export interface OutgoingFile {
  name: string;
  mime: string;
  content: Buffer;
}

/** What mail services take: most refuse a letter over 25 MB, and base64 adds a third. */
export const MAX_ATTACHMENTS = 10;
export const MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024;

function checkFiles(files: OutgoingFile[]): void {
  if (files.length > MAX_ATTACHMENTS) throw invalid({ files: `не больше ${MAX_ATTACHMENTS} файлов` });
  const total = files.reduce((n, f) => n + f.content.length, 0);
  if (total > MAX_ATTACHMENT_BYTES) throw invalid({ files: `вложения вместе больше ${MAX_ATTACHMENT_BYTES / 1024 / 1024} МБ: почтовый сервис не примет такое письмо` });
  if (files.some((f) => !f.name.trim())) throw invalid({ files: 'у файла нет имени' });
}

/**
 * The mailbox a letter goes from: the one asked for, if the actor may use it; otherwise the
 * actor's own active mailbox, else a shared one (no owner).
 */
export async function pickMailbox(ctx: ServiceContext, mailboxId: number | null | undefined): Promise<MailboxRow> {
  if (mailboxId) {
    const mb = await loadMailbox(ctx, mailboxId);
    if (!canUseMailbox(ctx, mb)) throw forbidden('Этот почтовый ящик вам недоступен');
    if (!mb.active) throw invalid({ mailboxId: 'почтовый ящик отключён' });
    return mb;
  }
  if (ctx.actor.kind === 'user') {
    const [own] = await ctx.db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.ownerId, ctx.actor.userId), eq(mailboxes.active, true)))
      .orderBy(asc(mailboxes.id))
      .limit(1);
    if (own) return own;
  }
  const [shared] = await ctx.db
    .select()
    .from(mailboxes)
    .where(and(isNull(mailboxes.ownerId), eq(mailboxes.active, true)))
    .orderBy(asc(mailboxes.id))
    .limit(1);
  if (shared) return shared;
  throw invalid({ mailboxId: 'нет почтового ящика для отправки: попросите администратора добавить ваш ящик' });
}

/**
 * R18: a letter written on a counterparty, contact, lead or deal (admin panel, `/mail` in
 * Telegram). Stored at once as «Исходящее» with status `queued`; a job sends it over SMTP from
 * the chosen mailbox, retrying, and files it in the mailbox's Sent folder. Without `to`, the
 * record's own address is used; the address finds the contact, and without a record given,
 * the records it belongs to.
 */
export async function composeEmail(
  ctx: ServiceContext,
  input: ComposeInput,
  attach?: { files: OutgoingFile[]; env: Pick<MailEnv, 'dataDir'> },
): Promise<Email> {
  if (ctx.actor.kind === 'contact') throw forbidden();
  const data = parseInput(composeInput, input);
  const files = attach?.files ?? [];
  checkFiles(files);
  return inTransaction(ctx, async (tx) => {
    let { contactId, counterpartyId, leadId, dealId } = data;
    let defaultTo: string | undefined;
    // an answer goes back to whoever wrote (or to whom we wrote), on the same records
    const parent = data.replyToEmailId ? await getEmail(tx, data.replyToEmailId) : null;
    if (parent && !contactId && !counterpartyId && !leadId && !dealId) {
      ({ contactId, counterpartyId, leadId, dealId } = parent);
    }
    if (dealId) {
      const d = await getDeal(tx, dealId);
      contactId ??= d.contactId;
      counterpartyId ??= d.counterpartyId;
      leadId ??= d.leadId;
    }
    if (leadId) {
      const l = await getLead(tx, leadId);
      contactId ??= l.contactId;
      counterpartyId ??= l.counterpartyId;
    }
    if (contactId) {
      const c = await getContact(tx, contactId);
      contactId = c.id;
      counterpartyId ??= c.counterpartyId;
      defaultTo = c.emails[0];
    }
    if (counterpartyId) {
      const cp = await getCounterparty(tx, counterpartyId);
      counterpartyId = cp.id;
      defaultTo ??= cp.emails[0];
    }
    const replyTo = parent ? (parent.direction === 'incoming' ? [parent.fromAddress] : parent.toAddresses) : [];
    const to = data.to.length ? data.to : replyTo.length ? replyTo : defaultTo ? [defaultTo] : [];
    if (!to.length) throw invalid({ to: 'укажите адрес получателя' });
    const mailbox = await pickMailbox(tx, data.mailboxId);

    // the address finds the contact (and, with no record given, the counterparty, lead and deal)
    if (!contactId) {
      const match = await new AddressMatcher().match(tx, [...to, ...data.cc]);
      if (match && (!counterpartyId || match.counterpartyId === counterpartyId)) {
        const none = !counterpartyId && !leadId && !dealId;
        contactId = match.contactId;
        counterpartyId ??= match.counterpartyId;
        if (none) ({ leadId, dealId } = match);
      }
    }

    let inReplyTo: string | null = null;
    let references: string[] = [];
    let subject = data.subject;
    if (parent) {
      if (parent.messageId) {
        inReplyTo = parent.messageId;
        references = [...parent.references, parent.messageId].slice(-20);
      }
      if (!subject) subject = /^re:/i.test(parent.subject) ? parent.subject : `Re: ${parent.subject}`;
    }
    if (!subject) throw invalid({ subject: 'укажите тему письма' });

    const messageId = newMessageId(mailbox.email);
    const threadKey = await threadKeyFor(tx, { messageId, inReplyTo, references });
    // kept on disk like an imported letter's files: the send job (and the history) read them there
    const attachments = files.length ? await storeAttachments(attach!.env.dataDir, mailbox.id, messageId, files) : [];
    const [email] = await tx.db
      .insert(emails)
      .values({
        direction: 'outgoing',
        messageId,
        subject,
        fromAddress: mailbox.email,
        toAddresses: to,
        ccAddresses: data.cc,
        bodyText: data.body,
        contactId: contactId ?? null,
        counterpartyId: counterpartyId ?? null,
        leadId: leadId ?? null,
        dealId: dealId ?? null,
        status: 'queued',
        authorUserId: tx.actor.kind === 'user' ? tx.actor.userId : null,
        at: tx.clock.now(),
        mailboxId: mailbox.id,
        inReplyTo,
        references,
        threadKey,
        attachments,
      })
      .returning();
    tx.log.info({ emailId: email!.id, mailboxId: mailbox.id, files: attachments.length }, 'letter queued');
    await afterCommit(tx, () => tx.jobs.add(MAIL_SEND_JOB, { emailId: email!.id, attempt: 1 }, { jobId: `mail.send:${email!.id}:1` }));
    return email!;
  });
}

