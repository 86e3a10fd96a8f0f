import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { systemActor } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import { escapeHtml, publicPage, setUpPublicPages, type PublicPageOptions } from './public-page.js';
import { describeRatingToken, rateByToken } from '../../core/helpdesk/ratings.js';
import { ticketTitle } from '../../core/helpdesk/labels.js';

export interface RatingOptions extends PublicPageOptions {
  services: Services;
}

/** the form's field: `rating=1`…`rating=5`; anything else is not a rating */
function ratingOf(body: unknown): number | null {
  const v = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).rating : undefined;
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && /^[1-5]$/.test(s.trim()) ? Number(s.trim()) : null;
}

/**
 * The public rating link of e-mail tickets. `GET /rate/:token` (the link in the letter) shows the
 * 1–5 buttons and changes nothing: mail scanners of corporate mailboxes open every link of a
 * letter and must not rate for the client. `POST` (a button) stores the rating, once. The token
 * is signed with SECRET_KEY and names the ticket, so the form needs no CSRF token: a forged or
 * damaged one changes nothing. Answers a page in Russian.
 */
export const ratingRoutes: FastifyPluginAsync<RatingOptions> = async (app, opts) => {
  const secretKey = opts.services.secretKey;
  await setUpPublicPages(app, opts);

  const ctx = () => opts.services.ctx(systemActor('оценка обращения'));
  const badLink = (reply: FastifyReply) =>
    reply.status(400).send(publicPage('Ссылка недействительна', 'Ссылка для оценки повреждена или устарела. Скопируйте её из письма целиком.'));
  const schema = { hide: true, params: { type: 'object', properties: { token: { type: 'string', maxLength: 200 } }, required: ['token'] } };
  const rated = (n: number, rating: number) => publicPage('Спасибо за оценку!', `Ваша оценка ответа по обращению №${n}: ${rating} из 5.`);

  app.get('/rate/:token', { schema }, async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    try {
      const t = await describeRatingToken(ctx(), secretKey, req.params.token);
      if (t.rating !== null) return rated(t.id, t.rating);
      const buttons = [1, 2, 3, 4, 5].map((n) => `<button type="submit" name="rating" value="${n}">${n}</button>`).join('');
      return publicPage(
        `Оцените ответ — ${ticketTitle(t.id)}`,
        'Насколько вы довольны ответом: от 1 (плохо) до 5 (отлично)?',
        `<form method="post" action="/rate/${escapeHtml(req.params.token)}">${buttons}</form><p class="hint">Оценка сохранится, когда вы нажмёте цифру.</p>`,
      );
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return badLink(reply);
      throw e;
    }
  });

  app.post('/rate/:token', { schema }, async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    try {
      // the token first: a forged link is told so whatever it posts
      await describeRatingToken(ctx(), secretKey, req.params.token);
      const rating = ratingOf(req.body);
      if (rating === null) return reply.status(400).send(publicPage('Выберите оценку', 'Нажмите цифру от 1 до 5 на странице оценки.'));
      const t = await rateByToken(ctx(), secretKey, req.params.token, rating);
      return rated(t.id, t.rating ?? rating);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return badLink(reply);
      throw e;
    }
  });
};
