import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import { systemActor } from '../../core/context.js';
import { ServiceError } from '../../core/errors.js';
import { parseInput } from '../../core/shared/input.js';
import type { Services } from '../../core/services.js';
import { recordCallEvent } from '../../core/telephony/calls.js';
import { pbxEvent, toCallEvent } from './inbound.js';
import { checkPbxSignature } from './signature.js';

export interface PbxRoutesOptions {
  services: Pick<Services, 'ctx' | 'clock' | 'config'>;
  /** PBX_WEBHOOK_SECRET */
  secret: string;
  perMinute?: number;
}

const refusals = {
  missing: 'Нет подписи: нужны заголовки X-CRM-Timestamp и X-CRM-Signature',
  wrong: 'Неверная подпись X-CRM-Signature',
  stale: 'X-CRM-Timestamp расходится с часами CRM больше чем на 5 минут: проверьте часы АТС',
} as const;

/**
 * POST /webhooks/pbx/calls: call events from any PBX, signed with HMAC-SHA256 over the timestamp
 * and the raw body (bots/pbx/signature.ts). The signature is checked on the bytes as sent, before
 * anything is parsed or stored; then the body is validated and the event recorded before the 200.
 */
export const pbxRoutes: FastifyPluginAsync<PbxRoutesOptions> = async (app, opts) => {
  // this plugin's own scope: the signature needs the body exactly as sent
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
  await app.register(rateLimit, { global: false });

  app.post(
    '/webhooks/pbx/calls',
    {
      config: { rateLimit: { max: opts.perMinute ?? 6000, timeWindow: 60_000, keyGenerator: (req) => `webhook:pbx:${req.ip}` } },
      schema: {
        hide: true,
        headers: { type: 'object', properties: { 'x-crm-timestamp': { type: 'string' }, 'x-crm-signature': { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const now = opts.services.clock.now();
      const check = checkPbxSignature(opts.secret, raw, { timestamp: req.headers['x-crm-timestamp'], signature: req.headers['x-crm-signature'] }, now);
      if (check !== 'ok') {
        req.log.warn({ check }, 'pbx webhook: refused signature');
        return reply.code(401).send({ error: 'unauthenticated', message: refusals[check] });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ServiceError('invalid', 'Тело запроса не JSON');
      }
      const event = toCallEvent(parseInput(pbxEvent, body), now);
      if (event === 'ignore') return { status: 'ignored' };
      // the team's zone: «Прием звонков IP» hours and the missed-call work read it
      const { callId } = await recordCallEvent(opts.services.ctx(systemActor('АТС')), event, { timeZone: opts.services.config.TIME_ZONE });
      return { status: 'ok', call_id: callId };
    },
  );
};
