import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import type { InboundSink } from '../../core/channels/sink.js';
import { recordDeliveryStatus } from '../../core/channels/delivery.js';
import type { ViberAdapter } from './adapter.js';
import { viberJson } from './client.js';
import { handledEvents, httpMediaFetcher, toInbound, viberEvent, type MediaFetcher } from './inbound.js';

export interface ViberWebhookOptions {
  adapter: Pick<ViberAdapter, 'authToken'>;
  services: Pick<Services, 'ctx' | 'config'>;
  sink: InboundSink;
  fetchMedia?: MediaFetcher;
}

/** HMAC-SHA256 of the raw body with the auth token, hex, compared in constant time. */
export function validViberSignature(raw: Buffer, signature: string, authToken: string): boolean {
  const expected = createHmac('sha256', authToken).update(raw).digest();
  const given = /^[0-9a-f]{64}$/i.test(signature) ? Buffer.from(signature, 'hex') : null;
  return given !== null && timingSafeEqual(expected, given);
}

/**
 * POST /webhooks/viber. viber-bot's own signature check is broken (it reads a header Node never
 * produces), so the check is done here on the raw body, before anything is parsed or stored.
 * A message is stored before the 200, so Viber's retry of an unanswered call finds it stored.
 */
export const viberWebhook: FastifyPluginAsync<ViberWebhookOptions> = async (app, opts) => {
  const fetchMedia = opts.fetchMedia ?? httpMediaFetcher();
  // this plugin's own scope: the signature needs the bytes exactly as sent
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post(
    '/webhooks/viber',
    {
      schema: {
        hide: true,
        headers: { type: 'object', properties: { 'x-viber-content-signature': { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const signature = req.headers['x-viber-content-signature'];
      if (typeof signature !== 'string' || !signature) {
        return reply.code(401).send({ error: 'unauthenticated', message: 'Нет подписи X-Viber-Content-Signature' });
      }
      if (!validViberSignature(raw, signature, opts.adapter.authToken)) {
        req.log.warn('viber webhook: wrong signature');
        return reply.code(403).send({ error: 'forbidden', message: 'Неверная подпись' });
      }
      let payload: unknown;
      try {
        payload = viberJson.parse(raw.toString('utf8'));
      } catch {
        return reply.code(400).send({ error: 'invalid', message: 'Тело запроса не JSON' });
      }
      const kind = (payload as { event?: unknown } | null)?.event;
      if (typeof kind !== 'string') return reply.code(400).send({ error: 'invalid', message: 'Нет поля event', fields: { event: 'обязательное поле' } });
      // webhook (set_webhook's check), subscribed, conversation_started…: acknowledged, nothing to store
      if (!handledEvents.has(kind)) return { status: 0 };
      const parsed = viberEvent.safeParse(payload);
      if (!parsed.success) {
        const fields = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || '_', i.message]));
        return reply.code(400).send({ error: 'invalid', message: 'Неверный формат события Viber', fields });
      }
      const e = parsed.data;
      const ctx = opts.services.ctx(systemActor('Viber'));
      if (e.event === 'message') {
        const result = await opts.sink(await toInbound(e, fetchMedia));
        req.log.info({ messageId: result.messageId, duplicate: result.duplicate }, 'viber: message received');
      } else if (e.event === 'failed') {
        await recordDeliveryStatus(ctx, 'viber', e.message_token, 'failed', e.desc ? `Viber: ${e.desc}` : undefined);
      } else {
        await recordDeliveryStatus(ctx, 'viber', e.message_token, e.event);
      }
      return { status: 0 };
    },
  );
};
