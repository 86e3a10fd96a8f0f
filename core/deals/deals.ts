import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { actorTimeZone, inTransaction, type ServiceContext } from '../context.js';
import { contacts, counterparties, dealStages, deals, users } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff, recordHistory } from '../shared/audit.js';
import { dayField, idField, kopecksField, optionalText } from '../shared/fields.js';
import { dealScope, requireRole } from '../access/scope.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { formatKopecks } from '../validation/money.js';
import { dateInZone } from '../validation/time.js';
import { usableLossReason } from './loss-reasons.js';
import { dealHasLines } from './has-lines.js';
import { dealPeriodCondition, pipelineFilterInput } from './pipeline.js';

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

const actorZone = (ctx: ServiceContext) => actorTimeZone(ctx.actor);
const isManager = (ctx: ServiceContext) => ctx.actor.kind === 'user' && ctx.actor.role === 'manager';
/** '2026-11-25' → '25.11.2026' */
const dayRu = (d: string) => d.split('-').reverse().join('.');
const quoted = (s: string | null) => (s ? `«${s.length > 80 ? s.slice(0, 79) + '…' : s}»` : '—');

async function counterpartyName(ctx: ServiceContext, id: number | null): Promise<string> {
  if (!id) return '—';
  const [r] = await ctx.db.select({ name: counterparties.name }).from(counterparties).where(eq(counterparties.id, id));
  return r ? r.name : `№${id}`;
}
async function contactName(ctx: ServiceContext, id: number | null): Promise<string> {
  if (!id) return '—';
  const [r] = await ctx.db.select({ name: contacts.name }).from(contacts).where(eq(contacts.id, id));
  return r ? r.name : `№${id}`;
}
async function userName(ctx: ServiceContext, id: number | null): Promise<string> {
  if (!id) return '—';
  const [r] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, id));
  return r ? r.name : `№${id}`;
}

/** The company a contact works for now (a merged-away company resolves to its survivor). */
async function contactCompany(ctx: ServiceContext, cpId: number | null): Promise<number | null> {
  if (!cpId) return null;
  const [r] = await ctx.db.select({ id: sql<number>`coalesce(${counterparties.mergedIntoId}, ${counterparties.id})` }).from(counterparties).where(eq(counterparties.id, cpId));
  return r ? Number(r.id) : cpId;
}

/**
 * The counterparty and contact of a deal, read through the actor's access (R3): a manager cannot
 * tie a deal to another segment's client. A contact of another company is refused; a contact alone
 * brings its company.
 */
async function checkedLinks(ctx: ServiceContext, counterpartyId: number | null, contactId: number | null) {
  let cp = counterpartyId ? (await getCounterparty(ctx, counterpartyId)).id : null;
  let ct: number | null = null;
  if (contactId) {
    const c = await getContact(ctx, contactId);
    ct = c.id;
    const company = await contactCompany(ctx, c.counterpartyId);
    if (company && cp === null) cp = company;
    else if (company && cp !== null && company !== cp) {
      throw invalid({ contactId: 'контакт относится к другому контрагенту: выберите контакт этого контрагента или очистите поле' });
    }
  }
  return { counterpartyId: cp, contactId: ct };
}

async function checkedResponsible(ctx: ServiceContext, id: number): Promise<number> {
  const [u] = await ctx.db.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, id));
  if (!u) throw invalid({ responsibleId: 'нет такого пользователя' });
  if (!u.active) throw invalid({ responsibleId: 'этот пользователь отключён' });
  return u.id;
}

const reassignRefused = () => forbidden('Передать сделку другому может руководитель или администратор');

/** R10 «Новая сделка»: by hand, from the deals list or a counterparty's or contact's card. */
export async function createDeal(ctx: ServiceContext, input: DealInput): Promise<Deal> {
  const data = parseInput(dealInput, input);
  if (data.amount < 0n) throw invalid({ amount: 'сумма не может быть отрицательной' });
  const links = await checkedLinks(ctx, data.counterpartyId ?? null, data.contactId ?? null);
  const me = ctx.actor.kind === 'user' ? ctx.actor.userId : null;
  if (data.responsibleId && data.responsibleId !== me) {
    if (isManager(ctx)) throw reassignRefused();
    await checkedResponsible(ctx, data.responsibleId);
  }
  const stage = await stageOrDefault(ctx, data.stageId);
  if (stage.isLost) throw invalid({ stageId: 'новую сделку не создают проигранной: создайте её и отметьте «Проиграна» с причиной' });
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    const [deal] = await tx.db
      .insert(deals)
      .values({
        title: data.title,
        amountKopecks: data.amount,
        currency: data.currency,
        stageId: stage.id,
        counterpartyId: links.counterpartyId,
        contactId: links.contactId,
        responsibleId: data.responsibleId ?? me,
        comment: data.comment ?? null,
        createdBy: me,
        createdAt: now,
        updatedAt: now,
        closedAt: stage.isWon ? now : null,
        paidOn: stage.isWon ? dateInZone(now, actorZone(tx)) : null,
      })
      .returning();
    await audit(tx, 'create', 'deal', deal!.id, created({ title: deal!.title, amountKopecks: deal!.amountKopecks, stageId: stage.id, counterpartyId: deal!.counterpartyId, contactId: deal!.contactId, responsibleId: deal!.responsibleId }));
    await recordHistory(tx, 'deal', deal!.id, 'created', 'Сделка создана');
    return deal!;
  });
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

export const dealPatchInput = z.object({
  title: z.string().trim().min(1, 'укажите название сделки').max(500, 'не длиннее 500 символов').optional(),
  amount: kopecksField.refine((k) => k >= 0n, 'сумма не может быть отрицательной').optional(),
  counterpartyId: idField.nullable().optional(),
  contactId: idField.nullable().optional(),
  responsibleId: idField.nullable().optional(),
  comment: optionalText,
});
export type DealPatch = z.input<typeof dealPatchInput>;

/**
 * Edits a deal (R10): each changed field gets its own history line «from → to» with names, not ids.
 * Links are read through the actor's access; only the head and the admin hand a deal to someone else.
 */
export async function updateDeal(ctx: ServiceContext, id: number, patch: DealPatch): Promise<Deal> {
  const data = parseInput(dealPatchInput, patch);
  return inTransaction(ctx, async (tx) => {
    const deal = await getDeal(tx, id);
    // while a deal has line items its amount is their sum (core/deals/lines.ts keeps it so)
    if (data.amount !== undefined && data.amount !== deal.amountKopecks && (await dealHasLines(tx, id))) {
      throw invalid({ amount: 'сумма считается по позициям «Товары и услуги»: измените позиции' });
    }
    const next = {
      title: data.title ?? deal.title,
      amountKopecks: data.amount ?? deal.amountKopecks,
      counterpartyId: data.counterpartyId === undefined ? deal.counterpartyId : data.counterpartyId,
      contactId: data.contactId === undefined ? deal.contactId : data.contactId,
      responsibleId: data.responsibleId === undefined ? deal.responsibleId : data.responsibleId,
      comment: data.comment === undefined ? deal.comment : data.comment,
    };
    if (next.counterpartyId !== deal.counterpartyId || next.contactId !== deal.contactId) {
      Object.assign(next, await checkedLinks(tx, next.counterpartyId, next.contactId));
    }
    if (next.responsibleId !== deal.responsibleId) {
      if (isManager(tx)) throw reassignRefused();
      if (next.responsibleId !== null) await checkedResponsible(tx, next.responsibleId);
    }
    const changes = diff(deal as unknown as Record<string, unknown>, next);
    if (!Object.keys(changes).length) return deal;
    const [after] = await tx.db.update(deals).set({ ...next, updatedAt: tx.clock.now() }).where(eq(deals.id, id)).returning();
    await audit(tx, 'update', 'deal', id, changes);
    if ('title' in changes) await recordHistory(tx, 'deal', id, 'title_changed', `Название: «${deal.title}» → «${next.title}»`);
    if ('amountKopecks' in changes) {
      await recordHistory(tx, 'deal', id, 'amount_changed', `Сумма: ${formatKopecks(deal.amountKopecks)} → ${formatKopecks(next.amountKopecks)}`);
    }
    if ('counterpartyId' in changes) {
      await recordHistory(tx, 'deal', id, 'counterparty_changed', `Контрагент: ${await counterpartyName(tx, deal.counterpartyId)} → ${await counterpartyName(tx, next.counterpartyId)}`, { from: deal.counterpartyId, to: next.counterpartyId });
    }
    if ('contactId' in changes) {
      await recordHistory(tx, 'deal', id, 'contact_changed', `Контакт: ${await contactName(tx, deal.contactId)} → ${await contactName(tx, next.contactId)}`, { from: deal.contactId, to: next.contactId });
    }
    if ('responsibleId' in changes) {
      await recordHistory(tx, 'deal', id, 'assigned', `Ответственный: ${await userName(tx, deal.responsibleId)} → ${await userName(tx, next.responsibleId)}`, { from: deal.responsibleId, to: next.responsibleId });
    }
    if ('comment' in changes) await recordHistory(tx, 'deal', id, 'comment_changed', `Комментарий: ${quoted(deal.comment)} → ${quoted(next.comment)}`);
    return after!;
  });
}

async function stageById(ctx: ServiceContext, id: number): Promise<DealStage | undefined> {
  const [s] = await ctx.db.select().from(dealStages).where(eq(dealStages.id, id));
  return s;
}

/** The won (or lost) stage asked for, or the first of its kind in the book. */
async function closingStage(ctx: ServiceContext, kind: 'won' | 'lost', stageId?: number): Promise<DealStage> {
  const flag = kind === 'won' ? dealStages.isWon : dealStages.isLost;
  if (stageId !== undefined) {
    const s = await stageById(ctx, parseInput(idField, stageId));
    if (!s) throw invalid({ stageId: 'нет такой стадии' });
    if (kind === 'won' ? !s.isWon : !s.isLost) throw invalid({ stageId: kind === 'won' ? 'это не стадия оплаты' : 'это не стадия проигрыша' });
    return s;
  }
  const [s] = await ctx.db.select().from(dealStages).where(eq(flag, true)).orderBy(asc(dealStages.sortOrder), asc(dealStages.id)).limit(1);
  if (!s) throw invalid({ stageId: kind === 'won' ? 'в справочнике нет стадии оплаты' : 'в справочнике нет стадии проигрыша' });
  return s;
}

/**
 * «Оплачена»: the deal moves to a won stage with the day the money came (today in the actor's zone
 * by default; never in the future). Plan vs actual counts it by that day. On a deal already paid it
 * corrects the date.
 */
export async function winDeal(ctx: ServiceContext, id: number, opts: { paidOn?: string; stageId?: number } = {}): Promise<Deal> {
  const given = opts.paidOn?.trim() ? parseInput(z.object({ paidOn: dayField }), { paidOn: opts.paidOn }).paidOn : undefined;
  return inTransaction(ctx, async (tx) => {
    const deal = await getDeal(tx, id);
    const stage = await closingStage(tx, 'won', opts.stageId);
    const wasWon = !!(await stageById(tx, deal.stageId))?.isWon;
    const now = tx.clock.now();
    const today = dateInZone(now, actorZone(tx));
    const paidOn = given ?? (wasWon && deal.paidOn ? deal.paidOn : today);
    if (paidOn > today) throw invalid({ paidOn: 'дата оплаты не может быть в будущем' });
    if (wasWon && deal.stageId === stage.id && deal.paidOn === paidOn) return deal;
    const next = { stageId: stage.id, paidOn, closedAt: wasWon && deal.closedAt ? deal.closedAt : now, lossReasonId: null, lossComment: null };
    const [after] = await tx.db.update(deals).set({ ...next, updatedAt: now }).where(eq(deals.id, id)).returning();
    await audit(tx, 'win', 'deal', id, diff(deal as unknown as Record<string, unknown>, next));
    if (!wasWon) {
      await recordHistory(tx, 'deal', id, 'stage_changed', `Сделка оплачена ${dayRu(paidOn)}`, { from: deal.stageId, to: stage.id, paidOn });
    } else {
      if (deal.stageId !== stage.id) {
        await recordHistory(tx, 'deal', id, 'stage_changed', `Стадия: ${(await stageById(tx, deal.stageId))?.name ?? '?'} → ${stage.name}`, { from: deal.stageId, to: stage.id });
      }
      if (deal.paidOn !== paidOn) {
        await recordHistory(tx, 'deal', id, 'paid_on_changed', `Дата оплаты: ${deal.paidOn ? dayRu(deal.paidOn) : '—'} → ${dayRu(paidOn)}`);
      }
    }
    return after!;
  });
}

/** «Проиграна»: the deal moves to a lost stage with a reason from the book and the manager's words. */
export async function loseDeal(ctx: ServiceContext, id: number, input: { lossReasonId: number; comment?: string | null; stageId?: number }): Promise<Deal> {
  const comment = parseInput(z.object({ comment: z.string().trim().max(2000, 'не длиннее 2000 символов').nullish() }), { comment: input.comment }).comment || null;
  return inTransaction(ctx, async (tx) => {
    const deal = await getDeal(tx, id);
    const reason = await usableLossReason(tx, Number(input.lossReasonId));
    const stage = await closingStage(tx, 'lost', input.stageId);
    const wasLost = !!(await stageById(tx, deal.stageId))?.isLost;
    if (wasLost && deal.stageId === stage.id && deal.lossReasonId === reason.id && deal.lossComment === comment) return deal;
    const now = tx.clock.now();
    const next = { stageId: stage.id, paidOn: null, closedAt: wasLost && deal.closedAt ? deal.closedAt : now, lossReasonId: reason.id, lossComment: comment };
    const [after] = await tx.db.update(deals).set({ ...next, updatedAt: now }).where(eq(deals.id, id)).returning();
    await audit(tx, 'lose', 'deal', id, diff(deal as unknown as Record<string, unknown>, next));
    const why = `${reason.name}${comment ? ` — ${comment}` : ''}`;
    if (!wasLost) await recordHistory(tx, 'deal', id, 'stage_changed', `Сделка проиграна: ${why}`, { from: deal.stageId, to: stage.id, lossReasonId: reason.id });
    else await recordHistory(tx, 'deal', id, 'loss_reason_changed', `Причина отказа: ${why}`, { lossReasonId: reason.id });
    return after!;
  });
}

/**
 * The one entry point for stage moves (panel, board, bot). Into a won stage it is «Оплачена»
 * (paidOn optional), into a lost stage «Проиграна» (a reason required); back to an open stage it
 * reopens a closed deal, clearing its paid date and loss reason.
 */
export async function setDealStage(
  ctx: ServiceContext,
  dealId: number,
  stageId: number,
  extra: { paidOn?: string; lossReasonId?: number; lossComment?: string } = {},
): Promise<Deal> {
  const deal = await getDeal(ctx, dealId);
  const stage = await stageOrDefault(ctx, parseInput(idField, stageId));
  if (stage.isWon) return winDeal(ctx, dealId, { ...(extra.paidOn ? { paidOn: extra.paidOn } : {}), stageId: stage.id });
  if (stage.isLost) {
    if (!extra.lossReasonId) {
      if (deal.stageId === stage.id) return deal;
      throw invalid({ lossReasonId: 'укажите причину отказа' });
    }
    return loseDeal(ctx, dealId, { lossReasonId: extra.lossReasonId, comment: extra.lossComment ?? null, stageId: stage.id });
  }
  if (deal.stageId === stage.id) return deal;
  return inTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const reopening = deal.closedAt !== null || deal.paidOn !== null || deal.lossReasonId !== null;
    const next = { stageId: stage.id, closedAt: null, paidOn: null, lossReasonId: null, lossComment: null };
    const [after] = await tx.db.update(deals).set({ ...next, updatedAt: now }).where(eq(deals.id, dealId)).returning();
    const from = (await stageById(tx, deal.stageId))?.name ?? '?';
    await audit(tx, reopening ? 'reopen' : 'set_stage', 'deal', dealId, diff(deal as unknown as Record<string, unknown>, next));
    await recordHistory(
      tx,
      'deal',
      dealId,
      'stage_changed',
      reopening ? `Сделка снова в работе: ${from} → ${stage.name}` : `Стадия: ${from} → ${stage.name}`,
      { from: deal.stageId, to: stage.id },
    );
    return after!;
  });
}

export async function setDealAmount(ctx: ServiceContext, dealId: number, amount: string | number | bigint): Promise<Deal> {
  return updateDeal(ctx, dealId, { amount });
}

export const dealFilterInput = z.object({
  stageId: idField.optional(),
  responsibleId: idField.optional(),
  counterpartyId: idField.optional(),
  open: z.boolean().optional(),
  /** YYYY-MM-DD: open deals by the day they were created, closed ones by the day they closed */
  from: z.string().optional(),
  to: z.string().optional(),
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
  if (f.from || f.to) {
    const p = parseInput(pipelineFilterInput.pick({ from: true, to: true }), { from: f.from || undefined, to: f.to || undefined });
    conds.push(dealPeriodCondition(ctx, p.from, p.to));
  }
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
