import { and, asc, eq, ilike, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { dealLines, deals, products } from '../db/schema/index.js';
import { defaultTaxMode } from '../organizations/organizations.js';
import { conflict, invalid, isServiceError, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff, recordHistory } from '../shared/audit.js';
import { idField } from '../shared/fields.js';
import { requireUser } from '../access/scope.js';
import { escapeLike } from '../counterparties/counterparties.js';
import { formatKopecks, parseRoubles } from '../validation/money.js';
import {
  formatPercent,
  formatQuantity,
  GENERAL_VAT_RATE,
  hasDiscount,
  lineSums,
  parsePercent,
  parseQuantity,
  totalsOf,
  vatRates,
  type LineSums,
  type TaxMode,
  type Totals,
} from '../documents/money.js';
import { getDeal, type Deal } from './deals.js';
import { lockDeal } from './lock.js';

/** «Товары и услуги» of a deal: its line items; while there are any, the deal's amount is their sum. */
export type DealLine = typeof dealLines.$inferSelect;
export type DealLineView = DealLine & { /** № in the table, from 1 */ no: number; sums: LineSums };
export interface DealLines {
  dealId: number;
  /** the default organisation's, which decides the VAT shown */
  taxMode: TaxMode;
  /** won or lost: the lines are read-only */
  closed: boolean;
  lines: DealLineView[];
  totals: Totals;
}

const QUANTITY_MESSAGE = 'Количество — число больше нуля, например 1,5';
const PRICE_MESSAGE = 'Цена — число рублей, например 1500 или 1 500,50';
const DISCOUNT_MESSAGE = 'Скидка — от 0 до 100 %, например 10 или 12,5';
const VAT_MESSAGE = `НДС — ${vatRates.map((r) => `${r} %`).join(', ')} или «без НДС»`;
/** 1 трлн ₽: beyond any real deal, and far below what a bigint sum of lines could overflow */
const MAX_LINE_KOPECKS = 100_000_000_000_000n;

/** Leaves a field to its default (the product's, or the line's as it is). */
const blank = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim() === '');

const quantityField = z.union([z.string(), z.number()], QUANTITY_MESSAGE).transform((v, c) => {
  const q = parseQuantity(v);
  if (q === null || q <= 0n) {
    c.addIssue({ code: 'custom', message: QUANTITY_MESSAGE });
    return z.NEVER;
  }
  return q;
});

const priceField = z.union([z.string(), z.number(), z.bigint()], PRICE_MESSAGE).transform((v, c) => {
  const k = typeof v === 'bigint' ? v : parseRoubles(v);
  if (k === null || k < 0n) {
    c.addIssue({ code: 'custom', message: k === null ? PRICE_MESSAGE : 'Цена не может быть отрицательной' });
    return z.NEVER;
  }
  if (k > MAX_LINE_KOPECKS) {
    c.addIssue({ code: 'custom', message: 'Цена слишком большая' });
    return z.NEVER;
  }
  return k;
});

const discountField = z.union([z.string(), z.number()], DISCOUNT_MESSAGE).transform((v, c) => {
  const p = parsePercent(v);
  if (p === null) {
    c.addIssue({ code: 'custom', message: DISCOUNT_MESSAGE });
    return z.NEVER;
  }
  return p;
});

/** 22, 10, 0 (also «22%»); null, «none», «без НДС» for none */
const vatField = z.union([z.number(), z.string(), z.null()]).transform((v, c) => {
  if (v === null) return null;
  const s = String(v).trim().toLowerCase();
  if (s === 'none' || s === 'null' || /^без( ндс)?$/.test(s)) return null;
  const m = /^(\d{1,2})\s*%?$/.exec(s);
  const n = m ? Number(m[1]) : NaN;
  if (!(vatRates as readonly number[]).includes(n)) {
    c.addIssue({ code: 'custom', message: VAT_MESSAGE });
    return z.NEVER;
  }
  return n;
});

const optional = <T extends z.ZodType>(f: T) => z.preprocess((v) => (blank(v) ? undefined : v), f.optional());

const lineFields = {
  name: optional(z.string().trim().max(500, 'Наименование не длиннее 500 символов')),
  quantity: optional(quantityField),
  unit: optional(z.string().trim().max(20, 'Единица не длиннее 20 символов')),
  price: optional(priceField),
  discount: optional(discountField),
  vatRate: optional(vatField),
};
const addInput = z.object({ productId: z.preprocess((v) => (blank(v) || v === null ? undefined : v), idField.optional()), ...lineFields });
const patchInput = z.object(lineFields);

/**
 * A line as typed: from the products book (`productId`: name, unit, price and VAT rate default from it)
 * or free text. Quantity up to 3 decimals, price in roubles («1 500,50») or kopecks as a bigint,
 * discount in percent (2 decimals), VAT 22, 10, 0 or null («без НДС»).
 */
export type DealLineInput = {
  productId?: number | string | null;
  name?: string;
  quantity?: string | number;
  unit?: string;
  price?: string | number | bigint;
  discount?: string | number;
  vatRate?: number | string | null;
};
export type DealLinePatch = Omit<DealLineInput, 'productId'>;

/** The products a line can be made from (active, by name); `q` narrows by name or article. */
export async function productChoices(ctx: ServiceContext, q?: string, limit = 200) {
  requireUser(ctx);
  const t = q?.trim();
  const cond = t
    ? and(eq(products.archived, false), or(ilike(products.name, `%${escapeLike(t)}%`), ilike(products.code, `%${escapeLike(t)}%`)))
    : eq(products.archived, false);
  return ctx.db
    .select({ id: products.id, name: products.name, unit: products.unit, priceKopecks: products.priceKopecks, vatRate: products.vatRate, code: products.code })
    .from(products)
    .where(cond)
    .orderBy(asc(products.name))
    .limit(Math.min(Math.max(limit, 1), 500));
}
export type ProductChoice = Awaited<ReturnType<typeof productChoices>>[number];

/** The deal as its reader sees it; a deal out of the actor's reach is «не найдена», so its lines do not show it exists. */
/** A deal out of reach reads as «не найдена»: line ids must not reveal that a deal exists. */
async function hiddenIfForbidden(read: Promise<Deal>): Promise<Deal> {
  try {
    return await read;
  } catch (e) {
    if (isServiceError(e) && e.code === 'forbidden') throw notFound('Сделка');
    throw e;
  }
}

const readableDeal = (ctx: ServiceContext, dealId: number) => hiddenIfForbidden(getDeal(ctx, dealId));

/**
 * Whoever may edit the deal may edit its lines (as updateDeal: whoever sees it). The deal's row is
 * locked first (lockDeal), so two changes at once cannot both start from the same old amount.
 */
async function editableDeal(tx: ServiceContext, dealId: number): Promise<Deal> {
  const deal = await hiddenIfForbidden(lockDeal(tx, dealId));
  if (deal.closedAt) throw conflict('Сделка закрыта: позиции меняют, пока она в работе. Верните её в работу, чтобы изменить позиции');
  return deal;
}

async function lineById(ctx: ServiceContext, lineId: number): Promise<DealLine> {
  const id = parseInput(idField, lineId);
  const [line] = await ctx.db.select().from(dealLines).where(eq(dealLines.id, id));
  if (!line) throw notFound('Позиция');
  return line;
}

/** A deal's lines in their order (also what documents print). */
export const dealLineRows = (ctx: ServiceContext, dealId: number) =>
  ctx.db.select().from(dealLines).where(eq(dealLines.dealId, dealId)).orderBy(asc(dealLines.position), asc(dealLines.id));

export async function listDealLines(ctx: ServiceContext, dealId: number): Promise<DealLines> {
  const deal = await readableDeal(ctx, parseInput(idField, dealId));
  const [rows, taxMode] = await Promise.all([dealLineRows(ctx, deal.id), defaultTaxMode(ctx)]);
  const lines = rows.map((l, i) => ({ ...l, no: i + 1, sums: lineSums(asLineInput(l), taxMode) }));
  return { dealId: deal.id, taxMode, closed: deal.closedAt !== null, lines, totals: totalsOf(lines.map((l) => l.sums)) };
}

export const asLineInput = (l: Pick<DealLine, 'quantity' | 'priceKopecks' | 'discountPercent' | 'vatRate'>) => ({
  quantity: l.quantity,
  priceKopecks: l.priceKopecks,
  discountPercent: l.discountPercent,
  vatRate: l.vatRate,
});

/** 1500n → '1.500', as the numeric column keeps it */
const quantityText = (milli: bigint) => `${milli / 1000n}.${(milli % 1000n).toString().padStart(3, '0')}`;
/** 1250n → '12.50' */
const percentText = (hundredths: bigint) => `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')}`;
/** «Монтаж»: 2 час × 1 500,00 ₽, скидка 10% = 2 700,00 ₽ — as the history tells it */
function describe(l: Pick<DealLine, 'name' | 'quantity' | 'unit' | 'priceKopecks' | 'discountPercent' | 'vatRate'>): string {
  const amount = lineSums(asLineInput(l)).amountKopecks;
  const name = l.name.length > 80 ? l.name.slice(0, 79) + '…' : l.name;
  return `«${name}»: ${formatQuantity(parseQuantity(l.quantity)!)} ${l.unit} × ${formatKopecks(l.priceKopecks)}${hasDiscount(l.discountPercent) ? `, скидка ${formatPercent(l.discountPercent)}` : ''} = ${formatKopecks(amount)}`;
}

/** What the audit keeps of a line. */
const auditFields = (l: DealLine) => ({ lineId: l.id, productId: l.productId, name: l.name, quantity: l.quantity, unit: l.unit, priceKopecks: l.priceKopecks, discountPercent: l.discountPercent, vatRate: l.vatRate });

/** One line's sum, refused when it is beyond any real deal. */
function checkedAmount(l: Pick<DealLine, 'quantity' | 'priceKopecks' | 'discountPercent' | 'vatRate'>): bigint {
  const amount = lineSums(asLineInput(l)).amountKopecks;
  if (amount > MAX_LINE_KOPECKS) throw invalid({ quantity: 'Сумма позиции слишком большая: проверьте количество и цену' });
  return amount;
}

/** The deal's amount follows its lines (while it has any), with a history line «Сумма сделки: … → …». */
async function syncAmount(tx: ServiceContext, deal: Deal): Promise<void> {
  const rows = await dealLineRows(tx, deal.id);
  if (!rows.length) return; // the last line gone: the amount stays and is typed by hand again
  const total = rows.reduce((s, l) => s + lineSums(asLineInput(l)).amountKopecks, 0n);
  if (total === deal.amountKopecks) return;
  await tx.db.update(deals).set({ amountKopecks: total, updatedAt: tx.clock.now() }).where(eq(deals.id, deal.id));
  await audit(tx, 'update', 'deal', deal.id, diff({ amountKopecks: deal.amountKopecks }, { amountKopecks: total }));
  await recordHistory(tx, 'deal', deal.id, 'amount_changed', `Сумма сделки: ${formatKopecks(deal.amountKopecks, deal.currency)} → ${formatKopecks(total, deal.currency)}`, {
    from: deal.amountKopecks.toString(),
    to: total.toString(),
  });
}

/** Positions 1..n in the given order (after a removal or a move). */
async function renumber(tx: ServiceContext, ordered: DealLine[]): Promise<void> {
  for (const [i, l] of ordered.entries()) {
    if (l.position !== i + 1) await tx.db.update(dealLines).set({ position: i + 1 }).where(eq(dealLines.id, l.id));
  }
}

export async function addDealLine(ctx: ServiceContext, dealId: number, input: DealLineInput): Promise<DealLine> {
  const id = parseInput(idField, dealId);
  const data = parseInput(addInput, input);
  return inTransaction(ctx, async (tx) => {
    const deal = await editableDeal(tx, id);
    let product: typeof products.$inferSelect | undefined;
    if (data.productId) {
      [product] = await tx.db.select().from(products).where(eq(products.id, data.productId));
      if (!product) throw invalid({ productId: 'Нет такого товара или услуги' });
      if (product.archived) throw invalid({ productId: `«${product.name}» в архиве: выберите другой товар или напишите наименование` });
    }
    const name = data.name ?? product?.name;
    if (!name) throw invalid({ name: 'Укажите наименование или выберите товар' });
    if (data.quantity === undefined) throw invalid({ quantity: QUANTITY_MESSAGE });
    const price = data.price ?? product?.priceKopecks;
    if (price === undefined) throw invalid({ price: 'Укажите цену' });
    const values = {
      dealId: deal.id,
      productId: product?.id ?? null,
      name,
      quantity: quantityText(data.quantity),
      unit: data.unit || product?.unit || 'шт',
      priceKopecks: price,
      discountPercent: percentText(data.discount ?? 0n),
      vatRate: data.vatRate !== undefined ? data.vatRate : product ? product.vatRate : GENERAL_VAT_RATE,
    };
    checkedAmount(values);
    const [last] = await tx.db.select({ n: sql<number>`coalesce(max(${dealLines.position}), 0)::int` }).from(dealLines).where(eq(dealLines.dealId, deal.id));
    const [line] = await tx.db
      .insert(dealLines)
      .values({ ...values, position: Number(last?.n ?? 0) + 1, createdAt: tx.clock.now() })
      .returning();
    await audit(tx, 'add_line', 'deal', deal.id, created(auditFields(line!)));
    await recordHistory(tx, 'deal', deal.id, 'line_added', `Добавлена позиция ${describe(line!)}`, { lineId: line!.id });
    await syncAmount(tx, deal);
    return line!;
  });
}

export async function updateDealLine(ctx: ServiceContext, lineId: number, patch: DealLinePatch): Promise<DealLine> {
  const data = parseInput(patchInput, patch);
  return inTransaction(ctx, async (tx) => {
    const line = await lineById(tx, lineId);
    const deal = await editableDeal(tx, line.dealId);
    const next = {
      name: data.name ?? line.name,
      quantity: data.quantity !== undefined ? quantityText(data.quantity) : line.quantity,
      unit: data.unit ?? line.unit,
      priceKopecks: data.price ?? line.priceKopecks,
      discountPercent: data.discount !== undefined ? percentText(data.discount) : line.discountPercent,
      vatRate: data.vatRate !== undefined ? data.vatRate : line.vatRate,
    };
    // '2.000' from the database and from the form are the same number: compare by value
    const same =
      next.name === line.name &&
      parseQuantity(next.quantity) === parseQuantity(line.quantity) &&
      next.unit === line.unit &&
      next.priceKopecks === line.priceKopecks &&
      parsePercent(next.discountPercent) === parsePercent(line.discountPercent) &&
      next.vatRate === line.vatRate;
    if (same) return line;
    checkedAmount(next);
    const [after] = await tx.db.update(dealLines).set(next).where(eq(dealLines.id, line.id)).returning();
    await audit(tx, 'update_line', 'deal', deal.id, diff(auditFields(line), auditFields(after!)));
    const vatNote = next.vatRate !== line.vatRate ? ` (НДС: ${vatText(line.vatRate)} → ${vatText(next.vatRate)})` : '';
    await recordHistory(tx, 'deal', deal.id, 'line_changed', `Изменена позиция ${describe(line)} → ${describe(after!)}${vatNote}`, { lineId: line.id });
    await syncAmount(tx, deal);
    return after!;
  });
}

const vatText = (rate: number | null) => (rate === null ? 'без НДС' : `${rate} %`);

export async function removeDealLine(ctx: ServiceContext, lineId: number): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const line = await lineById(tx, lineId);
    const deal = await editableDeal(tx, line.dealId);
    await tx.db.delete(dealLines).where(eq(dealLines.id, line.id));
    await renumber(tx, await dealLineRows(tx, deal.id));
    await audit(tx, 'remove_line', 'deal', deal.id, Object.fromEntries(Object.entries(created(auditFields(line))).map(([k, c]) => [k, { from: c.to, to: null }])));
    await recordHistory(tx, 'deal', deal.id, 'line_removed', `Удалена позиция ${describe(line)}`, { lineId: line.id });
    await syncAmount(tx, deal);
  });
}

/** ↑ / ↓: the line swaps places with its neighbour (the first stays first going up). */
export async function moveDealLine(ctx: ServiceContext, lineId: number, direction: 'up' | 'down'): Promise<void> {
  if (direction !== 'up' && direction !== 'down') throw invalid({ direction: 'вверх или вниз' });
  await inTransaction(ctx, async (tx) => {
    const line = await lineById(tx, lineId);
    const deal = await editableDeal(tx, line.dealId);
    const ordered = await dealLineRows(tx, deal.id);
    const i = ordered.findIndex((l) => l.id === line.id);
    const j = direction === 'up' ? i - 1 : i + 1;
    if (i < 0 || j < 0 || j >= ordered.length) return;
    [ordered[i], ordered[j]] = [ordered[j]!, ordered[i]!];
    await renumber(tx, ordered);
    await audit(tx, 'move_line', 'deal', deal.id, { [`line ${line.id}`]: { from: i + 1, to: j + 1 } });
    const short = line.name.length > 80 ? line.name.slice(0, 79) + '…' : line.name;
    await recordHistory(tx, 'deal', deal.id, 'line_moved', `Позиция «${short}» перемещена: ${i + 1} → ${j + 1}`, { lineId: line.id });
  });
}
