import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { recordCallEvent } from '../../core/telephony/calls.js';
import { MangoEventInvalid, parseMangoEvent, verifiedJson } from './inbound.js';

export interface MangoRoutesOptions {
  services: Pick<Services, 'ctx' | 'clock' | 'config'>;
  apiKey: string;
  apiSalt: string;
  /**
   * posts per sender address per window. Mango posts from five addresses of its own, every leg's
   * every state is an event, so the default is far above a busy office's traffic: it only stops a
   * flood of forged posts from one address.
   */
  rateLimit?: { max: number; timeWindowMs: number };
}

const forbidden = { error: 'forbidden', message: 'Неверный ключ АТС или подпись запроса' };

/**
 * Mango Office posts its events here (ЛК → Интеграции → API коннектор, «Адрес внешней системы»:
 * <PUBLIC_URL>/webhooks/mango): events/call, events/summary, events/recording, events/record/added,
 * result/* and ping, each a form of vpbx_api_key, sign and json. The key and the sign are checked
 * before anything is read; a forged or foreign post gets 401 and nothing is stored. A verified
 * event is stored in one transaction before the 200, so a repeat finds it stored.
 */
export const mangoRoutes: FastifyPluginAsync<MangoRoutesOptions> = async (app, opts) => {
  await app.register(rateLimit, {
    max: opts.rateLimit?.max ?? 6000,
    timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000,
    keyGenerator: (req) => `mango:${req.ip}`,
  });

  // this plugin's own scope: the sign covers the json field exactly as sent, so the form is read
  // here, as text, rather than by a parser that could re-encode it
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => {
    const form = new URLSearchParams(String(body));
    done(null, { vpbx_api_key: form.get('vpbx_api_key') ?? undefined, sign: form.get('sign') ?? undefined, json: form.get('json') ?? undefined });
  });

  app.post<{ Params: { '*': string } }>('/webhooks/mango/*', { schema: { hide: true } }, async (req, reply) => {
    const json = verifiedJson(req.body as Record<string, unknown> | undefined, opts.apiKey, opts.apiSalt);
    if (json === null) {
      req.log.warn({ path: req.params['*'] }, 'mango webhook: wrong key or sign');
      return reply.code(401).send(forbidden);
    }
    const path = req.params['*'].replace(/\/+$/, '');
    let event;
    try {
      event = parseMangoEvent(path, json, opts.services.clock.now());
    } catch (err) {
      if (!(err instanceof MangoEventInvalid)) throw err;
      req.log.warn({ path, fields: err.fields }, 'mango webhook: unreadable event');
      return reply.code(400).send({ error: 'invalid', message: err.message, fields: err.fields });
    }
    if (event === 'ignore') return {};
    const { callId, created } = await recordCallEvent(opts.services.ctx(systemActor('Mango Office')), event, { timeZone: opts.services.config.TIME_ZONE });
    req.log.info({ path, kind: event.kind, callId, created }, 'mango: call event');
    return {};
  });
};
