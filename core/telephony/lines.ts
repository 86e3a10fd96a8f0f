import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { phoneLines, userExtensions as userExtensionsTable, users } from '../db/schema/index.js';
import { invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, diff } from '../shared/audit.js';
import { requireRole, requireUser } from '../access/scope.js';
import { normalizePhone } from '../validation/phone.js';
import { phoneProviderLabels } from './labels.js';
import { phoneProviders, type PhoneProvider } from './types.js';

/** «Линии»: the company's numbers at a provider, with the names managers know them by. */
export type PhoneLine = typeof phoneLines.$inferSelect;
export interface LineInput {
  provider: PhoneProvider;
  number: string;
  name: string;
  active?: boolean | undefined;
}

const lineInput = z.object({
  provider: z.enum(phoneProviders, 'выберите АТС'),
  number: z.string('укажите номер').transform((s, c) => {
    const e164 = normalizePhone(s);
    if (!e164) {
      c.addIssue({ code: 'custom', message: 'номер телефона, например +7 495 123-45-67' });
      return z.NEVER;
    }
    return e164;
  }),
  name: z.string('укажите название').trim().min(1, 'укажите название').max(200, 'название не длиннее 200 символов'),
  active: z.boolean().optional().default(true),
});

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** Reading: any signed-in user (a manager chooses the line to call from) and the system. */
function requireReader(ctx: ServiceContext): void {
  if (ctx.actor.kind === 'system') return;
  requireUser(ctx);
}

/** activeOnly: the lines a call can be placed from («Используется» ticked) */
export async function listLines(ctx: ServiceContext, opts: { activeOnly?: boolean } = {}): Promise<PhoneLine[]> {
  requireReader(ctx);
  return ctx.db
    .select()
    .from(phoneLines)
    .where(opts.activeOnly ? eq(phoneLines.active, true) : undefined)
    .orderBy(asc(phoneLines.provider), sql`lower(${phoneLines.name})`, asc(phoneLines.id));
}

export async function getLine(ctx: ServiceContext, id: number): Promise<PhoneLine> {
  requireReader(ctx);
  const [row] = validId(id) ? await ctx.db.select().from(phoneLines).where(eq(phoneLines.id, id)) : [];
  if (!row) throw notFound('Линия');
  return row;
}

/** One number is one line at a provider: a second is refused on the number field. */
async function ensureUniqueNumber(ctx: ServiceContext, provider: PhoneProvider, number: string, exceptId?: number): Promise<void> {
  const same = and(eq(phoneLines.provider, provider), eq(phoneLines.number, number));
  const [dup] = await ctx.db
    .select({ name: phoneLines.name })
    .from(phoneLines)
    .where(exceptId ? and(same, ne(phoneLines.id, exceptId)) : same);
  if (dup) throw invalid({ number: `этот номер уже есть в ${phoneProviderLabels[provider]}: линия «${dup.name}»` });
}

// the book's rows have no entity type of their own in the audit trail; the lock keeps two
// clicks adding the same number from both passing the check
const lockNumber = (ctx: ServiceContext, provider: PhoneProvider, number: string) =>
  ctx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`phone_line:${provider}:${number}`}, 0))`);

export async function createLine(ctx: ServiceContext, input: LineInput): Promise<PhoneLine> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(lineInput, input);
  return inTransaction(ctx, async (tx) => {
    await lockNumber(tx, data.provider, data.number);
    await ensureUniqueNumber(tx, data.provider, data.number);
    const [row] = await tx.db
      .insert(phoneLines)
      .values({ ...data, createdAt: tx.clock.now() })
      .returning();
    await audit(tx, 'create', 'phone_line', row!.id, diff({}, data));
    return row!;
  });
}

export async function updateLine(ctx: ServiceContext, id: number, input: LineInput): Promise<PhoneLine> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(lineInput, input);
  return inTransaction(ctx, async (tx) => {
    const before = await getLine(tx, id);
    await lockNumber(tx, data.provider, data.number);
    await ensureUniqueNumber(tx, data.provider, data.number, id);
    const [row] = await tx.db.update(phoneLines).set(data).where(eq(phoneLines.id, id)).returning();
    await audit(tx, 'update', 'phone_line', id, diff(before, data));
    return row!;
  });
}

/** Calls made on the line keep their other details (their line becomes empty); rules for the line go with it. */
export async function deleteLine(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [row] = validId(id) ? await ctx.db.delete(phoneLines).where(eq(phoneLines.id, id)).returning() : [];
  if (!row) throw notFound('Линия');
  await audit(ctx, 'delete', 'phone_line', id, diff({ provider: row.provider, number: row.number, name: row.name }, {}));
}

/** the line with this number at the provider (the number normalised), or null */
export async function lineByNumber(ctx: ServiceContext, provider: PhoneProvider, number: string): Promise<PhoneLine | null> {
  const e164 = normalizePhone(number);
  if (!e164) return null;
  const [row] = await ctx.db
    .select()
    .from(phoneLines)
    .where(and(eq(phoneLines.provider, provider), eq(phoneLines.number, e164)));
  return row ?? null;
}

/** Extensions: Mango's «внутренний номер» (digits), Zebra's device id (hex), another PBX's own. */
const extensionPattern = /^[0-9A-Za-z]{1,64}$/;

/** What each provider's extension field is called, for forms and messages. */
export const extensionLabels: Record<PhoneProvider, string> = {
  mango: 'Внутренний номер Mango Office',
  zebra: 'ID устройства Zebra Telecom',
  generic: 'Внутренний номер (другая АТС)',
};

export async function userExtensions(ctx: ServiceContext, userId: number): Promise<Partial<Record<PhoneProvider, string>>> {
  const rows = await ctx.db
    .select({ provider: userExtensionsTable.provider, extension: userExtensionsTable.extension })
    .from(userExtensionsTable)
    .where(eq(userExtensionsTable.userId, userId));
  return Object.fromEntries(rows.map((r) => [r.provider, r.extension]));
}

/** How many users have an extension at each provider («Интеграции»). */
export async function extensionCounts(ctx: ServiceContext): Promise<Partial<Record<PhoneProvider, number>>> {
  const rows = await ctx.db
    .select({ provider: userExtensionsTable.provider, n: sql<number>`count(*)::int` })
    .from(userExtensionsTable)
    .groupBy(userExtensionsTable.provider);
  return Object.fromEntries(rows.map((r) => [r.provider, r.n]));
}

/** How many users have at least one extension. */
export async function usersWithExtensions(ctx: ServiceContext): Promise<number> {
  const [row] = await ctx.db.select({ n: sql<number>`count(DISTINCT ${userExtensionsTable.userId})::int` }).from(userExtensionsTable);
  return row?.n ?? 0;
}

/** admin/head; null or '' removes; an extension another user has → invalid({ [`extension.${provider}`]: … }) */
export async function setUserExtensions(ctx: ServiceContext, userId: number, ext: Partial<Record<PhoneProvider, string | null>>): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const wanted: Partial<Record<PhoneProvider, string | null>> = {};
  const problems: Record<string, string> = {};
  for (const provider of phoneProviders) {
    if (!(provider in ext)) continue;
    const v = (ext[provider] ?? '').trim();
    if (v && !extensionPattern.test(v)) problems[`extension.${provider}`] = `${extensionLabels[provider]}: только латинские буквы и цифры, не длиннее 64 символов`;
    wanted[provider] = v || null;
  }
  if (Object.keys(problems).length) throw invalid(problems);
  await inTransaction(ctx, async (tx) => {
    if (!validId(userId) || !(await tx.db.select({ id: users.id }).from(users).where(eq(users.id, userId))).length) throw notFound('Пользователь');
    const given = Object.entries(wanted).filter((e): e is [PhoneProvider, string] => !!e[1]);
    for (const [provider, extension] of given) {
      await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`extension:${provider}:${extension}`}, 0))`);
    }
    if (given.length) {
      const taken = await tx.db
        .select({ provider: userExtensionsTable.provider, extension: userExtensionsTable.extension, name: users.name })
        .from(userExtensionsTable)
        .innerJoin(users, eq(users.id, userExtensionsTable.userId))
        .where(
          and(
            ne(userExtensionsTable.userId, userId),
            inArray(userExtensionsTable.provider, given.map(([p]) => p)),
            inArray(userExtensionsTable.extension, given.map(([, e]) => e)),
          ),
        );
      for (const t of taken) {
        if (wanted[t.provider] === t.extension) problems[`extension.${t.provider}`] = `${extensionLabels[t.provider]} ${t.extension} уже у сотрудника «${t.name}»`;
      }
      if (Object.keys(problems).length) throw invalid(problems);
    }
    const before = await userExtensions(tx, userId);
    for (const [provider, extension] of Object.entries(wanted) as [PhoneProvider, string | null][]) {
      if (extension === (before[provider] ?? null)) continue;
      if (extension === null) {
        await tx.db.delete(userExtensionsTable).where(and(eq(userExtensionsTable.userId, userId), eq(userExtensionsTable.provider, provider)));
      } else {
        await tx.db
          .insert(userExtensionsTable)
          .values({ userId, provider, extension })
          .onConflictDoUpdate({ target: [userExtensionsTable.userId, userExtensionsTable.provider], set: { extension } });
      }
    }
    const changes = diff(
      Object.fromEntries(Object.keys(wanted).map((p) => [`extension.${p}`, before[p as PhoneProvider] ?? null])),
      Object.fromEntries(Object.entries(wanted).map(([p, v]) => [`extension.${p}`, v])),
    );
    if (Object.keys(changes).length) await audit(tx, 'user.extensions', 'user', userId, changes);
  });
}

export async function userByExtension(ctx: ServiceContext, provider: PhoneProvider, extension: string): Promise<number | null> {
  const ext = extension.trim();
  if (!ext) return null;
  const [row] = await ctx.db
    .select({ userId: userExtensionsTable.userId })
    .from(userExtensionsTable)
    .where(and(eq(userExtensionsTable.provider, provider), eq(userExtensionsTable.extension, ext)));
  return row?.userId ?? null;
}

export async function extensionOf(ctx: ServiceContext, userId: number, provider: PhoneProvider): Promise<string | null> {
  const [row] = await ctx.db
    .select({ extension: userExtensionsTable.extension })
    .from(userExtensionsTable)
    .where(and(eq(userExtensionsTable.userId, userId), eq(userExtensionsTable.provider, provider)));
  return row?.extension ?? null;
}
