import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import { Redis } from 'ioredis';
import { isServiceError, type ErrorCode } from '../core/errors.js';
import { outageOf } from '../core/db/outage.js';
import { sessionUser } from '../core/sessions/sessions.js';
import { render } from './render.js';
import { adminRoutes } from './routes/index.js';
import { createLoginThrottle } from './login-throttle.js';
import { SESSION_COOKIE } from './session.js';
import type { AdminDeps, AdminOptions } from './types.js';
import './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const statusOf: Record<ErrorCode, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

/**
 * The admin panel (R26), mounted at /admin: server-rendered Russian pages over the core's verbs.
 * Everything here is encapsulated in this plugin (cookies, forms, CSRF, helmet, views), so the
 * REST API beside it is untouched. Sessions live in the database, so any number of web processes
 * share them.
 */
export async function adminPlugin(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { services } = opts;
  const httpsOnly = services.config.PUBLIC_URL?.startsWith('https:') ?? false;
  // with Redis configured, every web process counts failed sign-ins in one place
  const redis = services.config.REDIS_URL ? new Redis(services.config.REDIS_URL, { connectTimeout: 1000, maxRetriesPerRequest: 1, lazyConnect: false }) : undefined;
  if (redis) {
    redis.on('error', (err) => app.log.warn({ err }, 'sign-in throttle: redis error'));
    app.addHook('onClose', async () => void (await redis.quit().catch(() => redis.disconnect())));
  }
  const loginRateLimit = { max: 10, timeWindowMs: 15 * 60_000, maxPerAddress: 30, ...opts.loginRateLimit };
  const deps: AdminDeps = {
    services,
    inlineImportRows: opts.inlineImportRows ?? 2000,
    // about 2,000 rows of a typical client list: read within the request in a second or two
    inlineImportBytes: opts.inlineImportBytes ?? 256 * 1024,
    maxUploadBytes: opts.maxUploadBytes ?? 100 * 1024 * 1024,
    loginRateLimit,
    loginThrottle: createLoginThrottle({ windowMs: loginRateLimit.timeWindowMs, redis, log: app.log }),
    telephony: opts.telephony ?? {},
    secureCookies: httpsOnly ? true : 'auto',
  };

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        // on plain http (a laptop, a LAN address) upgrading would break every request
        upgradeInsecureRequests: httpsOnly ? [] : null,
      },
    },
    hsts: httpsOnly,
  });
  await app.register(fastifyCookie, { secret: services.secretKey });
  await app.register(fastifyFormbody, { bodyLimit: 2 * 1024 * 1024 });
  await app.register(fastifyMultipart, { limits: { fileSize: deps.maxUploadBytes, files: 1, fields: 20, fieldSize: 64 * 1024 } });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'crm_csrf',
    cookieOpts: { path: '/admin', httpOnly: true, sameSite: 'lax', signed: true, secure: deps.secureCookies },
    getToken: (req) => {
      const b = req.body as Record<string, unknown> | undefined;
      return (typeof b?._csrf === 'string' ? b._csrf : undefined) ?? (req.headers['x-csrf-token'] as string | undefined);
    },
  });
  await app.register(fastifyView, {
    engine: { eta: new Eta({ autoFilter: true, filterFunction: (v: unknown) => (v === null || v === undefined ? '' : String(v)) }) },
    templates: path.join(here, 'views'),
    production: process.env.NODE_ENV !== 'development',
  });
  await app.register(fastifyStatic, { root: path.join(here, 'static'), prefix: '/static/', decorateReply: false, maxAge: '1h' });

  app.decorateRequest('adminUser', null);
  app.decorateRequest('adminToken', null);

  // CSRF first: a forged post is refused before anything else looks at it. An upload route reads
  // the fields in front of its file part into the body beforehand (see routes/imports.ts).
  app.addHook('preHandler', (req, reply, done) => {
    if (req.method !== 'POST') return done();
    app.csrfProtection(req, reply, done);
  });

  app.addHook('preHandler', async (req, reply) => {
    if (req.url.startsWith('/admin/static/')) return;
    const raw = req.cookies[SESSION_COOKIE];
    const token = raw ? req.unsignCookie(raw) : null;
    if (token?.valid && token.value) {
      const user = await sessionUser(services.ctx(), token.value);
      if (user) {
        req.adminUser = user;
        req.adminToken = token.value;
      }
    }
    if (req.adminUser || req.routeOptions.config.adminPublic) return;
    if (req.method === 'GET' && !req.url.includes('.json') && !req.url.startsWith('/admin/api/')) {
      return reply.redirect(`/admin/login?next=${encodeURIComponent(req.url)}`, 303);
    }
    return reply.status(401).send({ error: 'unauthenticated', message: 'Нужно войти в CRM' });
  });

  app.setErrorHandler(async (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    let status = 500;
    let message = 'Внутренняя ошибка сервера. Попробуйте ещё раз; если повторится — сообщите администратору.';
    if (isServiceError(error)) {
      status = statusOf[error.code];
      message = error.message;
    } else if (error.code?.startsWith('FST_CSRF')) {
      status = 403;
      message = 'Форма отправлена без действительного CSRF-токена (устарела или пришла не со страницы CRM). Обновите страницу и повторите.';
    } else if (error.statusCode === 429) {
      status = 429;
      message = 'Слишком много попыток входа. Подождите несколько минут и попробуйте снова.';
    } else if (error.code === 'FST_REQ_FILE_TOO_LARGE' || error.code === 'FST_FILES_LIMIT') {
      status = 413;
      message = `Файл больше ${Math.round(deps.maxUploadBytes / 1024 / 1024)} МБ`;
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = 'Неверный запрос';
    } else if (outageOf(error)) {
      // the database or Redis is restarting: a page that says so, and when to try again
      const outage = outageOf(error)!;
      status = 503;
      message = outage.message;
      reply.header('retry-after', String(outage.retryAfterSeconds));
      req.log.warn({ err: error }, 'admin request during an outage');
    } else {
      req.log.error({ err: error }, 'admin request failed');
    }
    if (req.url.includes('.json') || req.url.startsWith('/admin/api/') || req.headers.accept?.startsWith('application/json')) {
      return reply.status(status).send({ error: isServiceError(error) ? error.code : 'error', message });
    }
    return render(deps, req, reply, 'error', { title: 'Ошибка', status, message }, status);
  });

  app.setNotFoundHandler(async (req, reply) =>
    render(deps, req, reply, 'error', { title: 'Не найдено', status: 404, message: 'Такой страницы нет' }, 404),
  );

  for (const routes of adminRoutes) await app.register(routes, deps);
}
