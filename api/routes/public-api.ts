import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../core/services.js';
import { ServiceError } from '../../core/errors.js';
import { leadRoutes } from './leads.js';
import { formWebhookRoutes } from './form-webhooks.js';
import { vkCallbackRoutes } from './vk-callback.js';
import { schemaErrorToInvalid } from './validation.js';

export interface PublicApiOptions {
  services: Services;
  /** requests per window per API key (or per address without one); default 120 a minute */
  rateLimit?: { max: number; timeWindowMs: number };
}

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
    // a key's quota is its own; anonymous calls (webhooks, bad keys) share their address's
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      return auth ? `key:${createHash('sha256').update(auth).digest('hex').slice(0, 32)}` : `ip:${req.ip}`;
    },
  });

  // field errors in the CRM's shape ({ fields: { phone: '…' } }); the app's handler maps the rest
  app.setErrorHandler((error, _req, reply) => {
    const e = error as { validation?: Parameters<typeof schemaErrorToInvalid>[0]; validationContext?: string; statusCode?: number };
    if (e.validation) throw schemaErrorToInvalid(e.validation, e.validationContext);
    if (e.statusCode === 429) {
      reply.header('retry-after', reply.getHeader('retry-after') ?? '60');
      throw new ServiceError('rate_limited', 'Слишком много запросов, повторите позже');
    }
    throw error;
  });

  await app.register(leadRoutes, { services: opts.services });
  await app.register(formWebhookRoutes, { services: opts.services });
  await app.register(vkCallbackRoutes, { services: opts.services });
};
