import type { FastifyInstance } from 'fastify';
import { completeWork, listWorks } from '../../core/works/works.js';
import { listActions, listResults } from '../../core/works/actions.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { safeNext } from '../session.js';
import { body, idParam, int, opt, query, str } from '../forms.js';
import { ctxOf, render, withQuery } from '../render.js';
import { formAction } from '../form-action.js';
import { PAGE_SIZE, pageOf, userNames } from '../lists.js';
import type { AdminDeps } from '../types.js';

export default async function workRoutes(app: FastifyInstance, deps: AdminDeps) {
  // «Выполнить»: the result must be one the work's action allows (checked in core)
  app.post('/works/:id/complete', async (req, reply) => {
    const form = body(req);
    const back = safeNext(str(form, 'back') || '/admin/works');
    return formAction(
      deps,
      reply,
      back,
      () => completeWork(ctxOf(deps, req), idParam(req.params), { resultId: int(form, 'resultId') ?? 0, comment: opt(str(form, 'comment')) }),
      () => ({ text: 'Работа выполнена' }),
      'Работа не выполнена: ',
    );
  });

  app.get('/works', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: { responsibleId?: number; status?: 'planned' | 'done' | 'cancelled'; dueBefore?: Date } = {};
    if (int(q, 'responsibleId')) filter.responsibleId = int(q, 'responsibleId');
    const status = str(q, 'status');
    if (status === 'planned' || status === 'done' || status === 'cancelled') filter.status = status;
    if (str(q, 'due') === '1') filter.dueBefore = new Date(ctx.clock.now().getTime() + 24 * 3600_000);
    const p = pageOf(q);
    const [works, actions, results, n] = await Promise.all([
      listWorks(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }),
      listActions(ctx),
      listResults(ctx),
      userNames(ctx),
    ]);
    const items = works.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/works', {
      title: 'Работы',
      items,
      hasMore: works.length > PAGE_SIZE,
      page: p,
      filter,
      due: str(q, 'due') === '1',
      fq: { ...(filter.responsibleId ? { responsibleId: String(filter.responsibleId) } : {}), ...(filter.status ? { status: filter.status } : {}), ...(str(q, 'due') === '1' ? { due: '1' } : {}) },
      actionName: Object.fromEntries(actions.map((a) => [a.id, a.name])),
      resultName: Object.fromEntries(results.map((r) => [r.id, r.name])),
      cpName: await counterpartyNames(ctx, items.map((w) => w.counterpartyId)),
      now: ctx.clock.now(),
      withQuery,
      ...n,
    });
  });
}
