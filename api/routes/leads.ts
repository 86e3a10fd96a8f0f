import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Actor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { ServiceError } from '../../core/errors.js';
import { authenticateApiKey } from '../../core/users/users.js';
import { getLeadCard, submitWebLead, type WebLeadInput } from '../../core/leads/intake/web-leads.js';
import { bodyRefusals, errorBody, errorResponse, leadCard, leadSubmission, rateLimited, recordId } from './schemas.js';

const actors = new WeakMap<FastifyRequest, Extract<Actor, { kind: 'apiKey' }>>();

/**
 * The website API (R14): `POST /api/v1/leads` and `GET /api/v1/leads/:id`, with a Bearer API key
 * from `crm apikey:create`. Thin: parse, call the verb, map the answer.
 */
export const leadRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.addHook('onRequest', async (req, reply) => {
    const header = req.headers.authorization ?? '';
    const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const actor = key ? await authenticateApiKey(services.ctx(), key) : null;
    if (!actor || actor.kind !== 'apiKey') {
      reply.header('www-authenticate', 'Bearer');
      throw new ServiceError('unauthenticated', key ? 'Неверный или отозванный API-ключ' : 'Нужен заголовок Authorization: Bearer <API-ключ>');
    }
    actors.set(req, actor);
  });

  const security = [{ apiKey: [] }];

  app.post<{ Body: WebLeadInput; Headers: { 'idempotency-key'?: string } }>(
    '/api/v1/leads',
    {
      schema: {
        tags: ['Лиды'],
        summary: 'Создать лид из заявки на сайте',
        description:
          'Контакт находится по телефону или e-mail (или создаётся), компания — по названию; ответственный назначается по сегменту или по очереди и получает уведомление в Telegram. Повтор с тем же external_id или Idempotency-Key возвращает первый лид (200).',
        security,
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', maxLength: 200, description: 'Повтор запроса с тем же ключом вернёт первый лид' } },
        },
        body: leadSubmission,
        response: { 201: leadCard, 200: leadCard, 400: errorBody, 401: errorBody, ...bodyRefusals },
      },
    },
    async (req, reply) => {
      const actor = actors.get(req)!;
      const ctx = services.ctx(actor);
      const key = req.headers['idempotency-key']?.trim();
      const { lead, created } = await submitWebLead(ctx, req.body ?? {}, {
        source: 'website',
        sourceLabel: 'Заявка с сайта',
        idempotency: key ? { apiKeyId: actor.apiKeyId, key } : undefined,
      });
      return reply.code(created ? 201 : 200).send(await getLeadCard(ctx, lead.id));
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/leads/:id',
    {
      schema: {
        tags: ['Лиды'],
        summary: 'Лид с контактом, источником, кампанией и UTM-метками',
        security,
        params: { type: 'object', required: ['id'], properties: { id: recordId } },
        response: { 200: leadCard, 400: errorResponse('Неверный номер лида'), 401: errorBody, 404: errorBody, ...rateLimited },
      },
    },
    async (req) => getLeadCard(services.ctx(actors.get(req)!), req.params.id),
  );
};
