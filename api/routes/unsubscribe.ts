import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { systemActor } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import { escapeHtml, publicPage, setUpPublicPages, type PublicPageOptions } from './public-page.js';
import { mailEnv } from '../../core/mail/env.js';
import { describeUnsubscribe, unsubscribeByToken } from '../../core/mail/unsubscribe.js';

export interface UnsubscribeOptions extends PublicPageOptions {
  services: Services;
}

/**
 * The public unsubscribe link of mail-out letters. `GET /unsubscribe/:token` (the link in the
 * text) asks to confirm with one button: mail scanners of corporate mailboxes open every link
 * of a letter, and must not unsubscribe anybody. `POST` unsubscribes: the button, or one-click
 * from the mail client (RFC 8058). Answers a page in Russian.
 */
export const unsubscribeRoutes: FastifyPluginAsync<UnsubscribeOptions> = async (app, opts) => {
  const env = mailEnv(opts.services);
  // mail clients' one-click POST carries `List-Unsubscribe=One-Click` as a form; it is parsed and unused: the token says it all
  await setUpPublicPages(app, opts);

  const ctx = () => opts.services.ctx(systemActor('отписка'));
  const badLink = (reply: FastifyReply) =>
    reply.status(400).send(publicPage('Ссылка недействительна', 'Ссылка для отписки повреждена или устарела. Скопируйте её из письма целиком.'));
  const schema = { hide: true, params: { type: 'object', properties: { token: { type: 'string', maxLength: 100 } }, required: ['token'] } };

  app.get('/unsubscribe/:token', { schema }, async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    try {
      const r = await describeUnsubscribe(ctx(), env, req.params.token);
      if (r.unsubscribed) return publicPage('Вы уже отписаны', `Адрес ${r.email} не получает рассылку «${r.mailingType}».`);
      return publicPage(
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
      return publicPage('Вы отписались от рассылки', `Адрес ${r.email} больше не будет получать рассылку «${r.mailingType}».`);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return badLink(reply);
      throw e;
    }
  });
};
