import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  assignSegment,
  checkRequisites,
  createCounterparty,
  getCounterparty,
  listCounterparties,
  parseCounterparty,
  previewSegmentAssignment,
  updateCounterparty,
  type Counterparty,
  type CounterpartyFilter,
  type CounterpartyInput,
  type CounterpartyKind,
  type CounterpartySort,
} from '../../core/counterparties/counterparties.js';
import { listSegments } from '../../core/segments/segments.js';
import { findPossibleDuplicates, type PossibleDuplicate } from '../../core/merge/possible-duplicates.js';
import { formatPhoneWithExtension, normalizePhone } from '../../core/validation/phone.js';
import { normalizeEmail } from '../../core/validation/email.js';
import { isServiceError } from '../../core/errors.js';
import { body, bool, formErrors, type FormBody, idParam, int, ints, opt, query, splitList, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, requireRoles, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';
import { plural } from '../format.js';
import { lookups, MAX_PAGE, PAGE_SIZE } from '../lists.js';

const kinds = ['legal_entity', 'individual', 'sole_proprietor'] as const;
const isKind = (v: string): v is CounterpartyKind => (kinds as readonly string[]).includes(v);
const sorts: CounterpartySort[] = ['id', 'name', 'createdAt', 'headcount', 'capital', 'region'];
const num = (s: string) => (/^\d{1,12}$/.test(s) ? s : undefined);

/** The list filters from a query string; what cannot be read is ignored rather than refused. */
export function readFilter(q: FormBody): CounterpartyFilter {
  const f: CounterpartyFilter = {};
  const text = str(q, 'text');
  if (text) f.text = text;
  const kind = str(q, 'kind');
  if (isKind(kind)) f.kind = kind;
  const hMin = num(str(q, 'headcountMin'));
  const hMax = num(str(q, 'headcountMax'));
  if (hMin) f.headcountMin = Number(hMin);
  if (hMax) f.headcountMax = Number(hMax);
  const cMin = num(str(q, 'capitalMin').replace(/\s/g, ''));
  const cMax = num(str(q, 'capitalMax').replace(/\s/g, ''));
  if (cMin) f.capitalMin = cMin;
  if (cMax) f.capitalMax = cMax;
  if (str(q, 'industry')) f.industry = str(q, 'industry');
  if (str(q, 'region')) f.region = str(q, 'region');
  const seg = str(q, 'segmentId');
  if (seg === 'none') f.segmentId = 'none';
  else if (int(q, 'segmentId')) f.segmentId = int(q, 'segmentId');
  if (int(q, 'responsibleId')) f.responsibleId = int(q, 'responsibleId');
  return f;
}

/** The filter as query parameters, to carry it through links and forms. */
export function filterQuery(f: CounterpartyFilter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== null && v !== '') out[k] = String(v);
  return out;
}

/** The filter in words, for the confirmation of a bulk assignment. */
export function describeFilter(f: CounterpartyFilter, names: { segment: Record<number, string>; user: Record<number, string> }): string {
  const kindNames: Record<string, string> = { legal_entity: 'юридические лица', individual: 'физические лица', sole_proprietor: 'ИП' };
  const parts: string[] = [];
  if (f.text) parts.push(`поиск «${f.text}»`);
  if (f.kind) parts.push(kindNames[f.kind]!);
  if (f.headcountMin !== undefined || f.headcountMax !== undefined) parts.push(`численность ${f.headcountMin ?? 0}–${f.headcountMax ?? '∞'}`);
  if (f.capitalMin !== undefined || f.capitalMax !== undefined) parts.push(`капитал ${f.capitalMin ?? 0}–${f.capitalMax ?? '∞'} ₽`);
  if (f.industry) parts.push(`отрасль «${f.industry}»`);
  if (f.region) parts.push(`регион «${f.region}»`);
  if (f.segmentId === 'none') parts.push('без сегмента');
  else if (f.segmentId) parts.push(`сегмент «${names.segment[Number(f.segmentId)] ?? f.segmentId}»`);
  if (f.responsibleId) parts.push(`ответственный ${names.user[Number(f.responsibleId)] ?? f.responsibleId}`);
  return parts.join(', ');
}


/** A counterparty form as the verb's input; fields a kind does not have are dropped (they are hidden on the form). */
function readCounterpartyForm(form: FormBody, canAssign: boolean): CounterpartyInput {
  const kind = str(form, 'kind');
  const input: CounterpartyInput = {
    kind: (isKind(kind) ? kind : kind) as CounterpartyKind,
    name: str(form, 'name'),
    inn: opt(str(form, 'inn').replace(/\s/g, '')),
    kpp: kind === 'legal_entity' ? opt(str(form, 'kpp').toUpperCase()) : undefined,
    ogrn: kind !== 'individual' ? opt(str(form, 'ogrn').replace(/\s/g, '')) : undefined,
    address: opt(str(form, 'address')),
    region: opt(str(form, 'region')),
    industry: opt(str(form, 'industry')),
    headcount: kind !== 'individual' && str(form, 'headcount') ? (str(form, 'headcount') as unknown as number) : null,
    capital: kind === 'legal_entity' && str(form, 'capital') ? str(form, 'capital') : null,
    phones: splitList(str(form, 'phones')),
    emails: splitList(str(form, 'emails')),
    isActiveClient: bool(form, 'isActiveClient'),
    comment: opt(str(form, 'comment')),
  };
  if (canAssign) {
    input.segmentId = int(form, 'segmentId') ?? null;
    input.responsibleId = int(form, 'responsibleId') ?? null;
  }
  return input;
}



export default async function counterpartyRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/counterparties', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter = readFilter(q);
    const sort = (sorts as string[]).includes(str(q, 'sort')) ? (str(q, 'sort') as CounterpartySort) : 'id';
    const desc = str(q, 'sort') ? str(q, 'desc') === '1' : true;
    const page = Math.max(1, int(q, 'page') ?? 1);
    const tooDeep = page > MAX_PAGE;
    // one row more than shown tells whether there is a next page, without counting a million rows
    const result = tooDeep
      ? { items: [] as Counterparty[], total: undefined }
      : await listCounterparties(ctx, filter, { limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE, sort, desc, withTotal: str(q, 'count') === '1' });
    const l = await lookups(ctx);
    return render(deps, req, reply, 'counterparties/list', {
      title: 'Контрагенты',
      items: result.items.slice(0, PAGE_SIZE),
      hasMore: result.items.length > PAGE_SIZE,
      total: result.total,
      filter,
      fq: filterQuery(filter),
      sort,
      desc,
      page,
      tooDeep,
      canAssign: hasRole(req, 'admin', 'head'),
      withQuery,
      ...l,
    });
  });

  app.get('/counterparties/new', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const kind = str(query(req), 'kind');
    return render(deps, req, reply, 'counterparties/form', {
      title: 'Новый контрагент',
      values: { kind: isKind(kind) ? kind : 'legal_entity', phones: '', emails: '' },
      errors: {},
      canAssign: hasRole(req, 'admin', 'head'),
      ...(await lookups(ctx)),
    });
  });

  const renderForm = async (
    req: FastifyRequest,
    reply: FastifyReply,
    form: FormBody,
    errors: Record<string, string>,
    message: string,
    id?: number,
    duplicates: PossibleDuplicate[] = [],
  ) =>
    render(
      deps,
      req,
      reply,
      'counterparties/form',
      { title: id ? 'Изменить контрагента' : 'Новый контрагент', id, values: form, errors, message, duplicates, canAssign: hasRole(req, 'admin', 'head'), ...(await lookups(ctxOf(deps, req))) },
      400,
    );

  /**
   * Create or edit (R8): phones and e-mails another client already has are shown before saving,
   * with links, and saved only with «Всё равно сохранить». On edit only the newly typed ones are
   * checked (the stored ones were seen when they were typed).
   */
  const saveCounterparty = async (req: FastifyRequest, reply: FastifyReply, id?: number) => {
    const ctx = ctxOf(deps, req);
    const form = body(req);
    const input = readCounterpartyForm(form, hasRole(req, 'admin', 'head'));
    try {
      if (!bool(form, 'confirmDuplicates')) {
        const before = id ? await getCounterparty(ctx, id) : null;
        const duplicates = await findPossibleDuplicates(ctx, {
          phones: (input.phones ?? []).filter((p) => !before?.phones.includes(normalizePhone(p) ?? '')),
          emails: (input.emails ?? []).filter((e) => !before?.emails.includes(normalizeEmail(e) ?? '')),
          ...(id ? { excludeCounterpartyId: id } : {}),
        });
        if (duplicates.length) {
          let errors: Record<string, string> = {};
          try {
            parseCounterparty(input);
          } catch (e) {
            if (!isServiceError(e) || e.code !== 'invalid') throw e;
            errors = formErrors(e.fields);
          }
          return renderForm(req, reply, form, errors, '', id, duplicates);
        }
      }
      const cp = id ? await updateCounterparty(ctx, id, input) : await createCounterparty(ctx, input);
      return redirectWith(deps, reply, `/admin/counterparties/${cp.id}`, { type: 'ok', text: id ? 'Изменения сохранены' : `Контрагент «${cp.name}» создан` });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return renderForm(req, reply, form, formErrors(e.fields), e.message, id);
      throw e;
    }
  };

  app.post('/counterparties', async (req, reply) => saveCounterparty(req, reply));

  app.get('/counterparties/assign-segment', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter = readFilter(q);
    const target = str(q, 'target') === 'selected' ? 'selected' : 'filter';
    const ids = ints(q, 'ids');
    const segmentValue = str(q, 'segmentId_assign');
    const segments = await listSegments(ctx);
    const segment = segments.find((s) => String(s.id) === segmentValue);
    if (!segment && segmentValue !== 'none') {
      return redirectWith(deps, reply, withQuery('/admin/counterparties', filterQuery(filter)), { type: 'error', text: 'Выберите сегмент для назначения' });
    }
    if (target === 'selected' && !ids.length) {
      return redirectWith(deps, reply, withQuery('/admin/counterparties', filterQuery(filter)), { type: 'error', text: 'Отметьте контрагентов в списке' });
    }
    const preview = await previewSegmentAssignment(ctx, segment ? segment.id : null, target === 'selected' ? { ids } : { filter });
    const count = preview.total;
    const l = await lookups(ctx);
    return render(deps, req, reply, 'counterparties/assign', {
      preview,
      filterText: describeFilter(filter, { segment: l.segmentName, user: l.userName }),
      title: 'Назначить сегмент рынка',
      target,
      ids,
      count,
      segment: segment ?? null,
      segmentValue,
      filter,
      fq: filterQuery(filter),
      withQuery,
      ...l,
    });
  });

  app.post('/counterparties/assign-segment', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const form = body(req);
    const filter = readFilter(form);
    const segmentValue = str(form, 'segmentId_assign');
    const segmentId = segmentValue === 'none' ? null : (int(form, 'segmentId_assign') ?? -1);
    const onlyWithoutSegment = segmentId !== null && str(form, 'only') === 'without';
    const changed = await assignSegment(ctx, segmentId, str(form, 'target') === 'selected' ? { ids: ints(form, 'ids') } : { filter }, { onlyWithoutSegment });
    return redirectWith(deps, reply, withQuery('/admin/counterparties', filterQuery(filter)), {
      type: 'ok',
      text: `${segmentId ? 'Сегмент назначен' : 'Сегмент снят'}: ${plural(changed, ['контрагент', 'контрагента', 'контрагентов'])}`,
    });
  });

  app.get('/counterparties/:id/edit', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const cp = await getCounterparty(ctx, idParam(req.params));
    const f = (v: unknown) => (v === null || v === undefined ? '' : String(v));
    const values = {
      kind: cp.kind,
      name: cp.name,
      inn: f(cp.inn),
      kpp: f(cp.kpp),
      ogrn: f(cp.ogrn),
      address: f(cp.address),
      region: f(cp.region),
      industry: f(cp.industry),
      headcount: f(cp.headcount),
      capital: cp.capitalKopecks === null ? '' : `${cp.capitalKopecks / 100n}.${String(cp.capitalKopecks % 100n).padStart(2, '0')}`,
      phones: cp.phones.map((p) => formatPhoneWithExtension(p, cp.phoneExtensions[p])).join('\n'),
      emails: cp.emails.join('\n'),
      segmentId: f(cp.segmentId),
      responsibleId: f(cp.responsibleId),
      isActiveClient: cp.isActiveClient ? 'on' : '',
      comment: f(cp.comment),
    };
    return render(deps, req, reply, 'counterparties/form', {
      title: 'Изменить контрагента',
      id: cp.id,
      values,
      errors: {},
      canAssign: hasRole(req, 'admin', 'head'),
      ...(await lookups(ctx)),
    });
  });

  app.post('/counterparties/:id', async (req, reply) => saveCounterparty(req, reply, idParam(req.params)));

  /** INN, OGRN and KPP checked as they are typed, by the same rules the save applies. */
  app.get('/api/requisites', async (req) => {
    const q = query(req);
    const kind = str(q, 'kind');
    const fields: Record<string, string> = {};
    if (isKind(kind)) {
      checkRequisites(
        { kind, inn: opt(str(q, 'inn').replace(/\s/g, '')) ?? null, kpp: opt(str(q, 'kpp').toUpperCase()) ?? null, ogrn: opt(str(q, 'ogrn').replace(/\s/g, '')) ?? null },
        { addIssue: (i) => void (fields[i.path.join('.')] ??= i.message) },
      );
    }
    return { fields };
  });
}
