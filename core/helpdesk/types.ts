import type { tickets, answerTemplates, businessConnections } from '../db/schema/index.js';

/** R23 HelpDesk: «Обращения». The enums come from the schema so a new value is a type error everywhere. */
export type Ticket = typeof tickets.$inferSelect;
export type TicketStatus = Ticket['status'];
export type TicketPriority = Ticket['priority'];
export type TicketChannel = Ticket['channel'];
export type AnswerTemplate = typeof answerTemplates.$inferSelect;
export type BusinessConnection = typeof businessConnections.$inferSelect;

export const ticketStatuses: readonly TicketStatus[] = ['new', 'in_progress', 'waiting', 'solved', 'closed'];
export const ticketPriorities: readonly TicketPriority[] = ['urgent', 'high', 'normal', 'low'];
export const ticketChannels: readonly TicketChannel[] = ['telegram', 'whatsapp', 'viber', 'email', 'manual'];
/** statuses in which the client still waits for us (SLA clocks run, the ticket counts as open) */
export const openTicketStatuses: readonly TicketStatus[] = ['new', 'in_progress', 'waiting'];

/** One line of a ticket list (panel, /tickets). */
export interface TicketListItem {
  id: number;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  channel: TicketChannel;
  contactId: number | null;
  contactName: string | null;
  counterpartyId: number | null;
  counterpartyName: string | null;
  assigneeId: number | null;
  assigneeName: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** the nearest SLA due time still ahead or passed without being met (first response, else resolution) */
  dueAt: Date | null;
  /** an SLA target passed without being met */
  overdue: boolean;
  rating: number | null;
}

/** One entry of a ticket's conversation, oldest first: the client's and our messages and letters, and notes. */
export interface TicketEntry {
  kind: 'message' | 'email' | 'note';
  id: number;
  direction: 'in' | 'out' | null;
  at: Date;
  text: string | null;
  /** a letter's subject */
  subject?: string | null;
  authorName: string | null;
  attachments: { name: string; mime: string; size: number; index: number }[];
  /** an outgoing message's delivery state (queued, sent, delivered, seen, failed) */
  deliveryStatus?: string | null;
  editedAt?: Date | null;
  deletedAt?: Date | null;
}

/** The ticket card: the row, names, SLA state and the conversation. */
export interface TicketCard {
  ticket: Ticket;
  contactName: string | null;
  counterpartyName: string | null;
  assigneeName: string | null;
  entries: TicketEntry[];
  /** can the CRM answer on the ticket's channel (a messenger chat or a mailbox); why not, in Russian */
  canReply: boolean;
  cannotReplyReason?: string;
}

/** A row of the HelpDesk report, per assignee over a period. */
export interface TicketReportRow {
  assigneeId: number | null;
  assigneeName: string;
  /** created in the period */
  created: number;
  /** open now (new, in work, waiting) */
  open: number;
  /** open now with an SLA target passed */
  overdue: number;
  /** solved or closed in the period */
  solved: number;
  /** in working minutes, over tickets created in the period that got an answer */
  medianFirstResponseMinutes: number | null;
  /** in working minutes, over tickets solved in the period */
  medianResolutionMinutes: number | null;
  averageRating: number | null;
  rated: number;
}
