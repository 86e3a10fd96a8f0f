import { and, asc, eq, gte, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { actorTimeZone, type ServiceContext } from '../context.js';
import { calls, dealStages, deals, plans, users, works } from '../db/schema/index.js';
import { forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, diff } from '../shared/audit.js';
import { idField, kopecksField } from '../shared/fields.js';
import { requireRole } from '../access/scope.js';
import { startOfDayInZone } from '../validation/time.js';

export type Plan = typeof plans.$inferSelect;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'дата в формате ГГГГ-ММ-ДД');

export const planInput = z
  .object({
    userId: idField,
    periodStart: day,
    periodEnd: day,
    dealAmount: kopecksField.refine((k) => k >= 0n, 'не меньше 0').default(0n),
    dealCount: z.coerce.number().int().min(0, 'не меньше 0').default(0),
    worksCount: z.coerce.number().int().min(0, 'не меньше 0').default(0),
    callsCount: z.coerce.number().int().min(0, 'не меньше 0').default(0),
  })
  .refine((p) => p.periodStart <= p.periodEnd, { path: ['periodEnd'], message: 'конец периода раньше начала' });

/** The head sets (or replaces) one manager's targets for one period (R4). */
export async function setPlan(ctx: ServiceContext, input: z.input<typeof planInput>): Promise<Plan> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(planInput, input);
  const [u] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, data.userId));
  if (!u) throw invalid({ userId: 'нет такого пользователя' });
  const [before] = await ctx.db
    .select()
    .from(plans)
    .where(and(eq(plans.userId, data.userId), eq(plans.periodStart, data.periodStart), eq(plans.periodEnd, data.periodEnd)));
  const values = {
    userId: data.userId,
    periodStart: data.periodStart,
    periodEnd: data.periodEnd,
    dealAmountKopecks: data.dealAmount,
    dealCount: data.dealCount,
    worksCount: data.worksCount,
    callsCount: data.callsCount,
    createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
    updatedAt: ctx.clock.now(),
  };
  const [row] = await ctx.db
    .insert(plans)
    .values(values)
    .onConflictDoUpdate({ target: [plans.userId, plans.periodStart, plans.periodEnd], set: values })
    .returning();
  await audit(ctx, before ? 'update' : 'create', 'plan', row!.id, diff((before ?? {}) as Record<string, unknown>, {
    dealAmountKopecks: data.dealAmount,
    dealCount: data.dealCount,
    worksCount: data.worksCount,
    callsCount: data.callsCount,
  }));
  return row!;
}

export async function deletePlan(ctx: ServiceContext, planId: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [row] = await ctx.db.delete(plans).where(eq(plans.id, planId)).returning();
  if (!row) throw notFound('План');
  await audit(ctx, 'delete', 'plan', planId);
}

export interface PlanProgress {
  userId: number;
  userName: string;
  periodStart: string;
  periodEnd: string;
  plan: { dealAmountKopecks: bigint; dealCount: number; worksCount: number; callsCount: number } | null;
  /** callsCount: the calls the person talked on (answered) within the period */
  actual: { dealAmountKopecks: bigint; dealCount: number; worksCount: number; callsCount: number };
}

/** The calendar month containing `date` in the zone, as YYYY-MM-DD bounds. */
export function monthOf(date: Date, timeZone = 'Europe/Moscow'): { periodStart: string; periodEnd: string } {
  const ymd = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).format(date);
  const [y, m] = ymd.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const mm = String(m).padStart(2, '0');
  return { periodStart: `${y}-${mm}-01`, periodEnd: `${y}-${mm}-${String(last).padStart(2, '0')}` };
}

const nextDay = (d: string) => new Date(Date.parse(d + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);

/**
 * Plan vs actual from real records: deals won (reached a won stage) and paid within the period
 * (by their paid date), their amount, works completed within it and calls answered by the person
 * within it (R4, R20: an answered call of theirs, incoming or outgoing). Days are the team's time zone days. A manager sees only
 * their own figures; head and admin see everyone's.
 */
export async function planVsActual(
  ctx: ServiceContext,
  period: { periodStart: string; periodEnd: string },
  opts: { userId?: number; timeZone?: string } = {},
): Promise<PlanProgress[]> {
  const p = parseInput(z.object({ periodStart: day, periodEnd: day }), period);
  let userIds: number[] | undefined = opts.userId ? [opts.userId] : undefined;
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager') {
    if (opts.userId && opts.userId !== ctx.actor.userId) throw forbidden('Менеджер видит только свой план');
    userIds = [ctx.actor.userId];
  }
  const tz = opts.timeZone ?? actorTimeZone(ctx.actor);
  const from = startOfDayInZone(p.periodStart, tz);
  const to = startOfDayInZone(nextDay(p.periodEnd), tz);
  const people = await ctx.db
    .select({ id: users.id, name: users.name })
    .from(users)
    .where(userIds ? sql`${users.id} IN ${userIds}` : sql`${users.active} AND (${users.role} = 'manager' OR ${users.id} IN (SELECT user_id FROM plans))`)
    .orderBy(asc(users.name));
  const out: PlanProgress[] = [];
  for (const person of people) {
    const [plan] = await ctx.db
      .select()
      .from(plans)
      .where(and(eq(plans.userId, person.id), eq(plans.periodStart, p.periodStart), eq(plans.periodEnd, p.periodEnd)));
    const [won] = await ctx.db
      .select({ amount: sql<string>`coalesce(sum(${deals.amountKopecks}), 0)::text`, n: sql<number>`count(*)::int` })
      .from(deals)
      .innerJoin(dealStages, eq(dealStages.id, deals.stageId))
      .where(
        and(
          eq(deals.responsibleId, person.id),
          eq(dealStages.isWon, true),
          // a paid deal counts on the day the money came; one won before paid dates were kept, on its close
          or(
            and(gte(deals.paidOn, p.periodStart), lte(deals.paidOn, p.periodEnd)),
            and(isNull(deals.paidOn), gte(deals.closedAt, from), lt(deals.closedAt, to)),
          ),
        ),
      );
    const [done] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(works)
      .where(and(eq(works.responsibleId, person.id), eq(works.status, 'done'), gte(works.completedAt, from), lt(works.completedAt, to)));
    const [talked] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(calls)
      .where(and(eq(calls.userId, person.id), eq(calls.status, 'answered'), gte(calls.at, from), lt(calls.at, to)));
    out.push({
      userId: person.id,
      userName: person.name,
      periodStart: p.periodStart,
      periodEnd: p.periodEnd,
      plan: plan ? { dealAmountKopecks: plan.dealAmountKopecks, dealCount: plan.dealCount, worksCount: plan.worksCount, callsCount: plan.callsCount } : null,
      actual: { dealAmountKopecks: BigInt(won!.amount), dealCount: won!.n, worksCount: done!.n, callsCount: talked!.n },
    });
  }
  return out;
}
