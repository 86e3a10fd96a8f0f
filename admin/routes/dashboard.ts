import type { FastifyInstance } from 'fastify';
import { listLeads } from '../../core/leads/leads.js';
import { listDeals } from '../../core/deals/deals.js';
import { listWorks } from '../../core/works/works.js';
import { monthOf, planVsActual } from '../../core/plans/plans.js';
import { ctxOf, render } from '../render.js';
import { workRowLookups } from '../works-block.js';
import type { AdminDeps } from '../types.js';

export default async function dashboardRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const me = req.adminUser!;
    const manager = me.role === 'manager';
    const endOfToday = new Date(ctx.clock.now().getTime() + 24 * 3600_000);
    const [leads, deals, works, plan] = await Promise.all([
      listLeads(ctx, { status: 'open', ...(manager ? { mineFor: me.id } : {}) }, { limit: 5, withTotal: true }),
      listDeals(ctx, { open: true, ...(manager ? { responsibleId: me.id } : {}) }, { limit: 1, withTotal: true }),
      listWorks(ctx, { responsibleId: me.id, dueBefore: endOfToday }, { limit: 100 }),
      planVsActual(ctx, monthOf(ctx.clock.now(), me.timeZone), manager ? { userId: me.id } : {}),
    ]);
    const shown = works.slice(0, 10);
    return render(deps, req, reply, 'dashboard', {
      title: 'Главная',
      leads: leads.items,
      openLeads: leads.total ?? 0,
      openDeals: deals.total ?? 0,
      works: shown,
      worksCount: works.length,
      moreWorks: works.length > shown.length,
      // what each work is about: a work may hang on a lead or a contact without a counterparty
      L: await workRowLookups(ctx, req, shown),
      now: ctx.clock.now(),
      plan,
      period: monthOf(ctx.clock.now(), me.timeZone),
    });
  });
}
