import { sql } from 'drizzle-orm';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Services } from '../core/services.js';
import { isServiceError, type ErrorCode } from '../core/errors.js';
import { outageOf } from '../core/db/outage.js';
import { adminPlugin } from '../admin/plugin.js';
import type { AdminOptions } from '../admin/types.js';
import { publicApi, type PublicApiOptions } from './routes/public-api.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { ratingRoutes } from './routes/rating.js';
import { fileLinkRoutes } from './routes/file-links.js';
import { cleanRequest, clientRefusal, frameworkRefusal, notFoundRefusal } from './refusals.js';
import type { ChannelHealth } from '../core/channels/monitor.js';
import type { ChannelKind } from '../core/channels/types.js';

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
 * The HTTP app as a value: tests call `inject` on it, main.ts listens. Later features (REST API,
 * webhooks, admin panel) register here as plugins.
 */
/**
 * A request's path as it may be logged: no query string (a dialled number, a search), and a secret a
 * provider puts in the path (Zebra's webhook secret, a signed file or form token: any long segment)
 * cut to its last four characters.
 */
export function loggablePath(url: string): string {
  const pathOnly = url.split('?')[0] ?? '';
  return pathOnly.replace(/\/([A-Za-z0-9_.~-]{16,})(?=\/|$)/g, (_m, seg: string) => `/…${seg.slice(-4)}`);
}

/** Fastify's request lines, without what a URL may carry that must not reach the logs (loggablePath). */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.info({ method: request.method, path: loggablePath(request.url) }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, path: loggablePath(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ method: request.method, path: loggablePath(request.url) }, 'route not found');
  }
}

export async function buildApp(
  services: Services,
  opts: {
    admin?: Omit<AdminOptions, 'services'>;
    /** the messenger adapters' watcher (AdapterMonitor): /health reports each channel */
    channels?: { check(): Promise<Record<ChannelKind, ChannelHealth>> };
    publicApi?: Omit<PublicApiOptions, 'services'>;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log.child({ role: 'web' }) as FastifyBaseLogger,
    // X-Forwarded-* are believed only from the proxies TRUST_PROXY names (default: none); otherwise
    // a client could choose its own address and step around per-address limits
    trustProxy: services.config.TRUST_PROXY,
    // a field given as a list where one value is expected (phone: ["…"]) is refused, not quietly unwrapped
    ajv: { customOptions: { coerceTypes: true } },
    // a URL the router cannot decode is refused in the CRM's words too
    frameworkErrors: frameworkRefusal,
    logController: new RequestLog(),
  });

  // One mapping of verb errors to HTTP; a 5xx never leaks internals.
  app.setErrorHandler((error, request, reply) => {
    if (isServiceError(error)) {
      return reply.status(statusOf[error.code]).send({ error: error.code, message: error.message, fields: error.fields });
    }
    // Fastify's and its plugins' refusals (bad JSON, 413, 415, schema) in Russian, in the same shape
    const refusal = clientRefusal(error, request);
    if (refusal) return reply.status(refusal.status).send(refusal.body);
    // the database or Redis is away (a restart): the same request may succeed in a few seconds
    const outage = outageOf(error);
    if (outage) {
      request.log.warn({ err: error, store: outage.store }, 'request refused: storage unavailable');
      return reply.status(503).header('retry-after', String(outage.retryAfterSeconds)).send({ error: 'unavailable', message: outage.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'Внутренняя ошибка сервера' });
  });
  app.setNotFoundHandler(notFoundRefusal);
  // NUL bytes and broken surrogates are dropped from every body, query and path before any route (the admin panel's too) reads them
  app.addHook('preHandler', cleanRequest);

  app.addSchema({
    $id: 'health',
    type: 'object',
    properties: {
      status: { type: 'string' },
      db: { type: 'string' },
      queue: { type: 'string' },
      // a channel that is down does not make the CRM unhealthy: the rest keeps working
      channels: { type: 'object', additionalProperties: { type: 'string', enum: ['ok', 'down', 'off'] } },
    },
  });

  app.get(
    '/health',
    {
      schema: {
        response: {
          200: { $ref: 'health#' },
          503: { $ref: 'health#' },
        },
      },
    },
    async (_req, reply) => {
      let status = 'ok';
      try {
        await services.database.rows(sql`SELECT 1`);
      } catch {
        status = 'degraded';
        reply.status(503);
      }
      const channels = opts.channels ? await opts.channels.check() : { telegram: 'off', whatsapp: 'off', viber: 'off' };
      return { status, db: services.database.kind, queue: services.jobs.kind, channels };
    },
  );

  // the admin panel (R26): server-rendered pages with their own cookies, CSRF and security headers
  await app.register(adminPlugin, { prefix: '/admin', services, ...opts.admin });

  // website API, form and social webhooks, OpenAPI at /api/openapi.json and /api/docs
  await app.register(publicApi, { services, ...opts.publicApi });

  // the unsubscribe link of mail-out letters (public, signed token)
  await app.register(unsubscribeRoutes, { services });

  // R23: the rating link of an e-mail ticket's «Решено» letter (public, signed token)
  await app.register(ratingRoutes, { services });

  // the files of managers' replies, by signed expiring links, for messengers that fetch files by URL (Viber)
  await app.register(fileLinkRoutes, { services });

  return app;
}
