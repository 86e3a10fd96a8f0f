import { and, asc, eq, ilike, ne, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { products } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff } from '../shared/audit.js';
import { requireRole, requireUser } from '../access/scope.js';
import { escapeLike } from '../counterparties/counterparties.js';
import { parseRoubles } from '../validation/money.js';
import { GENERAL_VAT_RATE, vatRates } from '../documents/money.js';

/** «Товары и услуги»: what deal lines and documents are made of. Prices include VAT. */
export type Product = typeof products.$inferSelect;

/** Offered in the unit field; any other short text is allowed too («рулон», «пог. м»). */
export const suggestedUnits = ['шт', 'час', 'усл.', 'м²', 'м', 'кг', 'л', 'компл.', 'мес.'] as const;

/** The rates a product may carry; null is «без НДС». */
export type ProductVatRate = (typeof vatRates)[number] | null;

export const vatRateLabel = (rate: number | null): string => (rate === null ? 'без НДС' : `${rate}%`);

/**
 * «22%», «22», «10», «0», «без НДС» (also «нет», «-», an empty cell) → the rate; undefined when it is
 * none of these, so a form or a CSV row can say so.
 */
export function parseVatRate(input: string | number | null | undefined): ProductVatRate | undefined {
  if (input === null || input === undefined) return null;
  const s = String(input).trim().toLowerCase().replace(/\s+/g, ' ');
  if (s === '' || s === '-' || s === '—' || s === 'нет' || /^без( ндс)?$/.test(s) || s === 'none' || s === 'null') return null;
  const m = /^(\d{1,2})(?:[.,]0+)?\s*%?$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return (vatRates as readonly number[]).includes(n) ? (n as ProductVatRate) : undefined;
}

const VAT_MESSAGE = `ставка НДС: ${vatRates.map((r) => `${r}%`).join(', ')} или «без НДС»`;

const productInput = z.object({
  name: z.string('укажите наименование').trim().min(1, 'укажите наименование').max(500, 'наименование не длиннее 500 символов'),
  unit: z
    .string()
    .trim()
    .max(20, 'единица не длиннее 20 символов')
    .optional()
    .transform((u) => u || 'шт'),
  /** roubles as typed («1 500,50»), or kopecks as a bigint */
  price: z.union([z.string(), z.number(), z.bigint()], 'укажите цену').transform((v, c) => {
    const k = typeof v === 'bigint' ? v : typeof v === 'string' && v.trim() === '' ? 0n : parseRoubles(v);
    if (k === null || k < 0n) {
      c.addIssue({ code: 'custom', message: 'цена: число рублей, например 1500 или 1 500,50' });
      return z.NEVER;
    }
    if (k > 100_000_000_000_000n) {
      c.addIssue({ code: 'custom', message: 'цена слишком большая' });
      return z.NEVER;
    }
    return k;
  }),
  /** omitted: the general rate; null or «без НДС»: none */
  vatRate: z.union([z.number(), z.string(), z.null()]).optional().transform((v, c) => {
    if (v === undefined) return GENERAL_VAT_RATE as ProductVatRate;
    const r = parseVatRate(v);
    if (r === undefined) {
      c.addIssue({ code: 'custom', message: VAT_MESSAGE });
      return z.NEVER;
    }
    return r;
  }),
  code: z
    .string()
    .trim()
    .max(100, 'артикул не длиннее 100 символов')
    .nullish()
    .transform((s) => s || null),
});
export type ProductInput = z.input<typeof productInput>;
export type ProductData = z.output<typeof productInput>;

/** Validates a product's fields the way create and update do (the import checks each row with it). */
export const parseProductInput = (input: ProductInput): ProductData => parseInput(productInput, input);

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** Everyone signed in reads the book: managers put products on deals. */
export async function listProducts(
  ctx: ServiceContext,
  opts: { q?: string; includeArchived?: boolean; limit?: number; offset?: number } = {},
): Promise<Product[]> {
  requireReader(ctx);
  const conds: SQL[] = [];
  if (!opts.includeArchived) conds.push(eq(products.archived, false));
  const q = opts.q?.trim();
  if (q) {
    const like = `%${escapeLike(q)}%`;
    conds.push(or(ilike(products.name, like), ilike(products.code, like))!);
  }
  return ctx.db
    .select()
    .from(products)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(asc(products.archived), sql`lower(${products.name})`, asc(products.id))
    .limit(Math.min(Math.max(opts.limit ?? 500, 1), 5000))
    .offset(Math.max(opts.offset ?? 0, 0));
}

export async function getProduct(ctx: ServiceContext, id: number): Promise<Product> {
  requireReader(ctx);
  const [row] = validId(id) ? await ctx.db.select().from(products).where(eq(products.id, id)) : [];
  if (!row) throw notFound('Товар или услуга');
  return row;
}

/** The product with this name, ignoring case (names are unique that way), or null. */
export async function findProductByName(ctx: ServiceContext, name: string): Promise<Product | null> {
  const [row] = await ctx.db.select().from(products).where(sql`lower(${products.name}) = lower(${name.trim()})`);
  return row ?? null;
}

async function ensureUniqueName(ctx: ServiceContext, name: string, exceptId?: number): Promise<void> {
  const same = sql`lower(${products.name}) = lower(${name})`;
  const [dup] = await ctx.db
    .select({ id: products.id, name: products.name })
    .from(products)
    .where(exceptId ? and(same, ne(products.id, exceptId)) : same);
  if (dup) throw conflict(`«${dup.name}» уже есть в справочнике товаров и услуг`);
}

export async function createProduct(ctx: ServiceContext, input: ProductInput): Promise<Product> {
  requireRole(ctx, 'admin', 'head');
  const data = parseProductInput(input);
  return inTransaction(ctx, async (tx) => {
    await ensureUniqueName(tx, data.name);
    const [row] = await tx.db
      .insert(products)
      .values({ ...fieldsOf(data), createdAt: tx.clock.now(), updatedAt: tx.clock.now() })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`«${data.name}» уже есть в справочнике товаров и услуг`);
    await audit(tx, 'product.created', 'product', row.id, created(fieldsOf(data)));
    return row;
  });
}

export async function updateProduct(ctx: ServiceContext, id: number, input: ProductInput): Promise<Product> {
  requireRole(ctx, 'admin', 'head');
  const data = parseProductInput(input);
  return inTransaction(ctx, async (tx) => {
    const before = await getProduct(tx, id);
    await ensureUniqueName(tx, data.name, id);
    const [row] = await tx.db
      .update(products)
      .set({ ...fieldsOf(data), updatedAt: tx.clock.now() })
      .where(eq(products.id, id))
      .returning();
    const changes = diff(before, fieldsOf(data));
    if (Object.keys(changes).length) await audit(tx, 'product.updated', 'product', id, changes);
    return row!;
  });
}

/** An archived product stays on old deals and documents but is not offered for new lines. */
export async function archiveProduct(ctx: ServiceContext, id: number): Promise<Product> {
  return setArchived(ctx, id, true);
}

export async function restoreProduct(ctx: ServiceContext, id: number): Promise<Product> {
  return setArchived(ctx, id, false);
}

async function setArchived(ctx: ServiceContext, id: number, archived: boolean): Promise<Product> {
  requireRole(ctx, 'admin', 'head');
  return inTransaction(ctx, async (tx) => {
    const before = await getProduct(tx, id);
    if (before.archived === archived) return before;
    const [row] = await tx.db.update(products).set({ archived, updatedAt: tx.clock.now() }).where(eq(products.id, id)).returning();
    await audit(tx, archived ? 'product.archived' : 'product.restored', 'product', id, diff({ archived: before.archived }, { archived }));
    return row!;
  });
}

export function fieldsOf(data: ProductData) {
  return { name: data.name, unit: data.unit, priceKopecks: data.price, vatRate: data.vatRate, code: data.code };
}

/** Reading: any signed-in user (and the system); API keys and clients writing in are not staff. */
function requireReader(ctx: ServiceContext): void {
  if (ctx.actor.kind === 'system') return;
  requireUser(ctx);
}

