import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, lt, ne } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { adminSessions, users } from '../db/schema/index.js';
import type { User } from '../users/users.js';

/** A session lives this long after its last use. */
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
/** lastSeenAt is written at most this often, so that every page view is not a write */
const TOUCH_EVERY_MS = 5 * 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Opens a session for a signed-in user; the token goes into the cookie and only its hash is kept. */
export async function createSession(ctx: ServiceContext, userId: number, meta: { userAgent?: string; ip?: string } = {}): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = ctx.clock.now();
  await ctx.db.insert(adminSessions).values({
    tokenHash: sha256(token),
    userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + SESSION_IDLE_MS),
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
    ip: meta.ip ?? null,
  });
  // a sign-in is a good moment to forget sessions that ran out
  await ctx.db.delete(adminSessions).where(lt(adminSessions.expiresAt, now));
  return token;
}

/** The active user behind a session token, or null (unknown, expired, or the user was deactivated). */
export async function sessionUser(ctx: ServiceContext, token: string): Promise<User | null> {
  if (!token) return null;
  const now = ctx.clock.now();
  const hash = sha256(token);
  const [row] = await ctx.db
    .select({ user: users, lastSeenAt: adminSessions.lastSeenAt })
    .from(adminSessions)
    .innerJoin(users, eq(users.id, adminSessions.userId))
    .where(and(eq(adminSessions.tokenHash, hash), gt(adminSessions.expiresAt, now)));
  if (!row || !row.user.active) return null;
  if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await ctx.db
      .update(adminSessions)
      .set({ lastSeenAt: now, expiresAt: new Date(now.getTime() + SESSION_IDLE_MS) })
      .where(eq(adminSessions.tokenHash, hash));
  }
  return row.user;
}

export async function destroySession(ctx: ServiceContext, token: string): Promise<void> {
  if (token) await ctx.db.delete(adminSessions).where(eq(adminSessions.tokenHash, sha256(token)));
}

/** Signs a user out everywhere (after a password reset or deactivation), optionally keeping one session. */
export async function destroyUserSessions(ctx: ServiceContext, userId: number, exceptToken?: string): Promise<void> {
  const conds = [eq(adminSessions.userId, userId)];
  if (exceptToken) conds.push(ne(adminSessions.tokenHash, sha256(exceptToken)));
  await ctx.db.delete(adminSessions).where(and(...conds));
}
