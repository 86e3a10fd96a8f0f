import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../core/context.js';
import { getHistory, type HistoryEntity, type HistoryItem } from '../core/history/history.js';
import { listDocuments } from '../core/history/documents.js';
import { listMadeDocuments } from '../core/documents/documents.js';
import { listOrganizations } from '../core/organizations/organizations.js';
import { listNotes } from '../core/notes/notes.js';
import { listContacts } from '../core/contacts/contacts.js';
import { listLeads } from '../core/leads/leads.js';
import { listDeals, listDealStages } from '../core/deals/deals.js';
import { listCalls } from '../core/telephony/calls.js';
import { callDirectionLabels, callStatusLabels } from '../core/telephony/labels.js';
import { listTickets } from '../core/helpdesk/tickets.js';
import { ticketChannelLabels, ticketPriorityLabels, ticketStatusLabels } from '../core/helpdesk/labels.js';
import { worksBlock, type WorkLink } from './works-block.js';
import { cardPath, userNames } from './lists.js';

/** The cards that carry the working feed of tabs (R12). */
export type RecordEntity = Extract<HistoryEntity, 'counterparty' | 'contact' | 'lead' | 'deal'>;

type Tab = 'contacts' | 'works' | 'notes' | 'emails' | 'calls' | 'messages' | 'tickets' | 'leads' | 'deals' | 'documents' | 'history';

const label: Record<Tab, string> = {
  contacts: 'Контакты',
  works: 'Работы',
  notes: 'Заметки',
  emails: 'Почта',
  calls: 'Звонки',
  messages: 'Сообщения',
  tickets: 'Обращения',
  leads: 'Лиды',
  deals: 'Сделки',
  documents: 'Документы',
  history: 'История',
};

/** Each card's tabs in their order; the first is where the card opens. */
const tabsOf: Record<RecordEntity, Tab[]> = {
  counterparty: ['contacts', 'works', 'notes', 'emails', 'calls', 'messages', 'tickets', 'leads', 'deals', 'documents', 'history'],
  contact: ['history', 'works', 'notes', 'emails', 'calls', 'messages', 'tickets', 'leads', 'documents'],
  // a lead or deal opens on its history: everything that happened, notes and works included, in one feed
  lead: ['history', 'works', 'notes', 'emails', 'calls', 'messages', 'documents'],
  deal: ['history', 'works', 'notes', 'emails', 'calls', 'messages', 'documents'],
};

/** The history tabs that show one kind of item, and what they say when there is none. */
const historyKind: Partial<Record<Tab, HistoryItem['kind']>> = { emails: 'email', messages: 'message' };
const emptyText: Partial<Record<Tab, string>> = { emails: 'Писем пока нет.', calls: 'Звонков пока нет.', messages: 'Сообщений пока нет.', tickets: 'Обращений пока нет.', history: 'История пуста.' };


const workLink = (entity: RecordEntity, id: number): WorkLink =>
  entity === 'counterparty' ? { counterpartyId: id } : entity === 'contact' ? { contactId: id } : entity === 'lead' ? { leadId: id } : { dealId: id };

/**
 * The tabs of a record's card and the data of the open one, rendered by partials/record-tabs.eta:
 * `feed: await recordTabs(ctx, req, 'deal', deal.id, str(query(req), 'tab'))` in the route,
 * `<%~ include('/partials/record-tabs', it.feed) %>` in the card. Every read goes through a core
 * verb with the actor's access rules; only the open tab's data is read.
 */
export async function recordTabs(ctx: ServiceContext, req: FastifyRequest, entity: RecordEntity, id: number, tabParam: string) {
  const base = `/admin/${cardPath[entity]}/${id}`;
  const keys = tabsOf[entity];
  const tab: Tab = (keys as string[]).includes(tabParam) ? (tabParam as Tab) : keys[0]!;
  const tabs: [string, string][] = keys.map((k) => [k, label[k]]);
  const back = `${base}?tab=${tab}`;
  const feed = { entity, id, base, back, tab, tabs, empty: emptyText[tab] ?? '' };
  const me = req.adminUser;

  if (tab === 'works') return { ...feed, worksBlock: await worksBlock(ctx, req, workLink(entity, id), back) };
  if (tab === 'notes') {
    const notes = await listNotes(ctx, entity, id);
    // the author edits and deletes a note; the head and admins may too (the verb checks again)
    return { ...feed, notes: notes.map((n) => ({ ...n, canEdit: !!me && (n.authorUserId === me.id || me.role !== 'manager') })) };
  }
  if (tab === 'documents') {
    const [documents, made, organizations] = await Promise.all([
      listDocuments(ctx, entity, id),
      listMadeDocuments(ctx, entity, id),
      entity === 'deal' ? listOrganizations(ctx) : Promise.resolve([]),
    ]);
    return { ...feed, documents, made, organizations };
  }
  // the record's calls with their result and recording (R20), as the «Звонки» list shows them
  if (tab === 'calls') {
    const calls = await listCalls(ctx, { ...workLink(entity, id), limit: 200 });
    return { ...feed, calls, callLabels: { status: callStatusLabels, direction: callDirectionLabels } };
  }
  // the client's requests (R23), every status, newest activity first, as «Обращения» lists them
  if (tab === 'tickets') {
    const filter = entity === 'contact' ? { contactId: id } : { counterpartyId: id };
    const { rows } = await listTickets(ctx, { ...filter, status: 'all', limit: 200 });
    return { ...feed, tickets: rows, ticketLabels: { status: ticketStatusLabels, priority: ticketPriorityLabels, channel: ticketChannelLabels } };
  }
  if (tab === 'contacts') return { ...feed, contacts: (await listContacts(ctx, { counterpartyId: id }, { limit: 200 })).items };
  if (tab === 'leads') {
    const filter = entity === 'contact' ? { contactId: id } : { counterpartyId: id };
    const [leads, n] = await Promise.all([listLeads(ctx, filter, { limit: 200 }), userNames(ctx)]);
    return { ...feed, leads: leads.items, userName: n.userName };
  }
  if (tab === 'deals') {
    const [deals, stages, n] = await Promise.all([listDeals(ctx, { counterpartyId: id }, { limit: 200 }), listDealStages(ctx), userNames(ctx)]);
    return { ...feed, deals: deals.items, stageName: Object.fromEntries(stages.map((s) => [s.id, s.name])) as Record<number, string>, userName: n.userName };
  }
  const kind = historyKind[tab];
  const items = await getHistory(ctx, entity, id, { limit: kind ? 1000 : 300 });
  return { ...feed, history: kind ? items.filter((i) => i.kind === kind) : items };
}
