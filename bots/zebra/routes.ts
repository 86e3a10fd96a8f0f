import { sameText } from '../../core/crypto/same-text.js';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { recordCallEvent } from '../../core/telephony/calls.js';
import { kazooHooks, parseKazooForm, parseKazooHook, recordingAfter } from './inbound.js';

export interface ZebraRoutesOptions {
  services: Pick<Services, 'ctx' | 'clock' | 'config'>;
  /** ZEBRA_WEBHOOK_SECRET: the part of our hook URLs only Zebra knows */
  secret: string;
  /** hooks a minute per address; a call is about six (three events, two legs) */
  perMinute?: number;
}



/**
 * POST /webhooks/zebra/<secret>/<hook>: Kazoo's channel hooks (form-urlencoded, its default, or JSON).
 * Kazoo signs nothing, so the URL's secret is the check, made before the body is read; a wrong one is
 * 403 and nothing is stored. The event is recorded before the 200 (one short transaction): Kazoo
 * does not repeat a hook that got an answer, and gives up after 10 s.
 */
export const zebraRoutes: FastifyPluginAsync<ZebraRoutesOptions> = async (app, opts) => {
  // this plugin's own parsers: Kazoo's nested form fields, and JSON for hooks set to format json
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) =>
    done(null, parseKazooForm(String(body))),
  );
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)) as unknown);
    } catch {
      done(Object.assign(new Error('Тело запроса не JSON'), { statusCode: 400 }), undefined);
    }
  });
  await app.register(rateLimit, { global: false });

  app.post<{ Params: { secret: string; hook: string } }>(
    '/webhooks/zebra/:secret/:hook',
    {
      config: {
        rateLimit: {
          max: opts.perMinute ?? 6000,
          timeWindow: 60_000,
          // per address, like the other webhooks: guessing at secrets from one address is slowed too
          keyGenerator: (req) => `webhook:zebra:${req.ip}`,
        },
      },
      schema: {
        hide: true,
        params: {
          type: 'object',
          required: ['secret', 'hook'],
          properties: { secret: { type: 'string', maxLength: 200 }, hook: { type: 'string', enum: [...kazooHooks] } },
        },
      },
      // before the body is read: a request without the secret costs nothing and stores nothing
      onRequest: async (req, reply) => {
        const { secret } = req.params as { secret?: string };
        if (!secret || !sameText(secret, opts.secret)) {
          req.log.warn('zebra webhook: wrong secret');
          return reply.code(403).send({ error: 'forbidden', message: 'Неверный секрет в адресе вебхука' });
        }
      },
    },
    async (req) => {
      const payload = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
      // the payload names its event; the URL's is the fallback (one URL per hook in Zebra's cabinet)
      const hook = typeof payload.hook_event === 'string' ? payload.hook_event.toLowerCase() : req.params.hook;
      const event = parseKazooHook(hook, payload, opts.services.clock.now());
      if (event === 'ignore') return { status: 'ignored' };
      const ctx = opts.services.ctx(systemActor('Zebra Telecom'));
      // the team's zone: «Прием звонков IP» hours and the missed-call work read it
      const options = { timeZone: opts.services.config.TIME_ZONE };
      const { callId } = await recordCallEvent(ctx, event, options);
      const recording = recordingAfter(event, payload);
      if (recording) await recordCallEvent(ctx, recording, options);
      req.log.info({ callId, kind: event.kind, leg: event.legId }, 'zebra: call event');
      return { status: 'ok' };
    },
  );
};
