import type { FastifyPluginAsync } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import type { WebhookRateLimit } from './public-api.js';
import { authenticateVkSource } from '../../core/leads/intake/webhook-sources.js';
import { handleVkEvent } from '../../core/leads/intake/vk.js';
import { bodyRefusals, errorBody } from './schemas.js';

interface VkCallbackBody {
  type: string;
  group_id: number;
  secret?: string;
  object?: unknown;
}

const vkEvent = {
  type: 'object',
  description: 'Событие Callback API ВКонтакте: type, group_id, secret, object.',
  required: ['type', 'group_id'],
  properties: {
    type: { type: 'string', maxLength: 100, description: 'confirmation, message_new, lead_forms_new…' },
    group_id: { type: 'integer', minimum: 1, description: 'номер сообщества' },
    secret: { type: 'string', maxLength: 200, description: 'секретный ключ из настроек Callback API' },
    object: { description: 'данные события' },
  },
  additionalProperties: true,
} as const;

/**
 * VK's Callback API (one URL per community, made by `crm webhook:create --kind vk`). VK wants the
 * confirmation string as plain text for `confirmation` and the plain text `ok` for every other event,
 * or it repeats the event.
 */
export const vkCallbackRoutes: FastifyPluginAsync<{ services: Services; rateLimit?: WebhookRateLimit }> = async (app, { services, rateLimit }) => {
  app.post<{ Params: { token: string }; Body: VkCallbackBody }>(
    '/webhooks/vk/:token',
    {
      // per source, not per sender address: see webhookLimits in public-api.ts
      config: rateLimit ? { rateLimit: rateLimit('vk') } : {},
      schema: {
        tags: ['Вебхуки'],
        summary: 'Callback API сообщества ВКонтакте',
        description:
          'Адрес вида /webhooks/vk/<токен> из `crm webhook:create --kind vk`. На confirmation отвечает строкой подтверждения, на остальные события — текстом ok. Сообщение сообществу (message_new) открывает лид или продолжает открытый лид того же пользователя; заявка из лид-формы (lead_forms_new) становится лидом с источником social. Запрос с чужим секретным ключом или другого сообщества отклоняется (403), повтор события не создаёт второй лид.',
        consumes: ['application/json'],
        params: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 200 } } },
        body: vkEvent,
        response: { 200: { type: 'string' }, 400: errorBody, 401: errorBody, 403: errorBody, ...bodyRefusals },
      },
    },
    async (req, reply) => {
      const source = await authenticateVkSource(services.ctx(), req.params.token, { groupId: req.body.group_id, secret: req.body.secret });
      const result = await handleVkEvent(services.ctx(systemActor(`ВКонтакте: ${source.name}`)), source, req.body);
      return reply.type('text/plain; charset=utf-8').send(result.reply);
    },
  );
};
