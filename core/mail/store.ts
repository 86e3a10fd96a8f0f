import { and, eq, inArray } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { emails, mailFolderState, users, type mailboxes } from '../db/schema/index.js';
import { createContact } from '../contacts/contacts.js';
import { createLead } from '../leads/leads.js';
import { notify } from '../notifications/notify.js';
import { isServiceError } from '../errors.js';
import { sql } from 'drizzle-orm';
import type { AddressMatcher, RecordMatch } from './matching.js';
import { mergeThreadsMany, threadKeysFor } from './threading.js';
import type { ParsedLetter } from './parse.js';
import type { StoredAttachment } from './attachments.js';

type MailboxRow = typeof mailboxes.$inferSelect;
export type FolderRole = 'inbox' | 'sent';

export interface LetterToStore {
  uid: number;
  letter: ParsedLetter;
  attachments: StoredAttachment[];
  /** when the server received it (IMAP INTERNALDATE) */
  receivedAt: Date | null;
}

/** Message-IDs of this mailbox already stored, among `ids`. */
export async function knownMessageIds(ctx: ServiceContext, mailboxId: number, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const found = await ctx.db
    .select({ id: emails.messageId })
    .from(emails)
    .where(and(eq(emails.mailboxId, mailboxId), inArray(emails.messageId, ids)));
  return new Set(found.map((r) => r.id!));
}

/** Stores how far a folder was read, in the same transaction as its letters. */
export async function saveFolderState(ctx: ServiceContext, mailboxId: number, folder: string, uidValidity: number, lastUid: number): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db
    .insert(mailFolderState)
    .values({ mailboxId, folder, uidValidity, lastUid, lastImportAt: now })
    .onConflictDoUpdate({
      target: [mailFolderState.mailboxId, mailFolderState.folder],
      set: {
        // another run of the same import may have got further: never move back within one UIDVALIDITY
        lastUid: sql`CASE WHEN ${mailFolderState.uidValidity} = excluded.uid_validity
                         THEN greatest(${mailFolderState.lastUid}, excluded.last_uid) ELSE excluded.last_uid END`,
        uidValidity: sql`excluded.uid_validity`,
        lastImportAt: now,
      },
    });
}

/**
 * IMAP dates have whole seconds and mail servers' clocks drift: a letter received up to this
 * long before the mailbox was added still counts as new.
 */
const FRESH_SLACK_MS = 15 * 60_000;

const label = (l: ParsedLetter) => (l.from ? (l.from.name ? `${l.from.name} <${l.from.address}>` : l.from.address) : 'неизвестного отправителя');
const quoted = (s: string) => (s ? `«${s.length > 120 ? s.slice(0, 117) + '…' : s}»` : '(без темы)');

/**
 * Stores one batch of letters of a folder in one transaction, with the folder's new position.
 * Each letter is tied to records by address, threaded, and stored once per mailbox and
 * Message-ID. From an unknown address to a mailbox that opens leads, a letter received after
 * the mailbox was added opens a lead (source `email`). The responsible manager is told in
 * Telegram: `new_lead` for a lead opened (sent by createLead), `email_received` otherwise.
 */
export async function storeLetters(
  ctx: ServiceContext,
  input: {
    mailbox: MailboxRow;
    folder: string;
    role: FolderRole;
    uidValidity: number;
    lastUid: number;
    letters: LetterToStore[];
    matcher: AddressMatcher;
  },
): Promise<number> {
  const { mailbox, role, matcher } = input;
  const incoming = role === 'inbox';
  return inTransaction(ctx, async (tx) => {
    // one letter per Message-ID, the first seen
    const byId = new Map<string, LetterToStore>();
    for (const l of input.letters) if (!byId.has(l.letter.messageId)) byId.set(l.letter.messageId, l);
    const batch = [...byId.values()];
    const candidates = (l: ParsedLetter) => (incoming ? [l.from?.address ?? '', ...l.replyTo, ...l.to, ...l.cc] : [...l.to, ...l.cc]);
    await matcher.prefetch(tx, batch.flatMap((b) => candidates(b.letter)));
    const own = await matcher.ownAddresses(tx);
    const planned: { item: LetterToStore; match: RecordMatch | null; fresh: boolean; openedLead: boolean }[] = [];
    for (const item of batch) {
      const { letter } = item;
      let match = await matcher.match(tx, candidates(letter));
      // letters that were in the mailbox before it was added are history: no leads, no notifications
      const fresh = (item.receivedAt ?? letter.date ?? tx.clock.now()).getTime() >= mailbox.createdAt.getTime() - FRESH_SLACK_MS;
      let openedLead = false;
      if (!match && incoming && fresh && mailbox.createsLeads && letter.from && !letter.automatic && !own.has(letter.from.address)) {
        match = await openLeadFromLetter(tx, mailbox, letter);
        if (match) {
          matcher.remember(letter.from.address, match);
          openedLead = true;
        }
      }
      planned.push({ item, match, fresh, openedLead });
    }
    const keys = await threadKeysFor(
      tx,
      batch.map((b) => b.letter),
    );
    const now = tx.clock.now();
    const inserted = planned.length
      ? await tx.db
          .insert(emails)
          .values(
            planned.map(({ item: { letter, receivedAt, attachments }, match }, i) => ({
              direction: incoming ? ('incoming' as const) : ('outgoing' as const),
              messageId: letter.messageId,
              subject: letter.subject,
              fromAddress: letter.from?.address ?? '',
              toAddresses: letter.to,
              ccAddresses: letter.cc,
              bodyText: letter.text,
              contactId: match?.contactId ?? null,
              counterpartyId: match?.counterpartyId ?? null,
              leadId: match?.leadId ?? null,
              dealId: match?.dealId ?? null,
              status: incoming ? 'received' : 'sent',
              authorUserId: incoming ? null : mailbox.ownerId,
              at: letter.date ?? receivedAt ?? now,
              mailboxId: mailbox.id,
              inReplyTo: letter.inReplyTo,
              references: letter.references,
              threadKey: keys[i]!,
              attachments,
            })),
          )
          .onConflictDoNothing({ target: [emails.mailboxId, emails.messageId] })
          .returning({ id: emails.id, messageId: emails.messageId })
      : [];
    const idOf = new Map(inserted.map((r) => [r.messageId!, r.id]));
    await mergeThreadsMany(
      tx,
      batch.flatMap((b, i) => (idOf.has(b.letter.messageId) ? [{ messageId: b.letter.messageId, threadKey: keys[i]! }] : [])),
    );
    for (const p of planned) {
      const emailId = idOf.get(p.item.letter.messageId);
      // a lead just opened was announced by createLead (new_lead, with the letter in its title and comment)
      if (emailId !== undefined && incoming && p.fresh && !p.openedLead) await tellResponsible(tx, p.item.letter, emailId, p.match);
    }
    const maxUid = Math.max(input.lastUid, ...input.letters.map((l) => l.uid));
    await saveFolderState(tx, mailbox.id, input.folder, input.uidValidity, maxUid);
    return inserted.length;
  });
}

async function openLeadFromLetter(ctx: ServiceContext, mailbox: MailboxRow, letter: ParsedLetter): Promise<RecordMatch | null> {
  const from = letter.from!;
  let contactId: number;
  try {
    const contact = await createContact(ctx, { name: from.name || from.address.split('@')[0] || from.address, emails: [from.address] });
    contactId = contact.id;
  } catch (err) {
    // an address our validation does not accept: keep the letter, open nothing
    if (isServiceError(err) && err.code === 'invalid') return null;
    throw err;
  }
  // a mailbox of one manager gives its leads to that manager; otherwise the routing rules decide
  let responsibleId: number | undefined;
  if (mailbox.ownerId) {
    const [owner] = await ctx.db.select({ role: users.role, active: users.active }).from(users).where(eq(users.id, mailbox.ownerId));
    if (owner?.active && owner.role === 'manager') responsibleId = mailbox.ownerId;
  }
  const lead = await createLead(ctx, {
    title: (letter.subject ? `Письмо: ${letter.subject}` : `Письмо от ${from.address}`).slice(0, 500),
    source: 'email',
    contactId,
    ...(responsibleId ? { responsibleId } : {}),
    comment: `Письмо в ящик «${mailbox.name}» от ${label(letter)}`,
  });
  return { address: from.address, contactId, counterpartyId: null, leadId: lead.id, dealId: null, responsibleId: lead.responsibleId };
}

async function tellResponsible(ctx: ServiceContext, letter: ParsedLetter, emailId: number, match: RecordMatch | null): Promise<void> {
  const userId = match?.responsibleId ?? null;
  if (!userId) return;
  await notify(ctx, {
    kind: 'email_received',
    userId,
    text: `Новое письмо от ${label(letter)} — ${quoted(letter.subject)}` + (match?.leadId ? ` (лид №${match.leadId})` : ''),
    leadId: match?.leadId ?? undefined,
    dealId: match?.dealId ?? undefined,
    dedupeKey: `email:${emailId}`,
  });
}
