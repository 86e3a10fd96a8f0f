import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

/** The public pages a client opens from a letter (unsubscribe, rating): no sign-in, a token in the link. */
export interface PublicPageOptions {
  /** requests per address per window; default 30 a minute (tokens are unguessable, this only curbs hammering) */
  rateLimit?: { max: number; timeWindowMs: number };
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page in Russian: a heading, a sentence and an optional form (title and text are escaped here, the form is not). */
export const publicPage = (title: string, text: string, form = '') => `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}form{display:flex;gap:.5rem;flex-wrap:wrap}button{font:inherit;font-size:1.1rem;min-width:3rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}.hint{color:#666;font-size:.9rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${form}</body></html>`;

/**
 * What every public page plugin sets up in its own scope: the rate limit with a Russian page for
 * 429, and the parser of a plain HTML form's urlencoded body (small: a button or two).
 */
export async function setUpPublicPages(app: FastifyInstance, opts: PublicPageOptions): Promise<void> {
  await app.register(rateLimit, { max: opts.rateLimit?.max ?? 30, timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000 });
  app.setErrorHandler((error, _req, reply) => {
    if ((error as { statusCode?: number }).statusCode === 429) {
      return reply.status(429).type('text/html; charset=utf-8').send(publicPage('Слишком много запросов', 'Попробуйте ещё раз через минуту.'));
    }
    throw error;
  });
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
  }
}
