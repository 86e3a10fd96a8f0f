import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Actor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { ServiceError } from '../../core/errors.js';
import { authenticateApiKey } from '../../core/users/users.js';
import { findLeadCard, getLeadCard, submitWebLead, type WebLeadInput } from '../../core/leads/intake/web-leads.js';
import { bodyRefusals, errorBody, errorResponse, leadCard, leadSubmission, rateLimited, recordId } from './schemas.js';

type ApiKeyActor = Extract<Actor, { kind: 'apiKey' }>;
const actors = new WeakMap<FastifyRequest, Promise<ApiKeyActor | null>>();

/**
 * The API key a request bears (`Authorization: Bearer <key>`, any case and spacing), looked up once
 * per request: the rate limit counts by it and the routes act as it. Null without a valid key.
 */
export function apiKeyActor(services: Services, req: FastifyRequest): Promise<ApiKeyActor | null> {
  let actor = actors.get(req);
  if (!actor) {
    const key = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    actor = key ? authenticateApiKey(services.ctx(), key).then((a) => (a?.kind === 'apiKey' ? a : null)) : Promise.resolve(null);
    actors.set(req, actor);
  }
  return actor;
}

/**
 * The website API (R14): `POST /api/v1/leads` and `GET /api/v1/leads/:id`, with a Bearer API key
 * from `crm apikey:create`. Thin: parse, call the verb, map the answer.
 */
export const leadRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  // after the rate limit (a route's onRequest hook), so calls with a wrong key are counted by address too
  app.addHook('preParsing', async (req, reply, payload) => {
    if (!(await apiKeyActor(services, req))) {
      reply.header('www-authenticate', 'Bearer');
      throw new ServiceError('unauthenticated', req.headers.authorization ? 'Неверный или отозванный API-ключ' : 'Нужен заголовок Authorization: Bearer <API-ключ>');
    }
    return payload;
  });
  const actorOf = async (req: FastifyRequest) => (await apiKeyActor(services, req))!;

  const security = [{ apiKey: [] }];

  app.post<{ Body: WebLeadInput; Headers: { 'idempotency-key'?: string } }>(
    '/api/v1/leads',
    {
      schema: {
        tags: ['Лиды'],
        summary: 'Создать лид из заявки на сайте',
        description:
          'Контакт находится по телефону или e-mail (или создаётся), компания — по названию; ответственный назначается по сегменту или по очереди и получает уведомление в Telegram. Повтор с тем же external_id или Idempotency-Key возвращает первый лид (200); external_id у каждого ключа свои, тот же Idempotency-Key с другими данными отклоняется (422). Если у клиента уже есть открытое обращение, созданное не этим ключом, заявка добавляется к нему, а ответ — 202 без данных лида: ключ сайта читает только свои лиды.',
        security,
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', maxLength: 200, description: 'Повтор запроса с тем же ключом и теми же данными вернёт первый лид' } },
        },
        body: leadSubmission,
        response: {
          201: leadCard,
          200: leadCard,
          202: { type: 'object', properties: { message: { type: 'string' } }, description: 'Заявка добавлена к открытому обращению клиента, которое этот ключ не читает' },
          400: errorBody,
          401: errorBody,
          409: errorResponse('Запрос с этим Idempotency-Key ещё выполняется'),
          422: errorResponse('Этот Idempotency-Key уже использован с другими данными'),
          ...bodyRefusals,
        },
      },
    },
    async (req, reply) => {
      const actor = await actorOf(req);
      const ctx = services.ctx(actor);
      const key = req.headers['idempotency-key']?.trim();
      const { lead, created } = await submitWebLead(ctx, req.body ?? {}, {
        source: 'website',
        sourceLabel: 'Заявка с сайта',
        idempotency: key ? { apiKeyId: actor.apiKeyId, key } : undefined,
      });
      const card = await findLeadCard(ctx, lead.id);
      if (!card) return reply.code(202).send({ message: 'Заявка принята и добавлена к открытому обращению клиента' });
      return reply.code(created ? 201 : 200).send(card);
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
        response: { 200: leadCard, 400: errorResponse('Неверный номер лида'), 401: errorBody, 404: errorResponse('Нет такого лида или этот ключ его не читает'), ...rateLimited },
      },
    },
    async (req) => getLeadCard(services.ctx(await actorOf(req)), req.params.id),
  );
};
