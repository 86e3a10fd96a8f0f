import { createHash } from 'node:crypto';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../core/services.js';
import { ServiceError } from '../../core/errors.js';
import { IdempotencyKeyReused } from '../../core/leads/intake/web-leads.js';
import { apiKeyActor, leadRoutes } from './leads.js';
import { formWebhookRoutes } from './form-webhooks.js';
import { vkCallbackRoutes } from './vk-callback.js';
import { schemaErrorToInvalid } from './validation.js';

export interface PublicApiOptions {
  services: Services;
  /** requests per window per API key (or per address without one); default 120 a minute */
  rateLimit?: { max: number; timeWindowMs: number };
  /** requests per window per webhook source (its URL token); default per kind, see webhookLimits */
  webhookRateLimit?: { max: number; timeWindowMs: number };
}

export type WebhookKind = 'tilda' | 'form' | 'vk';

/**
 * A minute's posts per webhook source. Counted per source, not per sender address: Tilda and VK post
 * from a few shared servers, so a per-address limit is one limit for every source, and one campaign's
 * burst would refuse the others' leads. Set high enough that a campaign's burst is never refused: Tilda
 * and VK repeat a delivery that got no 2xx only a few times (VK also stops calling a server that keeps
 * failing), and a site's own form may not repeat at all. The limit only stops a leaked URL's flood.
 * VK's is higher because every community message (managers' replies included) is an event.
 */
const webhookLimits: Record<WebhookKind, number> = { tilda: 1200, form: 1200, vk: 3000 };

/** The rate limit of one webhook route, counted per source. */
export type WebhookRateLimit = (kind: WebhookKind) => RateLimitOptions;

const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 32);

/**
 * The public HTTP surface for integrations: the website API (/api/v1), the form and social
 * webhooks, their OpenAPI document at /api/openapi.json and a browsable page at /api/docs
 * (swagger-ui served from the package, no CDN).
 */
export const publicApi: FastifyPluginAsync<PublicApiOptions> = async (app, opts) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Чат-CRM: API для сайта и форм',
        description:
          'Заявки с сайта, из форм Tilda и из соцсетей становятся лидами CRM. Ключ API выдаёт `crm apikey:create`, адреса вебхуков — `crm webhook:create`.',
        version: '1',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API-ключ из `crm apikey:create`' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { docExpansion: 'list', deepLinking: false }, staticCSP: true });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(rateLimit, {
    max: opts.rateLimit?.max ?? 120,
    timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000,
    // a key's quota is its own however its header is spelled; calls without a valid key share their address's
    keyGenerator: async (req) => {
      const actor = await apiKeyActor(opts.services, req);
      return actor ? `key:${actor.apiKeyId}` : `ip:${req.ip}`;
    },
  });
  const webhookRateLimit: WebhookRateLimit = (kind) => ({
    max: opts.webhookRateLimit?.max ?? webhookLimits[kind],
    timeWindow: opts.webhookRateLimit?.timeWindowMs ?? 60_000,
    keyGenerator: (req) => `webhook:${kind}:${tokenDigest((req.params as { token?: string }).token ?? '')}`,
  });

  // field errors in the CRM's shape ({ fields: { phone: '…' } }); the app's handler maps the rest
  app.setErrorHandler((error, _req, reply) => {
    const e = error as { validation?: Parameters<typeof schemaErrorToInvalid>[0]; validationContext?: string; statusCode?: number };
    if (e.validation) throw schemaErrorToInvalid(e.validation, e.validationContext);
    if (error instanceof IdempotencyKeyReused) return reply.status(422).send({ error: error.code, message: error.message, fields: error.fields });
    if (e.statusCode === 429) {
      reply.header('retry-after', reply.getHeader('retry-after') ?? '60');
      throw new ServiceError('rate_limited', 'Слишком много запросов, повторите позже');
    }
    throw error;
  });

  await app.register(leadRoutes, { services: opts.services });
  await app.register(formWebhookRoutes, { services: opts.services, rateLimit: webhookRateLimit });
  await app.register(vkCallbackRoutes, { services: opts.services, rateLimit: webhookRateLimit });
};
