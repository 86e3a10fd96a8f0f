import type { FastifyInstance } from 'fastify';
import { isServiceError } from '../../core/errors.js';
import { authenticate, countUsers, setPassword } from '../../core/users/users.js';
import { destroyUserSessions } from '../../core/sessions/sessions.js';
import { body, query, str } from '../forms.js';
import { ctxOf, redirectWith, render } from '../render.js';
import { safeNext, signIn, signOut } from '../session.js';
import type { AdminDeps } from '../types.js';

export default async function authRoutes(app: FastifyInstance, deps: AdminDeps) {

  app.get('/login', { config: { adminPublic: true } }, async (req, reply) => {
    if (req.adminUser) return reply.redirect(safeNext(str(query(req), 'next')), 303);
    // the first-start hint is for the first admin, while nobody else has been added
    const firstRun = (await countUsers(deps.services.ctx())) <= 1;
    return render(deps, req, reply, 'login', { title: 'Вход', next: safeNext(str(query(req), 'next')), email: '', firstRun });
  });

  app.post('/login', { config: { adminPublic: true } }, async (req, reply) => {
    const form = body(req);
    const email = str(form, 'email');
    const next = safeNext(str(form, 'next'));
    // per address and e-mail: guessing one account's password is slowed down, colleagues behind one
    // NAT are not; per address: trying many accounts from one place (password spraying) is too.
    // req.ip is the client's own address unless TRUST_PROXY names the proxy in front.
    const { max, maxPerAddress } = deps.loginRateLimit;
    const keys = [
      { key: `${req.ip}|${email.trim().toLowerCase()}`, max, clearOnSuccess: true },
      { key: `address:${req.ip}`, max: maxPerAddress, clearOnSuccess: false },
    ];
    if (!(await deps.loginThrottle.attempt(keys)).allowed) {
      req.log.warn({ email }, 'admin sign-in throttled');
      return render(deps, req, reply, 'login', { title: 'Вход', next, email, error: 'Слишком много неудачных попыток входа. Подождите несколько минут и попробуйте снова.' }, 429);
    }
    try {
      const user = await authenticate(deps.services.ctx(), email, str(form, 'password'));
      await deps.loginThrottle.succeeded(keys);
      await signIn(deps, req, reply, user);
      return reply.redirect(next, 303);
    } catch (e) {
      // a refused password keeps the place it took in the counts
      if (!isServiceError(e) || e.code !== 'unauthenticated') throw e;
      req.log.info({ email }, 'admin sign-in refused');
      return render(deps, req, reply, 'login', { title: 'Вход', next, email, error: 'Неверный e-mail или пароль' }, 401);
    }
  });

  app.post('/logout', async (req, reply) => {
    await signOut(deps, req, reply);
    return reply.redirect('/admin/login', 303);
  });

  app.get('/account', async (req, reply) => render(deps, req, reply, 'account', { title: 'Мой профиль' }));

  app.post('/account/password', async (req, reply) => {
    const form = body(req);
    const ctx = ctxOf(deps, req);
    const password = str(form, 'password');
    if (password !== str(form, 'password2')) {
      return render(deps, req, reply, 'account', { title: 'Мой профиль', errors: { password2: 'пароли не совпадают' } }, 400);
    }
    try {
      await setPassword(ctx, req.adminUser!.id, password);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return render(deps, req, reply, 'account', { title: 'Мой профиль', errors: e.fields }, 400);
      throw e;
    }
    // other browsers signed in as this user are signed out; this one stays
    await destroyUserSessions(ctx, req.adminUser!.id, req.adminToken ?? undefined);
    return redirectWith(deps, reply, '/admin/account', { type: 'ok', text: 'Пароль изменён. Другие сеансы завершены.' });
  });
}
