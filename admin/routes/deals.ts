import type { FastifyInstance } from 'fastify';
import { getDeal, listDeals, listDealStages, setDealStage } from '../../core/deals/deals.js';
import { getHistory } from '../../core/history/history.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { body, idParam, int, query, str } from '../forms.js';
import { ctxOf, render, withQuery } from '../render.js';
import { formAction } from '../form-action.js';
import { PAGE_SIZE, pageOf, userNames } from '../lists.js';
import type { AdminDeps } from '../types.js';

export default async function dealRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/deals', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: { stageId?: number; responsibleId?: number; open?: boolean } = {};
    if (int(q, 'stageId')) filter.stageId = int(q, 'stageId');
    if (int(q, 'responsibleId')) filter.responsibleId = int(q, 'responsibleId');
    if (str(q, 'open') === '1') filter.open = true;
    if (str(q, 'open') === '0') filter.open = false;
    const p = pageOf(q);
    const [list, stages, n] = await Promise.all([listDeals(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }), listDealStages(ctx), userNames(ctx)]);
    const items = list.items.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/deals', {
      title: 'Сделки',
      items,
      hasMore: list.items.length > PAGE_SIZE,
      page: p,
      filter,
      fq: { ...(filter.stageId ? { stageId: String(filter.stageId) } : {}), ...(filter.responsibleId ? { responsibleId: String(filter.responsibleId) } : {}), ...(filter.open !== undefined ? { open: filter.open ? '1' : '0' } : {}) },
      stages,
      stageName: Object.fromEntries(stages.map((s) => [s.id, s.name])),
      cpName: await counterpartyNames(ctx, items.map((d) => d.counterpartyId)),
      withQuery,
      ...n,
    });
  });

  app.get('/deals/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const deal = await getDeal(ctx, idParam(req.params));
    const [stages, n, history] = await Promise.all([listDealStages(ctx), userNames(ctx), getHistory(ctx, 'deal', deal.id, { limit: 200 })]);
    return render(deps, req, reply, 'sales/deal', {
      title: deal.title,
      deal,
      stages,
      history,
      cpName: await counterpartyNames(ctx, [deal.counterpartyId]),
      ...n,
    });
  });

  app.post('/deals/:id/stage', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `/admin/deals/${id}`, () => setDealStage(ctxOf(deps, req), id, int(body(req), 'stageId') ?? -1), () => ({ text: 'Стадия изменена' }));
  });
}
