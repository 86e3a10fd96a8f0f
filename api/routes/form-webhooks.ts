import formbody from '@fastify/formbody';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { inTransaction, systemActor, type ServiceContext } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import type { WebhookRateLimit } from './public-api.js';
import { isServiceError, ServiceError } from '../../core/errors.js';
import { historyEvents } from '../../core/db/schema/index.js';
import { recordHistory } from '../../core/shared/audit.js';
import { authenticateWebhookSource } from '../../core/leads/intake/webhook-sources.js';
import { submitWebLead, type WebLeadOptions, type WebLeadResult } from '../../core/leads/intake/web-leads.js';
import { bodyRefusals, errorBody, formFields } from './schemas.js';
import { flattenAnswers, formToLead } from './form-fields.js';

const networkLabel: Record<string, string> = {
  vk: 'ВКонтакте',
  ok: 'Одноклассники',
  instagram: 'Instagram',
  facebook: 'Facebook',
  telegram: 'Telegram',
  avito: 'Авито',
};

const asText = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() || undefined : undefined);

const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 200 } } } as const;
const consumes = ['application/x-www-form-urlencoded', 'application/json'];

const FULL_TEXT = 'full_request_text';

/**
 * A form whose comment had to be cut: the lead (or the repeat request on an open one) and the
 * whole text in the lead's history are written in one transaction, so the text is never lost
 * and never half-kept. A delivery already taken (same external id) adds nothing.
 */
async function submitForm(ctx: ServiceContext, form: ReturnType<typeof formToLead>, opts: WebLeadOptions): Promise<WebLeadResult> {
  const { fullText } = form;
  if (!fullText) return submitWebLead(ctx, form, opts);
  const attempt = () =>
    inTransaction(ctx, async (tx) => {
      const result = await submitWebLead(tx, form, opts);
      if (!result.created && !result.repeat) return result;
      if (opts.externalId) {
        const [kept] = await tx.db
          .select({ id: historyEvents.id })
          .from(historyEvents)
          .where(and(eq(historyEvents.entityType, 'lead'), eq(historyEvents.entityId, result.lead.id), eq(historyEvents.kind, FULL_TEXT), sql`${historyEvents.data}->>'externalId' = ${opts.externalId}`))
          .limit(1);
        if (kept) return result;
      }
      const summary = `Полный текст заявки (${opts.sourceLabel}, ${fullText.length} символов):\n${fullText}`;
      await recordHistory(tx, 'lead', result.lead.id, FULL_TEXT, summary, { externalId: opts.externalId ?? null });
      return result;
    });
  try {
    return await attempt();
  } catch (err) {
    // two deliveries of one submission at once: the loser's transaction is gone, the winner's lead is there now
    if (!opts.externalId || isServiceError(err)) throw err;
    return attempt();
  }
}

/**
 * Leads from form builders and social networks (R14–R16). Each source has its own URL token,
 * made by `crm webhook:create`; the same submission delivered twice (same `tranid` or id) makes one lead.
 */
export const formWebhookRoutes: FastifyPluginAsync<{ services: Services; rateLimit?: WebhookRateLimit }> = async (app, { services, rateLimit }) => {
  await app.register(formbody);

  const sourceOf = async (kind: 'tilda' | 'form', token: string) => {
    const source = await authenticateWebhookSource(services.ctx(), kind, token);
    if (!source) throw new ServiceError('unauthenticated', 'Неизвестный или отозванный адрес вебхука');
    return source;
  };

  app.post<{ Params: { token: string }; Body: Record<string, unknown> | undefined }>(
    '/webhooks/tilda/:token',
    {
      // per source, not per sender address: see webhookLimits in public-api.ts
      config: rateLimit ? { rateLimit: rateLimit('tilda') } : {},
      schema: {
        tags: ['Вебхуки'],
        summary: 'Заявка из формы Tilda',
        description:
          'Адрес вида /webhooks/tilda/<токен> из `crm webhook:create --kind tilda`. Поля берутся по именам переменных формы (Name, Phone, Email, Comments…), UTM-метки — из полей utm_* или из COOKIES. Проверочный запрос test=test получает 200. Повтор с тем же tranid не создаёт второй лид. Остальные поля формы попадают в комментарий лида строками «Поле: значение»; комментарий длиннее 10 000 символов обрезается с пометкой, а полный текст заявки сохраняется в истории лида. Пустые значения (null) считаются отсутствующими.',
        consumes,
        params: tokenParams,
        body: formFields,
        response: { 200: { type: 'string' }, 400: errorBody, 401: errorBody, ...bodyRefusals },
      },
    },
    async (req, reply) => {
      const source = await sourceOf('tilda', req.params.token);
      const body = req.body ?? {};
      if (asText(body.test) === 'test') return reply.type('text/plain').send('ok');
      const tranid = asText(body.tranid);
      await submitForm(services.ctx(systemActor(`Tilda: ${source.name}`)), formToLead(body), {
        source: source.network ? 'social' : 'website',
        sourceLabel: `Tilda: ${source.name}`,
        externalId: tranid ? `tilda:${source.id}:${tranid}` : undefined,
      });
      return reply.type('text/plain').send('ok');
    },
  );

  app.post<{ Params: { token: string }; Body: Record<string, unknown> | undefined }>(
    '/webhooks/forms/:token',
    {
      // per source, not per sender address: see webhookLimits in public-api.ts
      config: rateLimit ? { rateLimit: rateLimit('form') } : {},
      schema: {
        tags: ['Вебхуки'],
        summary: 'Заявка из соцсети или конструктора форм',
        description:
          'Адрес вида /webhooks/forms/<токен> из `crm webhook:create --kind form [--network vk]`. JSON или форма; поля как у Tilda, плюс network (имя соцсети) и external_id (или id, lead_id) для защиты от повторов. Ответы лид-форм вида { object: { answers: [{ key, answer }] } } тоже понимаются; пустой ответ (null) считается отсутствующим. Остальные поля попадают в комментарий лида; комментарий длиннее 10 000 символов обрезается с пометкой, а полный текст заявки сохраняется в истории лида. Лиды из соцсетей получают источник social.',
        consumes,
        params: tokenParams,
        body: formFields,
        response: {
          201: { type: 'object', properties: { lead_id: { type: 'integer' }, created: { type: 'boolean' }, repeat: { type: 'boolean' } } },
          200: { type: 'object', properties: { lead_id: { type: 'integer' }, created: { type: 'boolean' }, repeat: { type: 'boolean', description: 'у клиента уже был открытый лид или сделка: заявка добавлена к нему как «Повторное обращение»' } } },
          400: errorBody,
          401: errorBody,
          ...bodyRefusals,
        },
      },
    },
    async (req, reply) => {
      const source = await sourceOf('form', req.params.token);
      const flat = flattenAnswers(req.body ?? {});
      const network = source.network ?? asText(flat.network)?.toLowerCase();
      const id = asText(flat.external_id) ?? asText(flat.lead_id) ?? asText(flat.id);
      const label = network ? (networkLabel[network] ?? network) : `Форма: ${source.name}`;
      const { lead, created, repeat } = await submitForm(
        services.ctx(systemActor(label)),
        { ...formToLead(flat), network },
        { source: network ? 'social' : 'website', sourceLabel: label, externalId: id ? `form:${source.id}:${id}` : undefined },
      );
      return reply.code(created ? 201 : 200).send({ lead_id: lead.id, created, repeat });
    },
  );
};
