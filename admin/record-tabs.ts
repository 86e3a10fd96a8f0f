import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../core/context.js';
import { getHistory, type HistoryEntity } from '../core/history/history.js';

/** The cards that carry the working feed of tabs (R12). */
export type RecordEntity = Extract<HistoryEntity, 'counterparty' | 'contact' | 'lead' | 'deal'>;

/**
 * The tabs of a record's card and the data of the open one, rendered by partials/record-tabs.eta:
 * `feed: await recordTabs(ctx, req, 'deal', deal.id, str(query(req), 'tab'))` in the route,
 * `<%~ include('/partials/record-tabs', it.feed) %>` in the card.
 * (Groundwork: history only; the full feed — works, e-mails, calls, messages, documents, notes — comes with the notes part.)
 */
export async function recordTabs(ctx: ServiceContext, _req: FastifyRequest, entity: RecordEntity, id: number, _tabParam: string) {
  const base = `/admin/${{ counterparty: 'counterparties', contact: 'contacts', lead: 'leads', deal: 'deals' }[entity]}/${id}`;
  const tabs: [string, string][] = [['history', 'История']];
  return { entity, id, base, tab: 'history', tabs, history: await getHistory(ctx, entity, id, { limit: 200 }) };
}
