import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ContactFilter } from '../../core/contacts/contacts.js';
import { listContactsForMailing } from '../../core/mailing/contact-list.js';
import {
  assignMailingType,
  countContacts,
  createMailingType,
  deleteMailingType,
  getMailingType,
  listMailingTypeContacts,
  listMailingTypes,
  removeFromMailingType,
  updateMailingType,
} from '../../core/mailing/mailing-types.js';
import { countMailingTypeWithoutEmail, exportMailingTypeXlsx } from '../../core/mailing/export.js';
import { listSegments } from '../../core/segments/segments.js';
import { isServiceError } from '../../core/errors.js';
import { body, bool, type FormBody, idParam, int, ints, query, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';
import { MAX_PAGE, PAGE_SIZE } from '../lists.js';

const kinds = ['legal_entity', 'individual', 'sole_proprietor'] as const;

function readContactFilter(q: FormBody): ContactFilter {
  const f: ContactFilter = {};
  if (str(q, 'text')) f.text = str(q, 'text');
  const kind = str(q, 'counterpartyKind');
  if ((kinds as readonly string[]).includes(kind)) f.counterpartyKind = kind as (typeof kinds)[number];
  if (int(q, 'segmentId')) f.segmentId = int(q, 'segmentId');
  if (str(q, 'region')) f.region = str(q, 'region');
  return f;
}

const filterQuery = (f: ContactFilter): Record<string, string> =>
  Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)]));

export default async function mailingRoutes(app: FastifyInstance, deps: AdminDeps) {
  // R19: the contacts list, filtered, with «Назначить тип рассылки»
  app.get('/contacts', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter = readContactFilter(q);
    const page = Math.max(1, int(q, 'page') ?? 1);
    const tooDeep = page > MAX_PAGE;
    const [list, segments, types, total] = await Promise.all([
      tooDeep ? { items: [], hasMore: false } : listContactsForMailing(ctx, filter, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
      listSegments(ctx),
      listMailingTypes(ctx),
      str(q, 'count') === '1' ? countContacts(ctx, filter) : Promise.resolve(undefined),
    ]);
    return render(deps, req, reply, 'mailing/contacts', {
      title: 'Контакты и рассылки',
      items: list.items,
      hasMore: list.hasMore,
      filter,
      fq: filterQuery(filter),
      page,
      tooDeep,
      total,
      segments,
      types,
      withQuery,
    });
  });

  app.get('/contacts/assign-mailing', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter = readContactFilter(q);
    const target = str(q, 'target') === 'selected' ? 'selected' : 'filter';
    const ids = ints(q, 'ids');
    const typeId = int(q, 'mailingTypeId');
    const back = withQuery('/admin/contacts', filterQuery(filter));
    if (!typeId) return redirectWith(deps, reply, back, { type: 'error', text: 'Выберите тип рассылки' });
    if (target === 'selected' && !ids.length) return redirectWith(deps, reply, back, { type: 'error', text: 'Отметьте контакты в списке' });
    const type = await getMailingType(ctx, typeId);
    const count = target === 'selected' ? ids.length : await countContacts(ctx, filter);
    const segments = await listSegments(ctx);
    return render(deps, req, reply, 'mailing/assign', { title: 'Назначить тип рассылки', type, target, ids, count, filter, fq: filterQuery(filter), segments, withQuery });
  });

  app.post('/contacts/assign-mailing', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const form = body(req);
    const filter = readContactFilter(form);
    const typeId = int(form, 'mailingTypeId') ?? -1;
    const added =
      str(form, 'target') === 'selected' ? await assignMailingType(ctx, typeId, { ids: ints(form, 'ids') }) : await assignMailingType(ctx, typeId, { filter });
    const type = await getMailingType(ctx, typeId);
    return redirectWith(deps, reply, withQuery('/admin/contacts', filterQuery(filter)), {
      type: 'ok',
      text: `Тип рассылки «${type.name}» назначен: добавлено контактов ${added}`,
    });
  });

  // the reference book of mailing types
  app.get('/mailing-types', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    return render(deps, req, reply, 'mailing/types', { title: 'Типы рассылки', types: await listMailingTypes(ctx), canEdit: hasRole(req, 'admin', 'head') });
  });

  app.post('/mailing-types', async (req, reply) => {
    const form = body(req);
    try {
      const t = await createMailingType(ctxOf(deps, req), { name: str(form, 'name'), description: str(form, 'description') });
      return redirectWith(deps, reply, `/admin/mailing-types/${t.id}`, { type: 'ok', text: `Тип рассылки «${t.name}» создан` });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) {
        return redirectWith(deps, reply, '/admin/mailing-types', { type: 'error', text: e.code === 'invalid' ? Object.values(e.fields).join('; ') : e.message });
      }
      throw e;
    }
  });

  app.get('/mailing-types/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const after = int(query(req), 'after') ?? 0;
    const type = await getMailingType(ctx, id);
    const rows = await listMailingTypeContacts(ctx, id, { afterId: after, limit: 101 });
    return render(deps, req, reply, 'mailing/type', {
      title: type.name,
      type,
      emails: await countMailingTypeWithoutEmail(ctx, id),
      rows: rows.slice(0, 100),
      next: rows.length > 100 ? rows[99]!.id : null,
      after,
      canEdit: hasRole(req, 'admin', 'head'),
    });
  });

  app.post('/mailing-types/:id', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    try {
      await updateMailingType(ctxOf(deps, req), id, { name: str(form, 'name'), description: str(form, 'description') });
      return redirectWith(deps, reply, `/admin/mailing-types/${id}`, { type: 'ok', text: 'Сохранено' });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) {
        return redirectWith(deps, reply, `/admin/mailing-types/${id}`, { type: 'error', text: e.code === 'invalid' ? Object.values(e.fields).join('; ') : e.message });
      }
      throw e;
    }
  });

  app.post('/mailing-types/:id/delete', async (req, reply) => {
    const id = idParam(req.params);
    try {
      await deleteMailingType(ctxOf(deps, req), id);
    } catch (e) {
      if (isServiceError(e) && e.code === 'conflict') return redirectWith(deps, reply, `/admin/mailing-types/${id}`, { type: 'error', text: e.message });
      throw e;
    }
    return redirectWith(deps, reply, '/admin/mailing-types', { type: 'ok', text: 'Тип рассылки удалён' });
  });

  app.post('/mailing-types/:id/remove', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    const removed = await removeFromMailingType(ctxOf(deps, req), id, str(form, 'all') === '1' ? 'all' : { ids: ints(form, 'ids') });
    return redirectWith(deps, reply, `/admin/mailing-types/${id}`, { type: 'ok', text: `Снято с рассылки контактов: ${removed}` });
  });

  /**
   * The list as .xlsx, streamed: rows are written as they are read, so a big list stays in bounded
   * memory. «только с e-mail» is on unless the export form turned it off (`form=1` without
   * `onlyWithEmail`); how many had no e-mail is on the page before, and in the file's sheet «Итог».
   */
  app.get('/mailing-types/:id/export.xlsx', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const type = await getMailingType(ctx, idParam(req.params));
    const onlyWithEmail = str(q, 'form') === '1' ? bool(q, 'onlyWithEmail') : true;
    const out = new PassThrough();
    exportMailingTypeXlsx(ctx, type.id, out, { onlyWithEmail }).catch((err) => {
      req.log.error({ err, typeId: type.id }, 'mailing export failed');
      out.destroy(err as Error);
    });
    const fileName = `rassylka-${type.id}-${new Date().toISOString().slice(0, 10)}.xlsx`;
    return reply
      .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('content-disposition', `attachment; filename="${fileName}"; filename*=UTF-8''${encodeURIComponent(`${type.name}.xlsx`)}`)
      .header('cache-control', 'no-store')
      .send(out);
  });
}
