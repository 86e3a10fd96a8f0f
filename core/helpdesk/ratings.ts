import type { ServiceContext } from '../context.js';
import type { Ticket } from './types.js';

// CONTRACT (helper C owns this file).

export const RATING_TOKEN_PURPOSE = 'ticket-rating';

/**
 * After «Решено»: asks the client to rate the answer, once per solving — 1–5 buttons on Telegram
 * and Viber (an outgoing message with `choices`), numbers on WhatsApp and Telegram Business,
 * a link in a letter for e-mail tickets. Runs inside the transaction that solved the ticket.
 */
export async function requestRating(tx: ServiceContext, ticket: Ticket, env: { publicUrl?: string | undefined; secretKey: string }): Promise<void> {
  void [tx, ticket, env];
  throw new Error('not implemented');
}

/**
 * A client's message on a ticket waiting for a rating: «1»…«5» (or a button's value) is the rating,
 * stored, and thanked for. Returns true when the text was a rating (the ticket is not reopened).
 */
export async function ratingFromMessage(tx: ServiceContext, ticket: Ticket, text: string | undefined): Promise<boolean> {
  void [tx, ticket, text];
  throw new Error('not implemented');
}

/** A rating from the e-mail link: the signed token names the ticket. */
export async function rateByToken(ctx: ServiceContext, secretKey: string, token: string, rating: number): Promise<Ticket> {
  void [ctx, secretKey, token, rating];
  throw new Error('not implemented');
}
