import { and, desc, eq, inArray } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { emails, leads, mailFolderState, tickets, users, type mailboxes } from '../db/schema/index.js';
import { createContact } from '../contacts/contacts.js';
import { createLead } from '../leads/leads.js';
import { notify } from '../notifications/notify.js';
import { isServiceError } from '../errors.js';
import { sql } from 'drizzle-orm';
import type { AddressMatcher, RecordMatch } from './matching.js';
import { mergeThreadsMany, threadKeysFor } from './threading.js';
import type { ParsedLetter } from './parse.js';
import type { StoredAttachment } from './attachments.js';
import { announceTicket, clientWroteOnTicket, existingClient, existingCounterpartyClient, openTicket, ticketAnswered, ticketClientNames, ticketNoticeText } from '../helpdesk/open.js';
import { parseRating, ratingFromMessage } from '../helpdesk/ratings.js';
import { ticketTitle } from '../helpdesk/labels.js';
import { openTicketStatuses, type Ticket } from '../helpdesk/types.js';

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
 * the mailbox was added opens a lead (source `email`). R23: a letter in the thread of a ticket
 * joins it (a client's letter reopens a solved one); otherwise a fresh client's letter to a
 * support mailbox (creates_tickets), or an existing client's to a mailbox that opens leads, opens
 * a ticket. The responsible manager is told in Telegram: `new_lead` for a lead opened (sent by
 * createLead), `new_ticket` for a ticket opened, `email_received` otherwise (naming the ticket).
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
    const keys = await threadKeysFor(
      tx,
      batch.map((b) => b.letter),
    );
    const planned: { item: LetterToStore; match: RecordMatch | null; fresh: boolean; openedLead: boolean; ticket: TicketPlan | null }[] = [];
    for (const [i, item] of batch.entries()) {
      const { letter } = item;
      let match = await matcher.match(tx, candidates(letter));
      // letters that were in the mailbox before it was added are history: no leads, no notifications
      const fresh = (item.receivedAt ?? letter.date ?? tx.clock.now()).getTime() >= mailbox.createdAt.getTime() - FRESH_SLACK_MS;
      const fromClient = !!letter.from && !letter.automatic && !own.has(letter.from.address);
      // R23: a letter in a ticket's thread is the ticket's; a support mailbox's letter, or an existing client's, opens one
      const thread = await ticketOfThread(tx, keys[i]!, incoming && fresh && fromClient ? letter.text : null, incoming && fresh && fromClient);
      let ticket = thread && 'ticket' in thread ? thread : null;
      // a ticket made into a lead: the thread goes on in that lead, nothing opens again
      if (thread && 'leadId' in thread) match = await leadOfThread(tx, thread.leadId, match, letter.from?.address ?? '');
      if (!thread && incoming && fresh && fromClient && (mailbox.createsTickets || mailbox.createsLeads)) {
        const opensTicket = mailbox.createsTickets || (!!match && !match.leadId && (await existingClientOf(tx, match)));
        if (opensTicket) {
          match ??= await contactFromLetter(tx, letter);
          if (match) {
            matcher.remember(letter.from!.address, match);
            const opened = await openTicket(tx, {
              subject: (letter.subject || `Письмо от ${letter.from!.address}`).slice(0, 500),
              channel: 'email',
              contactId: match.contactId,
              counterpartyId: match.counterpartyId,
              mailboxId: mailbox.id,
              emailThreadKey: keys[i]!,
              assigneeId: await managerOwner(tx, mailbox),
              history: `Обращение открыто: письмо в ящик «${mailbox.name}» от ${label(letter)}`,
            });
            ticket = { ticket: opened, created: true, ratedOnly: false };
          }
        }
      }
      let openedLead = false;
      if (!ticket && !match && incoming && fresh && mailbox.createsLeads && fromClient) {
        match = await openLeadFromLetter(tx, mailbox, letter);
        if (match) {
          matcher.remember(letter.from!.address, match);
          openedLead = true;
        }
      }
      // our own answer in a ticket's thread (sent from a mail program) answers the ticket
      if (!incoming && ticket && fresh) await ticketAnswered(tx, ticket.ticket.id, letter.date ?? tx.clock.now());
      planned.push({ item, match, fresh, openedLead, ticket });
    }
    const now = tx.clock.now();
    const inserted = planned.length
      ? await tx.db
          .insert(emails)
          .values(
            planned.map(({ item: { letter, receivedAt, attachments }, match, ticket }, i) => ({
              direction: incoming ? ('incoming' as const) : ('outgoing' as const),
              messageId: letter.messageId,
              subject: letter.subject,
              fromAddress: letter.from?.address ?? '',
              toAddresses: letter.to,
              ccAddresses: letter.cc,
              bodyText: letter.text,
              contactId: match?.contactId ?? ticket?.ticket.contactId ?? null,
              counterpartyId: match?.counterpartyId ?? ticket?.ticket.counterpartyId ?? null,
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
              ticketId: ticket?.ticket.id ?? null,
            })),
          )
          .onConflictDoNothing({ target: [emails.mailboxId, emails.messageId] })
          .returning({ id: emails.id, messageId: emails.messageId })
      : [];
    const idOf = new Map(inserted.map((r) => [r.messageId!, r.id]));
    const moved = batch.flatMap((b, i) => (idOf.has(b.letter.messageId) ? [{ messageId: b.letter.messageId, threadKey: keys[i]! }] : []));
    await mergeThreadsMany(tx, moved);
    await moveTicketThreads(tx, moved);
    for (const p of planned) {
      const emailId = idOf.get(p.item.letter.messageId);
      if (emailId === undefined || !incoming || !p.fresh) continue;
      if (p.ticket) {
        if (!p.ticket.ratedOnly) await tellAssignee(tx, p.item.letter, emailId, p.ticket);
      } else if (!p.openedLead) {
        // a lead just opened was announced by createLead (new_lead, with the letter in its title and comment)
        await tellResponsible(tx, p.item.letter, emailId, p.match);
      }
    }
    const maxUid = Math.max(input.lastUid, ...input.letters.map((l) => l.uid));
    await saveFolderState(tx, mailbox.id, input.folder, input.uidValidity, maxUid);
    return inserted.length;
  });
}

/** A contact for an unknown sender; null when our validation refuses the address (the letter is kept, nothing opens). */
async function contactFromLetter(ctx: ServiceContext, letter: ParsedLetter): Promise<RecordMatch | null> {
  const from = letter.from!;
  try {
    const contact = await createContact(ctx, { name: from.name || from.address.split('@')[0] || from.address, emails: [from.address] });
    return { address: from.address, contactId: contact.id, counterpartyId: null, leadId: null, dealId: null, responsibleId: null };
  } catch (err) {
    if (isServiceError(err) && err.code === 'invalid') return null;
    throw err;
  }
}

/** a mailbox of one manager gives what it opens to that manager; otherwise the routing rules decide */
async function managerOwner(ctx: ServiceContext, mailbox: MailboxRow): Promise<number | undefined> {
  if (!mailbox.ownerId) return undefined;
  const [owner] = await ctx.db.select({ role: users.role, active: users.active }).from(users).where(eq(users.id, mailbox.ownerId));
  return owner?.active && owner.role === 'manager' ? mailbox.ownerId : undefined;
}

async function openLeadFromLetter(ctx: ServiceContext, mailbox: MailboxRow, letter: ParsedLetter): Promise<RecordMatch | null> {
  const from = letter.from!;
  const contact = await contactFromLetter(ctx, letter);
  if (!contact) return null;
  const contactId = contact.contactId!;
  const responsibleId = await managerOwner(ctx, mailbox);
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

/** A letter's ticket: the one it joined or opened; `ratedOnly`: the letter was the client's rating (nothing reopens, nobody is told). */
interface TicketPlan {
  ticket: Ticket;
  created: boolean;
  ratedOnly: boolean;
}

/**
 * The ticket of a letter's thread: an open one takes it; a solved or closed one asked for a rating
 * takes a digit as the rating; a solved one is reopened by the client's letter (our own letters and
 * auto-replies join it without reopening); a closed one is left closed.
 */
async function ticketOfThread(tx: ServiceContext, threadKey: string, text: string | null, fromClient: boolean): Promise<TicketPlan | { leadId: number } | null> {
  const [t] = await tx.db.select().from(tickets).where(eq(tickets.emailThreadKey, threadKey)).orderBy(desc(tickets.id)).limit(1).for('update');
  if (!t) return null;
  if (openTicketStatuses.includes(t.status)) return { ticket: fromClient ? await clientWroteOnTicket(tx, t) : t, created: false, ratedOnly: false };
  // a digit after the rating request, the first or a repeated one: stored once, reopens nothing
  if (fromClient && t.ratingRequestedAt && parseRating(text) !== null) {
    await ratingFromMessage(tx, t, text ?? undefined);
    return { ticket: t, created: false, ratedOnly: true };
  }
  if (t.status === 'solved') return { ticket: fromClient ? await clientWroteOnTicket(tx, t) : t, created: false, ratedOnly: false };
  if (t.leadId) return { leadId: t.leadId };
  return null;
}

/** The letter's records when its thread now runs in a lead: that lead, its client and its responsible. */
async function leadOfThread(tx: ServiceContext, leadId: number, match: RecordMatch | null, address: string): Promise<RecordMatch | null> {
  const [lead] = await tx.db
    .select({ contactId: leads.contactId, counterpartyId: leads.counterpartyId, responsibleId: leads.responsibleId })
    .from(leads)
    .where(eq(leads.id, leadId));
  if (!lead) return match;
  return {
    address: match?.address ?? address,
    contactId: lead.contactId ?? match?.contactId ?? null,
    counterpartyId: lead.counterpartyId ?? match?.counterpartyId ?? null,
    leadId,
    dealId: null,
    responsibleId: lead.responsibleId,
  };
}

const existingClientOf = (tx: ServiceContext, match: RecordMatch): Promise<boolean> =>
  match.contactId ? existingClient(tx, match.contactId) : match.counterpartyId ? existingCounterpartyClient(tx, match.counterpartyId) : Promise.resolve(false);

/** A thread joined under an earlier letter's key: its tickets follow it, as its letters do. */
async function moveTicketThreads(tx: ServiceContext, pairs: { messageId: string; threadKey: string }[]): Promise<void> {
  const moved = pairs.filter((p) => p.messageId !== p.threadKey);
  if (!moved.length) return;
  const values = sql.join(
    moved.map((p) => sql`(${p.messageId}, ${p.threadKey})`),
    sql`, `,
  );
  await tx.db.execute(sql`UPDATE tickets SET email_thread_key = v.k FROM (VALUES ${values}) AS v(m, k) WHERE tickets.email_thread_key = v.m`);
}

/** A new ticket: `new_ticket` to its assignee (else the heads); a letter on a ticket: `email_received`, naming the ticket. */
async function tellAssignee(tx: ServiceContext, letter: ParsedLetter, emailId: number, plan: TicketPlan): Promise<void> {
  const names = await ticketClientNames(tx, plan.ticket.contactId, plan.ticket.counterpartyId);
  const text = plan.created
    ? ticketNoticeText(plan.ticket, names, `${quoted(letter.subject)}${letter.text?.trim() ? `\n${letter.text.trim()}` : ''}`, letter.attachments.length)
    : `Новое письмо от ${label(letter)} — ${quoted(letter.subject)} (${ticketTitle(plan.ticket.id)})`;
  await announceTicket(tx, plan.ticket, plan.created ? 'new_ticket' : 'email_received', text, { dedupeKey: `email:${emailId}` });
}
