import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { invalid, isServiceError, type FixTarget } from '../core/errors.js';
import { cardPath } from './lists.js';
import { redirectWith } from './render.js';
import type { FormBody } from './forms.js';
import type { AdminDeps } from './types.js';

/**
 * Failures the user can act on: shown as a flash on the page the form came from (`unavailable`: a
 * service the verb needs, such as the telephony provider, is away: try again later). The rest go to
 * the error page.
 */
const flashable = new Set(['invalid', 'conflict', 'forbidden', 'not_found', 'unavailable']);

/** The Russian text of a ServiceError the user can act on, or null. */
export function userErrorText(e: unknown): string | null {
  if (!isServiceError(e) || !flashable.has(e.code)) return null;
  return Object.values(e.fields).join('; ') || e.message;
}

/** The panel's page where the user fills in what an error names. */
export function fixLink(fix: FixTarget): { href: string; label: string } {
  if (fix.entity === 'organizations') return { href: '/admin/books/organizations', label: 'Открыть «Наши организации»' };
  const label = { deal: 'Открыть сделку', counterparty: 'Открыть карточку контрагента', contact: 'Открыть карточку контакта' }[fix.entity];
  return { href: `/admin/${cardPath[fix.entity]}/${fix.id}`, label };
}

/**
 * Post/redirect/get for a form that runs one verb: on success a redirect with `done`'s message (to
 * `done.to`, or back); a ServiceError the user can act on becomes an error flash and a redirect back,
 * so no route writes its own try/catch. Anything else is a real failure for the error handler.
 */
export async function formAction<T>(
  deps: AdminDeps,
  reply: FastifyReply,
  back: string,
  run: () => Promise<T>,
  done: (result: T) => { text: string; to?: string },
  failPrefix = '',
): Promise<FastifyReply> {
  let result: T;
  try {
    result = await run();
  } catch (e) {
    const text = userErrorText(e);
    if (text === null) throw e;
    const fix = isServiceError(e) && e.fix ? fixLink(e.fix) : undefined;
    return redirectWith(deps, reply, back, { type: 'error', text: failPrefix + text, ...(fix ? { link: fix } : {}) });
  }
  const { text, to } = done(result);
  return redirectWith(deps, reply, to ?? back, { type: 'ok', text });
}

/**
 * Parses a form with the zod schema kept next to its route. Field names in the error are the form's,
 * with the schema's Russian messages; the verb behind validates again.
 */
export function parseForm<S extends z.ZodType>(schema: S, form: FormBody): z.output<S> {
  const r = schema.safeParse(form);
  if (r.success) return r.data;
  const fields: Record<string, string> = {};
  for (const issue of r.error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message;
  throw invalid(fields);
}
