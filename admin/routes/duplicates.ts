import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  duplicateReasonText,
  findDuplicateContacts,
  findDuplicateCounterparties,
  mergeContactsInto,
  mergeCounterpartiesInto,
} from '../../core/merge/duplicates.js';
import { isServiceError } from '../../core/errors.js';
import { parseInput } from '../../core/shared/input.js';
import { body, type FormBody, idParam, int, query } from '../forms.js';
import { ctxOf, redirectWith, render, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';

const PAGE_SIZE = 20;
/** Deeper than this the same groups are better reached by merging the first pages. */
const MAX_PAGE = 50;

const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
const idText = (message: string) => z.preprocess(first, z.string(message).trim().regex(/^\d{1,9}$/, message).transform(Number));

/** «Объединить» on a group: the record to keep (radio) and the ones ticked to merge into it (checkboxes). */
const groupMergeForm = z.object({
  keep: idText('выберите, какую запись оставить'),
  ids: z.preprocess((v) => (v === undefined ? [] : [v].flat()), z.array(z.string().regex(/^\d{1,9}$/, 'неверный номер записи').transform(Number))),
});

/** «Объединить с…» on a card: the number of the other record, which merges into this one. */
const cardMergeForm = z.object({
  other: idText('укажите номер другой записи: число из адреса её карточки'),
});

type Merged = { survivor: { id: number; name: string }; merged: { id: number; name: string }[] };
const mergedText = (r: Merged) => `Объединено: ${r.merged.map((m) => `«${m.name}» (№${m.id})`).join(', ')} → «${r.survivor.name}» (№${r.survivor.id})`;

/**
 * «Возможные дубликаты» (contacts and counterparties that look like one) and every merge the panel
 * offers, including «Объединить с…» on the cards: the form is read by its schema, one core verb
 * merges (checking the user's access to each record), and the result or the refusal comes back to
 * the page the form was on as a flash message.
 */
export default async function duplicateRoutes(app: FastifyInstance, deps: AdminDeps) {
  const merge = async (reply: FastifyReply, back: string, run: () => Promise<Merged>) => {
    try {
      return redirectWith(deps, reply, back, { type: 'ok', text: mergedText(await run()) });
    } catch (e) {
      if (isServiceError(e) && ['invalid', 'forbidden', 'not_found', 'conflict'].includes(e.code)) {
        return redirectWith(deps, reply, back, { type: 'error', text: `Не объединено: ${Object.values(e.fields).join('; ') || e.message}` });
      }
      throw e;
    }
  };

  const pageOf = (q: FormBody) => Math.min(int(q, 'page') ?? 1, MAX_PAGE);

  app.get('/duplicates', async (_req, reply) => reply.redirect('/admin/duplicates/contacts', 303));

  app.get('/duplicates/contacts', async (req, reply) => {
    const page = pageOf(query(req));
    const found = await findDuplicateContacts(ctxOf(deps, req), { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    return render(deps, req, reply, 'duplicates/contacts', {
      title: 'Возможные дубликаты: контакты',
      tab: 'contacts',
      groups: found.groups,
      reasonText: (r: Parameters<typeof duplicateReasonText>[0]) => duplicateReasonText(r, 'contact'),
      pager: { base: '/admin/duplicates/contacts', fq: {}, page, hasMore: found.hasMore && page < MAX_PAGE, withQuery },
    });
  });

  app.get('/duplicates/counterparties', async (req, reply) => {
    const page = pageOf(query(req));
    const found = await findDuplicateCounterparties(ctxOf(deps, req), { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    return render(deps, req, reply, 'duplicates/counterparties', {
      title: 'Возможные дубликаты: контрагенты',
      tab: 'counterparties',
      groups: found.groups,
      reasonText: (r: Parameters<typeof duplicateReasonText>[0]) => duplicateReasonText(r, 'counterparty'),
      pager: { base: '/admin/duplicates/counterparties', fq: {}, page, hasMore: found.hasMore && page < MAX_PAGE, withQuery },
    });
  });

  app.post('/duplicates/contacts/merge', async (req, reply) => {
    const form = body(req);
    const back = withQuery('/admin/duplicates/contacts', { page: pageOf(form) > 1 ? pageOf(form) : undefined });
    return merge(reply, back, async () => {
      const f = parseInput(groupMergeForm, form);
      return mergeContactsInto(ctxOf(deps, req), f.keep, f.ids);
    });
  });

  app.post('/duplicates/counterparties/merge', async (req, reply) => {
    const form = body(req);
    const back = withQuery('/admin/duplicates/counterparties', { page: pageOf(form) > 1 ? pageOf(form) : undefined });
    return merge(reply, back, async () => {
      const f = parseInput(groupMergeForm, form);
      return mergeCounterpartiesInto(ctxOf(deps, req), f.keep, f.ids);
    });
  });

  // «Объединить с…» on a card: the other record merges into the one whose card this is
  app.post('/contacts/:id/merge', async (req, reply) => {
    const id = idParam(req.params);
    return merge(reply, `/admin/contacts/${id}`, async () => {
      const f = parseInput(cardMergeForm, body(req));
      return mergeContactsInto(ctxOf(deps, req), id, [f.other]);
    });
  });

  app.post('/counterparties/:id/merge', async (req, reply) => {
    const id = idParam(req.params);
    return merge(reply, `/admin/counterparties/${id}`, async () => {
      const f = parseInput(cardMergeForm, body(req));
      return mergeCounterpartiesInto(ctxOf(deps, req), id, [f.other]);
    });
  });
}
