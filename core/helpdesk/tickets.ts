import type { SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import type { InboundAttachment } from '../channels/types.js';
import type { Ticket, TicketCard, TicketChannel, TicketListItem, TicketPriority, TicketStatus } from './types.js';

// CONTRACT (helper A owns this file). Signatures are fixed; bodies are to be written.

/** R3 for tickets: as for leads — the assignee, and whoever sees the ticket's counterparty or contact. */
export function ticketScope(ctx: ServiceContext): SQL | undefined {
  void ctx;
  throw new Error('not implemented');
}

/** A visible ticket, or not_found / forbidden. */
export async function getTicket(ctx: ServiceContext, id: number): Promise<Ticket> {
  void [ctx, id];
  throw new Error('not implemented');
}

export interface TicketFilter {
  /** 'open' = new, in work, waiting; 'all' = every status */
  status?: TicketStatus | 'open' | 'all';
  assigneeId?: number | undefined;
  /** only tickets with an SLA target passed without being met */
  overdue?: boolean | undefined;
  priority?: TicketPriority | undefined;
  channel?: TicketChannel | undefined;
  counterpartyId?: number | undefined;
  contactId?: number | undefined;
  /** number, subject or client name */
  q?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Newest activity first, under ticketScope. */
export async function listTickets(ctx: ServiceContext, filter: TicketFilter = {}): Promise<{ rows: TicketListItem[]; total: number }> {
  void [ctx, filter];
  throw new Error('not implemented');
}

/** The card: the row, names, and the whole conversation (messages, letters, notes) oldest first. */
export async function ticketCard(ctx: ServiceContext, id: number): Promise<TicketCard> {
  void [ctx, id];
  throw new Error('not implemented');
}

/** A ticket typed in by a manager (a call, a visit): channel `manual`, or on the client's messenger chat when conversationId is given. */
export async function createTicket(
  ctx: ServiceContext,
  input: { subject: string; contactId?: number | null; counterpartyId?: number | null; priority?: TicketPriority; assigneeId?: number | null; text?: string | null; conversationId?: number | null },
): Promise<Ticket> {
  void [ctx, input];
  throw new Error('not implemented');
}

/** Status, priority, assignee, subject. SLA pause/resume on «Ждём клиента», recomputed targets on a new priority; «Решено» asks the client to rate. */
export async function updateTicket(
  ctx: ServiceContext,
  id: number,
  input: { status?: TicketStatus; priority?: TicketPriority; assigneeId?: number | null; subject?: string },
): Promise<Ticket> {
  void [ctx, id, input];
  throw new Error('not implemented');
}

/**
 * The answer to the client on the ticket's channel: a messenger reply (stored and queued as
 * replyInConversation does, tied to the ticket), or a letter from the ticket's mailbox in its thread.
 * The first answer stamps first_response_at; a new ticket goes «В работе».
 */
export async function replyToTicket(
  ctx: ServiceContext,
  id: number,
  input: { text: string; templateId?: number | null },
  opts: { files?: InboundAttachment[]; attachmentsDir?: string; dataDir?: string } = {},
): Promise<{ messageId?: number; emailId?: number }> {
  void [ctx, id, input, opts];
  throw new Error('not implemented');
}

/** «Сделать обращением»: a lead's chat becomes a ticket (the lead is closed if nothing else happened on it). */
export async function ticketFromLead(ctx: ServiceContext, leadId: number): Promise<Ticket> {
  void [ctx, leadId];
  throw new Error('not implemented');
}

/** «Сделать лидом»: the ticket's client gets a lead carrying its chat; the ticket is closed. Returns the lead id. */
export async function leadFromTicket(ctx: ServiceContext, ticketId: number): Promise<number> {
  void [ctx, ticketId];
  throw new Error('not implemented');
}

/** Is the contact (or its counterparty) an existing client: marked «действующий клиент», or with a paid deal. */
export async function isExistingClient(ctx: ServiceContext, contactId: number): Promise<boolean> {
  void [ctx, contactId];
  throw new Error('not implemented');
}
