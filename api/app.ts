import { sql } from 'drizzle-orm';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Services } from '../core/services.js';
import { isServiceError, type ErrorCode } from '../core/errors.js';

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
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log.child({ role: 'web' }) as FastifyBaseLogger,
    disableRequestLogging: false,
    trustProxy: true,
  });

  // One mapping of verb errors to HTTP; a 5xx never leaks internals.
  app.setErrorHandler((error, request, reply) => {
    if (isServiceError(error)) {
      return reply.status(statusOf[error.code]).send({ error: error.code, message: error.message, fields: error.fields });
    }
    const e = error as { statusCode?: number; validation?: unknown; message: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.status(e.statusCode ?? 400).send({ error: 'invalid', message: e.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'Внутренняя ошибка сервера' });
  });

  app.addSchema({
    $id: 'health',
    type: 'object',
    properties: { status: { type: 'string' }, db: { type: 'string' }, queue: { type: 'string' } },
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
      return { status, db: services.database.kind, queue: services.jobs.kind };
    },
  );

  return app;
}
