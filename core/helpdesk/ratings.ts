import { and, desc, eq, isNull, or, sql } from 'drizzle-orm';
import { inTransaction, systemActor, type ServiceContext } from '../context.js';
import { contacts, conversations, emails, mailboxes, tickets } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { signToken, verifyToken } from '../crypto/signed-token.js';
import { recordHistory } from '../shared/audit.js';
import { notify } from '../notifications/notify.js';
import { queueOutgoingMessage } from '../channels/send-job.js';
import { composeEmail } from '../mail/compose.js';
import { ticketTitle } from './labels.js';
import type { Ticket } from './types.js';

export const RATING_TOKEN_PURPOSE = 'ticket-rating';

/** the rating buttons: a channel without buttons shows their labels as text */
export const ratingChoices: { label: string; value: string }[] = ['1', '2', '3', '4', '5'].map((v) => ({ label: v, value: v }));

export const ratingQuestion = (ticketId: number) => `Оцените, пожалуйста, ответ по обращению №${ticketId}: от 1 (плохо) до 5 (отлично).`;
export const RATING_THANKS = 'Спасибо за оценку!';

/** the e-mail link's payload: the ticket, nothing else (the link is unguessable, so it is the client's) */
interface RatingPayload {
  t: number;
}

export const ratingToken = (secretKey: string, ticketId: number) => signToken(secretKey, RATING_TOKEN_PURPOSE, { t: ticketId } satisfies RatingPayload);
export const ratingUrl = (publicUrl: string, secretKey: string, ticketId: number) => `${publicUrl.replace(/\/+$/, '')}/rate/${ratingToken(secretKey, ticketId)}`;

/**
 * «5», «5.», «5!», «5 из 5», «Оценка: 4» on the first non-empty line (a letter's quoted text
 * follows below); anything else is not a rating and goes on as the client's message.
 */
export function parseRating(text: string | undefined | null): number | null {
  const first = (text ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!first) return null;
  const m = /^(?:оценка\s*:?\s*)?([1-5])(?:\s*из\s*5)?\s*[.!)]*$/i.exec(first);
  return m ? Number(m[1]) : null;
}

const lockedTicket = async (tx: ServiceContext, id: number): Promise<Ticket | undefined> =>
  (await tx.db.select().from(tickets).where(eq(tickets.id, id)).for('update'))[0];

/** An outgoing message on the ticket's chat, sent by the channel job once the transaction commits. */
async function sendOnChat(tx: ServiceContext, ticket: Ticket, text: string, choices?: { label: string; value: string }[]): Promise<number | null> {
  if (!ticket.conversationId) return null;
  const [conv] = await tx.db.select({ id: conversations.id, channel: conversations.channel }).from(conversations).where(eq(conversations.id, ticket.conversationId));
  if (!conv) return null;
  // the CRM asks, not a manager: no author, so a failed delivery is nobody's to be told about
  const message = await queueOutgoingMessage(tx, conv, { text, authorUserId: null, ticketId: ticket.id, choices: choices ?? null });
  return message.id;
}

/**
 * A letter to the client of an e-mail ticket from the ticket's mailbox, in its thread (under the
 * client's last letter). Null when there is nowhere to send it from or to: the mailbox was
 * deleted or switched off, or nobody's address is known.
 */
async function sendLetter(tx: ServiceContext, ticket: Ticket, body: string): Promise<number | null> {
  if (!ticket.mailboxId) return null;
  const [mailbox] = await tx.db.select({ id: mailboxes.id, active: mailboxes.active }).from(mailboxes).where(eq(mailboxes.id, ticket.mailboxId));
  if (!mailbox?.active) return null;
  const [parent] = await tx.db
    .select({ id: emails.id, from: emails.fromAddress })
    .from(emails)
    .where(
      and(
        eq(emails.direction, 'incoming'),
        ticket.emailThreadKey ? or(eq(emails.ticketId, ticket.id), eq(emails.threadKey, ticket.emailThreadKey)) : eq(emails.ticketId, ticket.id),
      ),
    )
    .orderBy(desc(emails.at), desc(emails.id))
    .limit(1);
  let to: string[] = [];
  if (!parent && ticket.contactId) {
    const [contact] = await tx.db.select({ emails: contacts.emails }).from(contacts).where(eq(contacts.id, ticket.contactId));
    to = contact?.emails.slice(0, 1) ?? [];
  }
  if (!parent && !to.length) return null;
  // the CRM writes, not the acting manager: the system may use the ticket's mailbox whoever solved it
  const sys: ServiceContext = { ...tx, actor: systemActor('обращения') };
  const letter = await composeEmail(sys, {
    mailboxId: mailbox.id,
    ...(parent ? { replyToEmailId: parent.id } : { to, subject: `${ticketTitle(ticket.id)}: ${ticket.subject}` }),
    contactId: ticket.contactId,
    counterpartyId: ticket.counterpartyId,
    body,
  });
  await tx.db.update(emails).set({ ticketId: ticket.id }).where(eq(emails.id, letter.id));
  return letter.id;
}

/**
 * After «Решено»: asks the client to rate the answer, once per solving — 1–5 buttons on Telegram
 * and Viber (an outgoing message with `choices`), numbers on WhatsApp and Telegram Business,
 * a link in a letter for e-mail tickets. Runs inside the transaction that solved the ticket
 * (call it once the row is «Решено» with solved_at set).
 */
export async function requestRating(tx: ServiceContext, ticket: Ticket, env: { publicUrl?: string | undefined; secretKey: string }): Promise<void> {
  const row = await lockedTicket(tx, ticket.id);
  if (!row || row.rating !== null) return;
  // once per solving: a request made since this solving began is not repeated
  if (row.ratingRequestedAt && (!row.solvedAt || row.ratingRequestedAt >= row.solvedAt)) return;
  let asked: number | null;
  if (row.channel === 'email') {
    // a link needs both: an address to open and a key to sign with (never an empty one)
    const body = env.publicUrl && env.secretKey
      ? `Здравствуйте!\n\n${ticketTitle(row.id)} «${row.subject}» решено. Оцените, пожалуйста, ответ — от 1 (плохо) до 5 (отлично): откройте ссылку и нажмите оценку.\n\n${ratingUrl(env.publicUrl, env.secretKey, row.id)}\n\nСпасибо!`
      : `Здравствуйте!\n\n${ticketTitle(row.id)} «${row.subject}» решено. Оцените, пожалуйста, ответ: ответьте на это письмо одной цифрой от 1 (плохо) до 5 (отлично).\n\nСпасибо!`;
    asked = await sendLetter(tx, row, body);
  } else {
    asked = await sendOnChat(tx, row, ratingQuestion(row.id), ratingChoices);
  }
  if (asked === null) {
    tx.log.debug({ ticketId: row.id, channel: row.channel }, 'rating not requested: no chat or mailbox to ask in');
    return;
  }
  await tx.db.update(tickets).set({ ratingRequestedAt: tx.clock.now() }).where(eq(tickets.id, row.id));
}

/**
 * Stores the rating once (a second one changes nothing and returns false), records it, tells
 * the assignee. The caller thanks the client where it asked.
 */
async function storeRating(tx: ServiceContext, ticketId: number, rating: number): Promise<Ticket | null> {
  const now = tx.clock.now();
  const [row] = await tx.db
    .update(tickets)
    .set({ rating, ratedAt: now, updatedAt: now })
    .where(and(eq(tickets.id, ticketId), isNull(tickets.rating), sql`${tickets.ratingRequestedAt} IS NOT NULL`))
    .returning();
  if (!row) return null;
  await recordHistory(tx, 'ticket', row.id, 'rated', `Клиент оценил ответ: ${rating} из 5`, { rating });
  if (row.assigneeId) {
    await notify(tx, {
      kind: 'client_message',
      userId: row.assigneeId,
      text: `Оценка по обращению №${row.id}: ${rating} из 5`,
      ticketId: row.id,
      ...(row.conversationId ? { conversationId: row.conversationId } : {}),
      dedupeKey: `ticket:${row.id}:rated`,
    });
  }
  return row;
}

/**
 * A client's message on a ticket waiting for a rating: «1»…«5» (or a button's value) is the rating,
 * stored, and thanked for. Returns true when the text was a rating (the ticket is not reopened).
 */
export async function ratingFromMessage(tx: ServiceContext, ticket: Ticket, text: string | undefined): Promise<boolean> {
  const rating = parseRating(text);
  if (rating === null) return false;
  return inTransaction(tx, async (t) => {
    const row = await lockedTicket(t, ticket.id);
    if (!row || row.rating !== null || !row.ratingRequestedAt || (row.status !== 'solved' && row.status !== 'closed')) return false;
    const rated = await storeRating(t, row.id, rating);
    if (!rated) return false;
    if (rated.channel === 'email') await sendLetter(t, rated, `${RATING_THANKS}\n\n${ticketTitle(rated.id)} «${rated.subject}».`);
    else await sendOnChat(t, rated, RATING_THANKS);
    return true;
  });
}

const badLink = () => invalid({ token: 'ссылка для оценки недействительна' }, 'Ссылка для оценки недействительна');

/** The ticket an e-mail link names, for the rating page; changes nothing. */
export async function describeRatingToken(ctx: ServiceContext, secretKey: string, token: string): Promise<Pick<Ticket, 'id' | 'rating' | 'ratingRequestedAt'>> {
  const p = verifyToken<RatingPayload>(secretKey, RATING_TOKEN_PURPOSE, token);
  if (!p || !Number.isSafeInteger(p.t) || p.t <= 0 || p.t > 2_147_483_647) throw badLink();
  const [row] = await ctx.db
    .select({ id: tickets.id, rating: tickets.rating, ratingRequestedAt: tickets.ratingRequestedAt })
    .from(tickets)
    .where(eq(tickets.id, p.t));
  if (!row) throw badLink();
  return row;
}

/**
 * A rating from the e-mail link: the signed token names the ticket. Stored once; following the
 * link again returns the ticket with the first rating. The page thanks the client, no letter.
 */
export async function rateByToken(ctx: ServiceContext, secretKey: string, token: string, rating: number): Promise<Ticket> {
  const found = await describeRatingToken(ctx, secretKey, token);
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw invalid({ rating: 'оценка от 1 до 5' });
  return inTransaction(ctx, async (tx) => {
    const row = await lockedTicket(tx, found.id);
    if (!row) throw badLink();
    if (row.rating !== null) return row;
    return (await storeRating(tx, row.id, rating)) ?? row;
  });
}
