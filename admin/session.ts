import type { FastifyReply, FastifyRequest } from 'fastify';
import { createSession, destroySession, SESSION_IDLE_MS } from '../core/sessions/sessions.js';
import type { User } from '../core/users/users.js';
import type { AdminDeps } from './types.js';

export const SESSION_COOKIE = 'crm_session';

/** Opens a database session and hands its token to the browser in a signed, HttpOnly, SameSite cookie. */
export async function signIn(deps: AdminDeps, req: FastifyRequest, reply: FastifyReply, user: User): Promise<void> {
  const ua = req.headers['user-agent'];
  const token = await createSession(deps.services.ctx(), user.id, { ...(ua ? { userAgent: ua } : {}), ip: req.ip });
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/admin',
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.secureCookies,
    signed: true,
    maxAge: Math.floor(SESSION_IDLE_MS / 1000),
  });
}

export async function signOut(deps: AdminDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (req.adminToken) await destroySession(deps.services.ctx(), req.adminToken);
  reply.clearCookie(SESSION_COOKIE, { path: '/admin' });
}

/** Only a path inside the panel is a safe place to return to after signing in. */
export function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/admin';
}
