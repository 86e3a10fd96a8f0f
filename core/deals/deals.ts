import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { dealStages, deals, users } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, recordHistory } from '../shared/audit.js';
import { idField, kopecksField, optionalText } from '../shared/fields.js';
import { dealScope, requireRole } from '../access/scope.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { formatKopecks } from '../validation/money.js';

export type Deal = typeof deals.$inferSelect;
export type DealStage = typeof dealStages.$inferSelect;

export const dealInput = z.object({
  title: z.string().trim().min(1, 'укажите название сделки').max(500),
  amount: kopecksField.default(0n),
  currency: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'код валюты из 3 букв').default('RUB'),
  stageId: idField.optional(),
  counterpartyId: idField.nullish(),
  contactId: idField.nullish(),
  responsibleId: idField.nullish(),
  comment: optionalText,
});
export type DealInput = z.input<typeof dealInput>;

export async function listDealStages(ctx: ServiceContext): Promise<DealStage[]> {
  return ctx.db.select().from(dealStages).orderBy(asc(dealStages.sortOrder), asc(dealStages.id));
}

async function stageOrDefault(ctx: ServiceContext, stageId?: number): Promise<DealStage> {
  const [stage] = stageId
    ? await ctx.db.select().from(dealStages).where(eq(dealStages.id, stageId))
    : await ctx.db.select().from(dealStages).orderBy(asc(dealStages.sortOrder)).limit(1);
  if (!stage) throw invalid({ stageId: 'нет такой стадии' });
  return stage;
}

export async function createDeal(ctx: ServiceContext, input: DealInput): Promise<Deal> {
  const data = parseInput(dealInput, input);
  if (data.counterpartyId) await getCounterparty(ctx, data.counterpartyId);
  if (data.contactId) {
    const c = await getContact(ctx, data.contactId);
    data.counterpartyId ??= c.counterpartyId;
  }
  if (data.responsibleId) {
    const [u] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, data.responsibleId));
    if (!u) throw invalid({ responsibleId: 'нет такого пользователя' });
  }
  const stage = await stageOrDefault(ctx, data.stageId);
  const now = ctx.clock.now();
  const [deal] = await ctx.db
    .insert(deals)
    .values({
      title: data.title,
      amountKopecks: data.amount,
      currency: data.currency,
      stageId: stage.id,
      counterpartyId: data.counterpartyId ?? null,
      contactId: data.contactId ?? null,
      responsibleId: data.responsibleId ?? (ctx.actor.kind === 'user' ? ctx.actor.userId : null),
      comment: data.comment ?? null,
      createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
      createdAt: now,
      updatedAt: now,
      closedAt: stage.isWon || stage.isLost ? now : null,
    })
    .returning();
  await audit(ctx, 'create', 'deal', deal!.id, created({ title: deal!.title, amountKopecks: deal!.amountKopecks, stageId: stage.id }));
  await recordHistory(ctx, 'deal', deal!.id, 'created', 'Сделка создана');
  return deal!;
}

export async function getDeal(ctx: ServiceContext, id: number): Promise<Deal> {
  const scope = dealScope(ctx);
  const [row] = await ctx.db
    .select({ d: deals, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(deals)
    .where(eq(deals.id, id));
  if (!row) throw notFound('Сделка');
  if (!row.visible) throw forbidden('Эта сделка вам недоступна');
  return row.d;
}

/** Moves a deal to a stage; reaching a won or lost stage closes it (the close date counts for plans). */
export async function setDealStage(ctx: ServiceContext, dealId: number, stageId: number): Promise<Deal> {
  const deal = await getDeal(ctx, dealId);
  const stage = await stageOrDefault(ctx, parseInput(idField, stageId));
  if (deal.stageId === stage.id) return deal;
  const now = ctx.clock.now();
  const closing = stage.isWon || stage.isLost;
  const [after] = await ctx.db
    .update(deals)
    .set({ stageId: stage.id, updatedAt: now, closedAt: closing ? now : null })
    .where(eq(deals.id, dealId))
    .returning();
  const [from] = await ctx.db.select({ name: dealStages.name }).from(dealStages).where(eq(dealStages.id, deal.stageId));
  await audit(ctx, 'set_stage', 'deal', dealId, { stageId: { from: deal.stageId, to: stage.id } });
  await recordHistory(ctx, 'deal', dealId, 'stage_changed', `Стадия: ${from?.name ?? '?'} → ${stage.name}`, { from: deal.stageId, to: stage.id });
  return after!;
}

export async function setDealAmount(ctx: ServiceContext, dealId: number, amount: string | number | bigint): Promise<Deal> {
  const deal = await getDeal(ctx, dealId);
  const kopecks = parseInput(z.object({ amount: kopecksField.refine((k) => k >= 0n, 'сумма не может быть отрицательной') }), { amount }).amount;
  const [after] = await ctx.db.update(deals).set({ amountKopecks: kopecks, updatedAt: ctx.clock.now() }).where(eq(deals.id, dealId)).returning();
  await audit(ctx, 'set_amount', 'deal', dealId, { amountKopecks: { from: deal.amountKopecks.toString(), to: kopecks.toString() } });
  await recordHistory(ctx, 'deal', dealId, 'amount_changed', `Сумма: ${formatKopecks(deal.amountKopecks)} → ${formatKopecks(kopecks)}`);
  return after!;
}

export const dealFilterInput = z.object({
  stageId: idField.optional(),
  responsibleId: idField.optional(),
  counterpartyId: idField.optional(),
  open: z.boolean().optional(),
});

export async function listDeals(
  ctx: ServiceContext,
  filter: z.input<typeof dealFilterInput> = {},
  opts: { limit?: number; offset?: number; withTotal?: boolean } = {},
): Promise<{ items: Deal[]; total?: number }> {
  const f = parseInput(dealFilterInput, filter);
  const conds: (SQL | undefined)[] = [dealScope(ctx)];
  if (f.stageId) conds.push(eq(deals.stageId, f.stageId));
  if (f.responsibleId) conds.push(eq(deals.responsibleId, f.responsibleId));
  if (f.counterpartyId) conds.push(eq(deals.counterpartyId, f.counterpartyId));
  if (f.open === true) conds.push(sql`${deals.closedAt} IS NULL`);
  if (f.open === false) conds.push(sql`${deals.closedAt} IS NOT NULL`);
  const where = and(...conds);
  const items = await ctx.db
    .select()
    .from(deals)
    .where(where)
    .orderBy(desc(deals.updatedAt), desc(deals.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500))
    .offset(opts.offset ?? 0);
  if (!opts.withTotal) return { items };
  const [t] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(deals).where(where);
  return { items, total: t!.n };
}

/** Reference book of stages. */
export async function createDealStage(ctx: ServiceContext, input: { name: string; sortOrder?: number; isWon?: boolean; isLost?: boolean }) {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(
    z.object({ name: z.string().trim().min(1, 'укажите название'), sortOrder: z.coerce.number().int().default(100), isWon: z.boolean().default(false), isLost: z.boolean().default(false) }),
    input,
  );
  if (data.isWon && data.isLost) throw invalid({ isLost: 'стадия не может быть и выигрышем, и проигрышем' });
  const [row] = await ctx.db.insert(dealStages).values(data).onConflictDoNothing().returning();
  if (!row) throw conflict(`Стадия «${data.name}» уже есть`);
  return row;
}

export async function deleteDealStage(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(deals).where(eq(deals.stageId, id));
  if (used!.n > 0) throw conflict(`Стадия используется в сделках: ${used!.n}`);
  const [row] = await ctx.db.delete(dealStages).where(eq(dealStages.id, id)).returning();
  if (!row) throw notFound('Стадия');
}
