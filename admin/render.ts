import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, ServiceContext } from '../core/context.js';
import { forbidden, ServiceError } from '../core/errors.js';
import { userActor } from '../core/users/users.js';
import { formatters } from './format.js';
import { navFor } from './nav.js';
import type { AdminDeps } from './types.js';

const FLASH_COOKIE = 'crm_flash';

/** A message shown once after a redirect; an error that says where to fix it carries a link there. */
export type Flash = { type: 'ok' | 'error'; text: string; link?: { href: string; label: string } };

/** The ServiceContext of the signed-in user: every verb a page calls applies their access rules. */
export function ctxOf(deps: AdminDeps, req: FastifyRequest): ServiceContext {
  if (!req.adminUser) throw new ServiceError('unauthenticated', 'Нужно войти в CRM');
  return deps.services.ctx(userActor(req.adminUser));
}

/** A page only some roles open (the verbs behind it check again). */
export function requireRoles(req: FastifyRequest, ...roles: Role[]): void {
  if (!req.adminUser || !roles.includes(req.adminUser.role)) throw forbidden('Этот раздел вам недоступен');
}

export const hasRole = (req: FastifyRequest, ...roles: Role[]) => !!req.adminUser && roles.includes(req.adminUser.role);

/** Renders a page inside the layout with what every page needs: the user, menu, CSRF token, flash message and formatters. */
export async function render(
  deps: AdminDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  template: string,
  data: Record<string, unknown> = {},
  status = 200,
): Promise<FastifyReply> {
  const user = req.adminUser;
  const csrf = reply.generateCsrf({ secure: deps.secureCookies });
  const html = await reply.viewAsync(template, {
    title: 'Чат-CRM',
    ...data,
    me: user,
    nav: user ? navFor(user.role, req.url.split('?')[0]!) : [],
    csrf,
    flash: takeFlash(req, reply),
    f: formatters(user?.timeZone ?? deps.services.config.TIME_ZONE),
    path: req.url,
  });
  return reply.status(status).type('text/html; charset=utf-8').send(html);
}

/** Redirects after a form, with a one-time message for the next page (post/redirect/get). */
export function redirectWith(deps: AdminDeps, reply: FastifyReply, to: string, flash?: Flash): FastifyReply {
  if (flash) {
    reply.setCookie(FLASH_COOKIE, JSON.stringify(flash), { path: '/admin', httpOnly: true, sameSite: 'lax', signed: true, secure: deps.secureCookies, maxAge: 60 });
  }
  return reply.redirect(to, 303);
}

function takeFlash(req: FastifyRequest, reply: FastifyReply): Flash | null {
  const raw = req.cookies[FLASH_COOKIE];
  if (!raw) return null;
  reply.clearCookie(FLASH_COOKIE, { path: '/admin' });
  const un = req.unsignCookie(raw);
  if (!un.valid || !un.value) return null;
  try {
    return JSON.parse(un.value) as Flash;
  } catch {
    return null;
  }
}

/** A query string from the current one with some keys replaced (links of pagers and tabs). */
export function withQuery(base: string, query: Record<string, unknown>, changes: Record<string, unknown> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...query, ...changes })) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)));
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `${base}?${s}` : base;
}
