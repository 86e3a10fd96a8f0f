import { createHash, randomBytes, randomInt } from 'node:crypto';
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor, Role, ServiceContext } from '../context.js';
import { users, linkCodes, apiKeys } from '../db/schema/index.js';
import { conflict, notFound, ServiceError, invalid } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created } from '../shared/audit.js';
import { requireRole } from '../access/scope.js';
import { hashPassword, verifyPassword } from './password.js';

export type User = typeof users.$inferSelect;

export const userInput = z.object({
  email: z.email('неверный e-mail').transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1, 'укажите имя'),
  role: z.enum(['admin', 'head', 'manager'], 'роль: admin, head или manager'),
  password: z.string().min(8, 'пароль не короче 8 символов').optional(),
  timeZone: z.string().default('Europe/Moscow'),
});

export async function createUser(ctx: ServiceContext, input: z.input<typeof userInput>): Promise<User> {
  requireRole(ctx, 'admin');
  const data = parseInput(userInput, input);
  if (!Intl.supportedValuesOf('timeZone').includes(data.timeZone) && data.timeZone !== 'UTC') {
    throw invalid({ timeZone: 'неизвестный часовой пояс' });
  }
  const existing = await ctx.db.select({ id: users.id }).from(users).where(eq(users.email, data.email));
  if (existing.length) throw conflict(`Пользователь с e-mail ${data.email} уже есть`);
  const [user] = await ctx.db
    .insert(users)
    .values({
      email: data.email,
      name: data.name,
      role: data.role,
      timeZone: data.timeZone,
      createdAt: ctx.clock.now(),
      passwordHash: data.password ? await hashPassword(data.password) : null,
    })
    .returning();
  await audit(ctx, 'create', 'user', user!.id, created({ email: user!.email, name: user!.name, role: user!.role }));
  return user!;
}

export async function getUser(ctx: ServiceContext, id: number): Promise<User> {
  const [user] = await ctx.db.select().from(users).where(eq(users.id, id));
  if (!user) throw notFound('Пользователь');
  return user;
}

export async function findUserByEmail(ctx: ServiceContext, email: string): Promise<User | null> {
  const [user] = await ctx.db.select().from(users).where(eq(users.email, email.trim().toLowerCase()));
  return user ?? null;
}

export async function listUsers(ctx: ServiceContext, opts: { role?: Role; activeOnly?: boolean } = {}): Promise<User[]> {
  const conds = [];
  if (opts.role) conds.push(eq(users.role, opts.role));
  if (opts.activeOnly) conds.push(eq(users.active, true));
  return ctx.db.select().from(users).where(and(...conds)).orderBy(asc(users.name));
}

/** How many people the CRM has (the sign-in page explains the first admin while it is alone). */
export async function countUsers(ctx: ServiceContext): Promise<number> {
  const [r] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(users);
  return Number(r!.n);
}

export async function setPassword(ctx: ServiceContext, userId: number, password: string): Promise<void> {
  if (!(ctx.actor.kind === 'user' && ctx.actor.userId === userId)) requireRole(ctx, 'admin');
  const { password: pw } = parseInput(z.object({ password: z.string().min(8, 'пароль не короче 8 символов') }), { password });
  await getUser(ctx, userId);
  await ctx.db.update(users).set({ passwordHash: await hashPassword(pw) }).where(eq(users.id, userId));
  await audit(ctx, 'set_password', 'user', userId);
}

export async function updateUser(
  ctx: ServiceContext,
  userId: number,
  patch: { name?: string; role?: Role; active?: boolean; onDuty?: boolean; timeZone?: string },
): Promise<User> {
  requireRole(ctx, 'admin');
  const data = parseInput(
    z.object({
      name: z.string().trim().min(1, 'укажите имя').optional(),
      role: z.enum(['admin', 'head', 'manager']).optional(),
      active: z.boolean().optional(),
      onDuty: z.boolean().optional(),
      timeZone: z.string().optional(),
    }),
    patch,
  );
  const before = await getUser(ctx, userId);
  const [after] = await ctx.db.update(users).set(data).where(eq(users.id, userId)).returning();
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const k of Object.keys(data) as (keyof typeof data)[]) if (before[k] !== after![k]) changes[k] = { from: before[k], to: after![k] };
  await audit(ctx, 'update', 'user', userId, changes);
  return after!;
}

/** Password sign-in (admin panel). The same answer for an unknown e-mail and a wrong password. */
export async function authenticate(ctx: ServiceContext, email: string, password: string): Promise<User> {
  const user = await findUserByEmail(ctx, email);
  const ok = user?.passwordHash && user.active ? await verifyPassword(password, user.passwordHash) : false;
  if (!user || !ok) throw new ServiceError('unauthenticated', 'Неверный e-mail или пароль');
  return user;
}

export const userActor = (user: User): Actor => ({
  kind: 'user',
  userId: user.id,
  role: user.role,
  name: user.name,
  timeZone: user.timeZone,
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A one-time code that links a user to a Telegram account (`/start <code>`); valid for `ttlMinutes`. */
export async function createLinkCode(ctx: ServiceContext, userId: number, ttlMinutes = 60 * 24): Promise<{ code: string; expiresAt: Date }> {
  if (!(ctx.actor.kind === 'user' && ctx.actor.userId === userId)) requireRole(ctx, 'admin');
  await getUser(ctx, userId);
  // 8 characters from an alphabet without look-alikes; Telegram's start parameter allows [A-Za-z0-9_-]
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const code = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const expiresAt = new Date(ctx.clock.now().getTime() + ttlMinutes * 60_000);
  await ctx.db.insert(linkCodes).values({ codeHash: sha256(code), userId, expiresAt });
  await audit(ctx, 'create_link_code', 'user', userId);
  return { code, expiresAt };
}

/** Consumes a link code: works once, before it expires. One Telegram account links to one user. */
export async function linkTelegram(ctx: ServiceContext, code: string, telegramId: number): Promise<User> {
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .update(linkCodes)
    .set({ usedAt: now })
    .where(and(eq(linkCodes.codeHash, sha256(code.trim().toUpperCase())), isNull(linkCodes.usedAt), gt(linkCodes.expiresAt, now)))
    .returning();
  if (!row) throw invalid({ code: 'код неверный, уже использован или истёк' }, 'Код привязки неверный, уже использован или истёк');
  // the Telegram account may have been linked to someone else before: move it
  await ctx.db.update(users).set({ telegramId: null }).where(eq(users.telegramId, telegramId));
  const [user] = await ctx.db.update(users).set({ telegramId }).where(eq(users.id, row.userId)).returning();
  await audit({ ...ctx, actor: userActor(user!) }, 'link_telegram', 'user', user!.id, { telegramId: { from: null, to: telegramId } });
  return user!;
}

export async function findUserByTelegramId(ctx: ServiceContext, telegramId: number): Promise<User | null> {
  const [user] = await ctx.db.select().from(users).where(and(eq(users.telegramId, telegramId), eq(users.active, true)));
  return user ?? null;
}

export type ApiKeyScope = (typeof apiKeys.$inferSelect)['scope'];

/** How the admin panel names a key's scope. */
export const apiKeyScopeLabel: Record<ApiKeyScope, string> = {
  website: 'сайт: создаёт лиды и читает только свои',
  read_all: 'чтение всех лидов',
};

const apiKeyInput = z.object({
  name: z.string().trim().min(1, 'укажите название'),
  scope: z.enum(['website', 'read_all'], 'доступ: website или read_all').default('website'),
});

/**
 * Creates an API key; the key is returned once and only its hash is kept. A `website` key (the
 * default) creates leads and reads back only its own; `read_all` also reads every other lead.
 */
export async function createApiKey(ctx: ServiceContext, name: string, scope?: string): Promise<{ id: number; key: string }> {
  requireRole(ctx, 'admin');
  const data = parseInput(apiKeyInput, { name, scope: scope || undefined });
  const key = `crm_${randomBytes(24).toString('base64url')}`;
  const [row] = await ctx.db
    .insert(apiKeys)
    .values({
      name: data.name,
      scope: data.scope,
      keyHash: sha256(key),
      prefix: key.slice(0, 8),
      createdAt: ctx.clock.now(),
      createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
    })
    .returning({ id: apiKeys.id });
  await audit(ctx, 'create', 'api_key', row!.id, created({ name: data.name, scope: data.scope }));
  return { id: row!.id, key };
}

export async function revokeApiKey(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin');
  const [row] = await ctx.db.update(apiKeys).set({ revokedAt: ctx.clock.now() }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning();
  if (!row) throw notFound('API-ключ');
  await audit(ctx, 'revoke', 'api_key', id);
}

export async function listApiKeys(ctx: ServiceContext) {
  requireRole(ctx, 'admin');
  return ctx.db
    .select({ id: apiKeys.id, name: apiKeys.name, scope: apiKeys.scope, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .orderBy(asc(apiKeys.id));
}

/** The actor of a request bearing an API key, or null for an unknown or revoked key. */
export async function authenticateApiKey(ctx: ServiceContext, key: string): Promise<Actor | null> {
  const [row] = await ctx.db
    .update(apiKeys)
    .set({ lastUsedAt: ctx.clock.now() })
    .where(and(eq(apiKeys.keyHash, sha256(key)), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id, name: apiKeys.name });
  return row ? { kind: 'apiKey', apiKeyId: row.id, name: row.name } : null;
}
