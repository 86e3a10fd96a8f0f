import type { FastifyInstance } from 'fastify';
import { getCounterparty } from '../../core/counterparties/counterparties.js';
import { createContact, listContacts } from '../../core/contacts/contacts.js';
import { createLead, listLeads } from '../../core/leads/leads.js';
import { listDeals, listDealStages } from '../../core/deals/deals.js';
import { createWork, listWorks } from '../../core/works/works.js';
import { listActions, listResults } from '../../core/works/actions.js';
import { getHistory } from '../../core/history/history.js';
import { listDocuments } from '../../core/history/documents.js';
import { localTimeInZone } from '../../core/validation/time.js';
import { isServiceError } from '../../core/errors.js';
import { body, idParam, int, opt, query, splitList, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render } from '../render.js';
import { lookups } from '../lists.js';
import type { AdminDeps } from '../types.js';

/** The counterparty's card: its requisites and the tabs of everything done with it (R12). */
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

export default async function counterpartyCardRoutes(app: FastifyInstance, deps: AdminDeps) {
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

}
