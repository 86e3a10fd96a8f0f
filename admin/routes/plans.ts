import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { monthOf, planVsActual, setPlan, type PlanProgress } from '../../core/plans/plans.js';
import { inTransaction } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import { body, query, str } from '../forms.js';
import { ctxOf, redirectWith, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

/** `YYYY-MM` → the month's bounds; anything else → the current month in the user's zone. */
function period(month: string, now: Date, timeZone: string) {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) return monthOf(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 15)), 'UTC');
  return monthOf(now, timeZone);
}

const pct = (actual: number, plan: number) => (plan > 0 ? Math.round((actual / plan) * 100) : null);

/** Bar lengths for the chart: plan and actual on one scale per measure. */
function chart(rows: PlanProgress[]) {
  const measures = [
    { key: 'amount', title: 'Сумма выигранных сделок', get: (p: { dealAmountKopecks: bigint }) => Number(p.dealAmountKopecks) / 100 },
    { key: 'deals', title: 'Количество сделок', get: (p: { dealCount: number }) => p.dealCount },
    { key: 'works', title: 'Выполненные работы', get: (p: { worksCount: number }) => p.worksCount },
    { key: 'calls', title: 'Звонки (состоявшиеся)', get: (p: { callsCount: number }) => p.callsCount },
  ] as const;
  return measures.map((m) => {
    const values = rows.map((r) => ({ name: r.userName, plan: r.plan ? m.get(r.plan) : 0, actual: m.get(r.actual) }));
    const max = Math.max(1, ...values.flatMap((v) => [v.plan, v.actual]));
    return {
      title: m.title,
      key: m.key,
      bars: values.map((v) => ({ ...v, planW: Math.round((v.plan / max) * 1000) / 10, actualW: Math.round((v.actual / max) * 1000) / 10, pct: pct(v.actual, v.plan) })),
    };
  });
}

export default async function planRoutes(app: FastifyInstance, deps: AdminDeps) {
  // План и факт (R4): the head sees everyone, a manager their own
  app.get('/plan', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const me = req.adminUser!;
    const p = period(str(query(req), 'month'), ctx.clock.now(), me.timeZone);
    const rows = await planVsActual(ctx, p, me.role === 'manager' ? { userId: me.id } : {});
    return render(deps, req, reply, 'plans/plan', { title: 'План и факт', period: p, month: p.periodStart.slice(0, 7), rows, charts: chart(rows) });
  });

  const editPage = async (req: FastifyRequest, reply: FastifyReply, month: string, extra: Record<string, unknown> = {}, status = 200) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const p = period(month, ctx.clock.now(), req.adminUser!.timeZone);
    const rows = await planVsActual(ctx, p);
    return render(deps, req, reply, 'plans/edit', { title: 'Планы менеджеров', period: p, month: p.periodStart.slice(0, 7), rows, errors: {}, values: null, ...extra }, status);
  };

  // Планы менеджеров: every manager's targets for a month, in one table, saved at once
  app.get('/plans', (req, reply) => editPage(req, reply, str(query(req), 'month')));

  app.post('/plans', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const form = body(req);
    const month = str(form, 'month');
    const p = period(month, ctx.clock.now(), req.adminUser!.timeZone);
    const userIds = (Array.isArray(form.users) ? form.users : [form.users ?? '']).filter((s) => /^\d+$/.test(s)).map(Number);
    const errors: Record<string, string> = {};
    try {
      await inTransaction(ctx, async (tx) => {
        for (const userId of userIds) {
          try {
            await setPlan(tx, {
              userId,
              ...p,
              dealAmount: str(form, `amount_${userId}`) || '0',
              dealCount: str(form, `deals_${userId}`) || '0',
              worksCount: str(form, `works_${userId}`) || '0',
              callsCount: str(form, `calls_${userId}`) || '0',
            });
          } catch (e) {
            if (!isServiceError(e) || e.code !== 'invalid') throw e;
            for (const [k, v] of Object.entries(e.fields)) errors[`${k}_${userId}`] = v;
          }
        }
        // one bad cell saves nothing: the table comes back with the cell marked
        if (Object.keys(errors).length) throw new Error('plan rows invalid');
      });
    } catch (e) {
      if (!Object.keys(errors).length) throw e;
      return editPage(req, reply, month, { errors, values: form }, 400);
    }
    return redirectWith(deps, reply, `/admin/plans?month=${p.periodStart.slice(0, 7)}`, { type: 'ok', text: 'Планы сохранены' });
  });
}
