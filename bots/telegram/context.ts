import type { Context, SessionFlavor } from 'grammy';
import type { ServiceContext } from '../../core/context.js';
import type { User } from '../../core/users/users.js';
import type { LeadSource } from '../../core/leads/leads.js';

/** A multi-step input in progress in one chat. */
export type Flow =
  | {
      kind: 'newlead';
      step: 'name' | 'phone' | 'email' | 'company' | 'source' | 'comment';
      data: { name?: string; phone?: string; email?: string; company?: string; source?: LeadSource };
    }
  | { kind: 'work_deadline'; target: WorkTarget; actionId: number }
  | { kind: 'follow_up'; workId: number }
  | { kind: 'work_move'; workId: number }
  | { kind: 'work_cancel'; workId: number }
  | { kind: 'deal_amount'; dealId: number }
  | { kind: 'deal_title'; dealId: number }
  /** «Изменить» → «Клиент»: the next text searches a counterparty for the deal */
  | { kind: 'deal_cp'; dealId: number }
  | { kind: 'deal_paid'; dealId: number }
  | { kind: 'deal_lost'; dealId: number; lossReasonId: number }
  /** «Позиции» → «Добавить позицию»: a name (or a product found by it), the quantity, the price; the session is JSON, so kopecks as text */
  | { kind: 'deal_line'; dealId: number; step: 'name' | 'quantity' | 'price'; name?: string; productId?: number; unit?: string; priceKopecks?: string; quantity?: string }
  | { kind: 'newdeal'; step: 'title' | 'amount' | 'client'; data: NewDealData }
  | { kind: 'note'; target: RecordRef }
  | { kind: 'lead_cp'; leadId: number; step: 'name' | 'inn' | 'search'; name?: string }
  | { kind: 'lead_close'; leadId: number }
  | { kind: 'contact_edit'; contactId: number; field: 'name' | 'phone' | 'email' }
  /** «Ответить» pressed at `at` (ISO): the next text or file goes to the client, for a few minutes */
  | { kind: 'reply'; conversationId: number; at?: string }
  | { kind: 'mail'; step: 'subject' | 'body'; target: MailTarget; subject?: string }
  /** R23 «✍️ Ответить» on a ticket pressed at `at` (ISO): the next text or file is the answer, on the ticket's channel */
  | { kind: 'ticket_reply'; ticketId: number; at?: string }
  /** R23 «📝 Заметка» on a ticket: the next text is the note */
  | { kind: 'ticket_note'; ticketId: number };

export type MailTarget = { leadId?: number; counterpartyId?: number; contactId?: number; dealId?: number };

/** A record a card shows: callback data spells the counterparty «cp». */
export type RecordRef = { type: 'lead' | 'deal' | 'contact' | 'cp'; id: number };
export type WorkTarget = RecordRef;

export type NewDealData = { title?: string; amount?: string; counterpartyId?: number; contactId?: number; client?: string };

export interface SessionData {
  flow?: Flow | undefined;
}

export type BotContext = Context &
  SessionFlavor<SessionData> & {
    /** the linked CRM user, or undefined for a client */
    staff?: User | undefined;
    /** the ServiceContext acting as that user (or as the system for clients) */
    crm: ServiceContext;
    /** R20: a telephony provider that places calls is configured: cards offer «📞 Позвонить» */
    canCall?: boolean;
  };
