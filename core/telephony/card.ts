import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { deals, leads } from '../db/schema/index.js';
import { getHistory, type HistoryItem } from '../history/history.js';
import { isServiceError } from '../errors.js';
import { openLeadOrDeal } from '../leads/open-request.js';
import { formatPhone } from '../validation/phone.js';
import { getCall, type CallView } from './calls.js';

/** What an incoming-call card shows (Telegram and the panel's live window). */
export interface CallCard {
  call: CallView;
  /** the client's number, formatted for people */
  number: string;
  contact: { id: number; name: string } | null;
  counterparty: { id: number; name: string } | null;
  lead: { id: number; title: string } | null;
  deal: { id: number; title: string } | null;
  /** the client's last interactions, newest first, at most 3 */
  last: HistoryItem[];
}

/**
 * The card of a call the actor may see (getCall's rules): who is calling, their company, the lead
 * or deal it is about (the call's own, else the contact's open one) and the last three things that
 * happened with the client, this call left out. The timeline is read with the record's own access
 * rules: a call given to someone outside the client's segment shows who calls, not their history.
 */
export async function callCard(ctx: ServiceContext, callId: number): Promise<CallCard> {
  const call = await getCall(ctx, callId);
  let lead = call.leadId ? await leadTitle(ctx, call.leadId) : null;
  let deal = call.dealId ? await dealTitle(ctx, call.dealId) : null;
  if (!lead && !deal && call.contactId) {
    const open = await openLeadOrDeal(ctx, call.contactId);
    lead = open.lead ? { id: open.lead.id, title: open.lead.title } : null;
    deal = open.deal ? { id: open.deal.id, title: open.deal.title } : null;
  }
  const number = call.clientNumber ? formatPhone(call.clientNumber) : (call.direction === 'in' ? call.fromNumber : call.toNumber) || 'номер скрыт';
  return {
    call,
    number,
    contact: call.contactId ? { id: call.contactId, name: call.contactName ?? number } : null,
    counterparty: call.counterpartyId ? { id: call.counterpartyId, name: call.counterpartyName ?? '' } : null,
    lead,
    deal,
    last: await lastInteractions(ctx, call),
  };
}

async function leadTitle(ctx: ServiceContext, id: number) {
  const [l] = await ctx.db.select({ id: leads.id, title: leads.title }).from(leads).where(eq(leads.id, id));
  return l ?? null;
}

async function dealTitle(ctx: ServiceContext, id: number) {
  const [d] = await ctx.db.select({ id: deals.id, title: deals.title }).from(deals).where(eq(deals.id, id));
  return d ?? null;
}

/** Interactions, not bookkeeping: works, messages, calls, letters and notes (a record's own events are left out). */
async function lastInteractions(ctx: ServiceContext, call: CallView): Promise<HistoryItem[]> {
  const target = call.counterpartyId ? ({ entity: 'counterparty', id: call.counterpartyId } as const) : call.contactId ? ({ entity: 'contact', id: call.contactId } as const) : null;
  if (!target) return [];
  try {
    const items = await getHistory(ctx, target.entity, target.id, { limit: 30 });
    return items.filter((i) => i.kind !== 'event' && !(i.kind === 'call' && i.id === call.id)).slice(0, 3);
  } catch (err) {
    if (isServiceError(err) && (err.code === 'forbidden' || err.code === 'not_found')) return [];
    throw err;
  }
}
