import type { Context, SessionFlavor } from 'grammy';
import type { ServiceContext } from '../../core/context.js';
import type { User } from '../../core/users/users.js';

/** A multi-step input in progress in one chat. */
export type Flow =
  | { kind: 'newlead'; step: 'name' | 'phone' | 'company' | 'comment'; data: { name?: string; phone?: string; company?: string } }
  | { kind: 'work_deadline'; target: WorkTarget; actionId: number }
  | { kind: 'follow_up'; workId: number }
  | { kind: 'deal_amount'; dealId: number }
  /** «Ответить» pressed at `at` (ISO): the next text or file goes to the client, for a few minutes */
  | { kind: 'reply'; conversationId: number; at?: string }
  | { kind: 'mail'; step: 'subject' | 'body'; target: MailTarget; subject?: string };

export type MailTarget = { leadId?: number; counterpartyId?: number; contactId?: number; dealId?: number };

export type WorkTarget = { type: 'lead' | 'deal' | 'cp'; id: number };

export interface SessionData {
  flow?: Flow | undefined;
}

export type BotContext = Context &
  SessionFlavor<SessionData> & {
    /** the linked CRM user, or undefined for a client */
    staff?: User | undefined;
    /** the ServiceContext acting as that user (or as the system for clients) */
    crm: ServiceContext;
  };
