import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  assignSegment,
  checkRequisites,
  countCounterparties,
  createCounterparty,
  getCounterparty,
  listCounterparties,
  updateCounterparty,
  type Counterparty,
  type CounterpartyFilter,
  type CounterpartyInput,
  type CounterpartyKind,
  type CounterpartySort,
} from '../../core/counterparties/counterparties.js';
import { createContact, listContacts } from '../../core/contacts/contacts.js';
import { createLead, listLeads } from '../../core/leads/leads.js';
import { listDeals, listDealStages } from '../../core/deals/deals.js';
import { createWork, listWorks } from '../../core/works/works.js';
import { localTimeInZone } from '../../core/validation/time.js';
import { listActions, listResults } from '../../core/works/actions.js';
import { getHistory } from '../../core/history/history.js';
import { listDocuments } from '../../core/history/documents.js';
import { listSegments } from '../../core/segments/segments.js';
import { listUsers } from '../../core/users/users.js';
import { isServiceError } from '../../core/errors.js';
import type { ServiceContext } from '../../core/context.js';
import { body, bool, formErrors, type FormBody, idParam, int, ints, opt, query, splitList, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, requireRoles, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';
import { plural } from '../format.js';
import { MAX_PAGE, PAGE_SIZE } from '../lists.js';

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


async function lookups(ctx: ServiceContext) {
  const [segments, users] = await Promise.all([listSegments(ctx), listUsers(ctx)]);
  return {
    segments,
    users,
    segmentName: Object.fromEntries(segments.map((s) => [s.id, s.name])) as Record<number, string>,
    userName: Object.fromEntries(users.map((u) => [u.id, u.name])) as Record<number, string>,
  };
}

const tabs = [
  ['contacts', 'Контакты'],
  ['works', 'Работы'],
  ['emails', 'Почтовые сообщения'],
  ['calls', 'Звонки'],
  ['messages', 'Сообщения'],
  ['leads', 'Лиды'],
  ['deals', 'Сделки'],
  ['documents', 'Документы'],
  ['history', 'История'],
] as const;
type Tab = (typeof tabs)[number][0];

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

  const renderForm = async (req: FastifyRequest, reply: FastifyReply, form: FormBody, errors: Record<string, string>, message: string, id?: number) =>
    render(
      deps,
      req,
      reply,
      'counterparties/form',
      { title: id ? 'Изменить контрагента' : 'Новый контрагент', id, values: form, errors, message, canAssign: hasRole(req, 'admin', 'head'), ...(await lookups(ctxOf(deps, req))) },
      400,
    );

  app.post('/counterparties', async (req, reply) => {
    const form = body(req);
    try {
      const cp = await createCounterparty(ctxOf(deps, req), readCounterpartyForm(form, hasRole(req, 'admin', 'head')));
      return redirectWith(deps, reply, `/admin/counterparties/${cp.id}`, { type: 'ok', text: `Контрагент «${cp.name}» создан` });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return renderForm(req, reply, form, formErrors(e.fields), e.message);
      throw e;
    }
  });

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
    const count = target === 'selected' ? ids.length : await countCounterparties(ctx, filter);
    const l = await lookups(ctx);
    return render(deps, req, reply, 'counterparties/assign', {
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
    const changed =
      str(form, 'target') === 'selected' ? await assignSegment(ctx, segmentId, { ids: ints(form, 'ids') }) : await assignSegment(ctx, segmentId, { filter });
    return redirectWith(deps, reply, withQuery('/admin/counterparties', filterQuery(filter)), {
      type: 'ok',
      text: `${segmentId ? 'Сегмент назначен' : 'Сегмент снят'}: ${plural(changed, ['контрагент', 'контрагента', 'контрагентов'])}`,
    });
  });

  app.get('/counterparties/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const cp = await getCounterparty(ctx, idParam(req.params));
    const tabParam = str(query(req), 'tab');
    const tab: Tab = (tabs.map((t) => t[0]) as string[]).includes(tabParam) ? (tabParam as Tab) : 'contacts';
    const data: Record<string, unknown> = {};
    if (tab === 'contacts') data.contacts = (await listContacts(ctx, { counterpartyId: cp.id }, { limit: 200 })).items;
    if (tab === 'works') {
      const [works, actions, results] = await Promise.all([listWorks(ctx, { counterpartyId: cp.id }, { limit: 200 }), listActions(ctx), listResults(ctx)]);
      data.works = works;
      data.actions = actions;
      data.actionName = Object.fromEntries(actions.map((a) => [a.id, a.name]));
      data.resultName = Object.fromEntries(results.map((r) => [r.id, r.name]));
      data.actionResults = Object.fromEntries(actions.map((a) => [a.id, a.results]));
      data.canAssign = hasRole(req, 'admin', 'head');
    }
    if (tab === 'leads') data.leads = (await listLeads(ctx, { counterpartyId: cp.id }, { limit: 200 })).items;
    if (tab === 'deals') {
      const [deals, stages] = await Promise.all([listDeals(ctx, { counterpartyId: cp.id }, { limit: 200 }), listDealStages(ctx)]);
      data.deals = deals.items;
      data.stageName = Object.fromEntries(stages.map((s) => [s.id, s.name]));
    }
    if (tab === 'documents') data.documents = await listDocuments(ctx, 'counterparty', cp.id);
    if (tab === 'emails' || tab === 'calls' || tab === 'messages' || tab === 'history') {
      const kind = { emails: 'email', calls: 'call', messages: 'message', history: null }[tab];
      const items = await getHistory(ctx, 'counterparty', cp.id, { limit: kind ? 1000 : 300 });
      data.history = kind ? items.filter((i) => i.kind === kind) : items;
    }
    return render(deps, req, reply, 'counterparties/card', { title: cp.name, cp, tab, tabs, ...data, ...(await lookups(ctx)) });
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
      phones: cp.phones.join('\n'),
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

  app.post('/counterparties/:id', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    try {
      const cp = await updateCounterparty(ctxOf(deps, req), id, readCounterpartyForm(form, hasRole(req, 'admin', 'head')));
      return redirectWith(deps, reply, `/admin/counterparties/${cp.id}`, { type: 'ok', text: 'Изменения сохранены' });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return renderForm(req, reply, form, formErrors(e.fields), e.message, id);
      throw e;
    }
  });

  // «Запланировать работу» from the card's works tab; the deadline is typed in the user's own time zone
  app.post('/counterparties/:id/works', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    const back = `/admin/counterparties/${id}?tab=works`;
    const local = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/.exec(str(form, 'deadline'));
    if (!local) return redirectWith(deps, reply, back, { type: 'error', text: 'Работа не запланирована: укажите срок' });
    const deadline = localTimeInZone(local[1]!, Number(local[2]), Number(local[3]), req.adminUser!.timeZone);
    try {
      await createWork(ctxOf(deps, req), {
        actionId: int(form, 'actionId') ?? 0,
        deadline,
        comment: opt(str(form, 'comment')),
        counterpartyId: id,
        ...(hasRole(req, 'admin', 'head') && int(form, 'responsibleId') ? { responsibleId: int(form, 'responsibleId') } : {}),
      });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') {
        return redirectWith(deps, reply, back, { type: 'error', text: `Работа не запланирована: ${Object.values(e.fields).join('; ') || e.message}` });
      }
      throw e;
    }
    return redirectWith(deps, reply, back, { type: 'ok', text: 'Работа запланирована' });
  });

  app.post('/counterparties/:id/contacts', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    try {
      await createContact(ctxOf(deps, req), {
        name: str(form, 'name'),
        position: opt(str(form, 'position')),
        phones: splitList(str(form, 'phones')),
        emails: splitList(str(form, 'emails')),
        counterpartyId: id,
      });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') {
        return redirectWith(deps, reply, `/admin/counterparties/${id}?tab=contacts`, { type: 'error', text: `Контакт не добавлен: ${Object.values(e.fields).join('; ') || e.message}` });
      }
      throw e;
    }
    return redirectWith(deps, reply, `/admin/counterparties/${id}?tab=contacts`, { type: 'ok', text: 'Контакт добавлен' });
  });

  app.post('/counterparties/:id/leads', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    try {
      const lead = await createLead(ctxOf(deps, req), { title: str(form, 'title'), source: 'manual', counterpartyId: id, comment: opt(str(form, 'comment')) });
      return redirectWith(deps, reply, `/admin/leads/${lead.id}`, { type: 'ok', text: 'Лид создан' });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') {
        return redirectWith(deps, reply, `/admin/counterparties/${id}?tab=leads`, { type: 'error', text: `Лид не создан: ${Object.values(e.fields).join('; ') || e.message}` });
      }
      throw e;
    }
  });

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
