import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { systemActor } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import { mailEnv } from '../../core/mail/env.js';
import { describeUnsubscribe, unsubscribeByToken } from '../../core/mail/unsubscribe.js';

export interface UnsubscribeOptions {
  services: Services;
  /** requests per address per window; default 30 a minute (tokens are unguessable, this only curbs hammering) */
  rateLimit?: { max: number; timeWindowMs: number };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, text: string, form = '') => `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}button{font:inherit;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${form}</body></html>`;

/**
 * The public unsubscribe link of mail-out letters. `GET /unsubscribe/:token` (the link in the
 * text) asks to confirm with one button: mail scanners of corporate mailboxes open every link
 * of a letter, and must not unsubscribe anybody. `POST` unsubscribes: the button, or one-click
 * from the mail client (RFC 8058). Answers a page in Russian.
 */
export const unsubscribeRoutes: FastifyPluginAsync<UnsubscribeOptions> = async (app, opts) => {
  const env = mailEnv(opts.services);
  await app.register(rateLimit, { max: opts.rateLimit?.max ?? 30, timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000 });
  app.setErrorHandler((error, _req, reply) => {
    if ((error as { statusCode?: number }).statusCode === 429) {
      return reply.status(429).type('text/html; charset=utf-8').send(page('Слишком много запросов', 'Попробуйте ещё раз через минуту.'));
    }
    throw error;
  });

  // mail clients' one-click POST carries `List-Unsubscribe=One-Click` as a form; the token says it all
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, _body, done) => done(null, {}));
  }

  const ctx = () => opts.services.ctx(systemActor('отписка'));
  const badLink = (reply: FastifyReply) =>
    reply.status(400).send(page('Ссылка недействительна', 'Ссылка для отписки повреждена или устарела. Скопируйте её из письма целиком.'));
  const schema = { hide: true, params: { type: 'object', properties: { token: { type: 'string', maxLength: 100 } }, required: ['token'] } };

  app.get('/unsubscribe/:token', { schema }, async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    try {
      const r = await describeUnsubscribe(ctx(), env, req.params.token);
      if (r.unsubscribed) return page('Вы уже отписаны', `Адрес ${r.email} не получает рассылку «${r.mailingType}».`);
      return page(
        'Отписаться от рассылки?',
        `Адрес ${r.email} перестанет получать рассылку «${r.mailingType}».`,
        `<form method="post" action="/unsubscribe/${escapeHtml(req.params.token)}"><button type="submit">Отписаться</button></form>`,
      );
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return badLink(reply);
      throw e;
    }
  });

  app.post('/unsubscribe/:token', { schema }, async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    try {
      const r = await unsubscribeByToken(ctx(), env, req.params.token);
      return page('Вы отписались от рассылки', `Адрес ${r.email} больше не будет получать рассылку «${r.mailingType}».`);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return badLink(reply);
      throw e;
    }
  });
};
