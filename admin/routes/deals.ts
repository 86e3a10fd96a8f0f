import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createDeal, getDeal, listDeals, listDealStages, loseDeal, setDealStage, updateDeal, winDeal, type Deal } from '../../core/deals/deals.js';
import { dealPipeline } from '../../core/deals/pipeline.js';
import { listLossReasons } from '../../core/deals/loss-reasons.js';
import { counterpartyNames, listCounterparties } from '../../core/counterparties/counterparties.js';
import { isServiceError } from '../../core/errors.js';
import { dateInZone } from '../../core/validation/time.js';
import { body, type FormBody, idParam, int, query, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
import { formAction, parseForm, userErrorText } from '../form-action.js';
import { PAGE_SIZE, pageOf, userNames } from '../lists.js';
import { recordTabs } from '../record-tabs.js';
import { clientChoice } from '../client-choice.js';
import type { AdminDeps } from '../types.js';
import { dealLinesBlock } from './deal-lines.js';

/** A record number typed into a form: '' is none. */
const recordNo = (message: string) =>
  z
    .string()
    .optional()
    .transform((s, c) => {
      const t = (s ?? '').trim();
      if (!t) return null;
      const n = /^\d{1,10}$/.test(t) ? Number(t) : 0;
      if (n < 1 || n > 2_147_483_647) {
        c.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    });
const text = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim());

const dealFields = {
  title: z.string('укажите название сделки').trim().min(1, 'укажите название сделки').max(500, 'название не длиннее 500 символов'),
  amount: text.transform((s) => s || '0'),
  counterpartyId: recordNo('№ контрагента — целое число'),
  contactId: recordNo('выберите контакт'),
  responsibleId: recordNo('выберите ответственного'),
  comment: text,
};
const newDealForm = z.object({ ...dealFields, stageId: recordNo('выберите стадию') });
const editDealForm = z.object(dealFields);
const winForm = z.object({ paidOn: text });
const loseForm = z.object({ lossReasonId: recordNo('укажите причину отказа'), comment: text, stageId: recordNo('выберите стадию') });
const stageForm = z.object({ stageId: recordNo('выберите стадию'), lossReasonId: recordNo('укажите причину отказа'), lossComment: text, paidOn: text, back: text });

const day = /^\d{4}-\d{2}-\d{2}$/;

/** Where a form from the list, the board or the card returns: only pages of this section. */
const dealsPage = (s: string, fallback: string) => (/^\/admin\/deals(?:[/?#]|$)/.test(s) && !/[\\]|\/\//.test(s) ? s : fallback);

const today = (req: FastifyRequest, deps: AdminDeps) => dateInZone(new Date(), req.adminUser?.timeZone ?? deps.services.config.TIME_ZONE);

/** The list's and the board's filter from the query: responsible and period (others per page). */
function periodFilter(q: FormBody) {
  const f: { responsibleId?: number; from?: string; to?: string } = {};
  if (int(q, 'responsibleId')) f.responsibleId = int(q, 'responsibleId');
  if (day.test(str(q, 'from'))) f.from = str(q, 'from');
  if (day.test(str(q, 'to'))) f.to = str(q, 'to');
  return f;
}
const asQuery = (f: Record<string, unknown>) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)]));

export default async function dealRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/deals', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: { stageId?: number; responsibleId?: number; open?: boolean; from?: string; to?: string } = periodFilter(q);
    if (int(q, 'stageId')) filter.stageId = int(q, 'stageId');
    if (str(q, 'open') === '1') filter.open = true;
    if (str(q, 'open') === '0') filter.open = false;
    const p = pageOf(q);
    const [list, stages, n] = await Promise.all([listDeals(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }), listDealStages(ctx), userNames(ctx)]);
    const items = list.items.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/deals', {
      title: 'Сделки',
      items,
      hasMore: list.items.length > PAGE_SIZE,
      page: p,
      filter,
      fq: asQuery({ ...filter, open: filter.open === undefined ? undefined : filter.open ? '1' : '0' }),
      stages,
      stageName: Object.fromEntries(stages.map((s) => [s.id, s.name])),
      cpName: await counterpartyNames(ctx, items.map((d) => d.counterpartyId)),
      withQuery,
      ...n,
    });
  });

  // The pipeline board: a column per stage; each card moves with a small form (drag-and-drop submits the same form)
  app.get('/deals/board', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const filter = periodFilter(query(req));
    const [pipeline, n] = await Promise.all([dealPipeline(ctx, filter), userNames(ctx)]);
    const shown = pipeline.stages.flatMap((c) => c.deals);
    return render(deps, req, reply, 'sales/pipeline', {
      title: 'Воронка сделок',
      columns: pipeline.stages,
      stages: pipeline.stages.map((c) => c.stage),
      filter,
      back: withQuery('/admin/deals/board', asQuery(filter)),
      listHref: withQuery('/admin/deals', asQuery(filter)),
      cpName: await counterpartyNames(ctx, shown.map((d) => d.counterpartyId)),
      ...n,
    });
  });

  // «Новая сделка»: from the list, or from a counterparty's or contact's card (?counterpartyId= / ?contactId=)
  const newDealPage = async (req: FastifyRequest, reply: FastifyReply, values: FormBody, errors: Record<string, string>, status = 200) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    // «Найти контрагента»: a number is the counterparty's №, anything else searches names, INN, phones (of the actor's clients only)
    const find = str(q, 'find');
    let cpId = int(values, 'counterpartyId') ?? int(q, 'counterpartyId') ?? null;
    if (/^\d{1,9}$/.test(find)) cpId = Number(find);
    const found = find && !/^\d{1,9}$/.test(find) ? (await listCounterparties(ctx, { text: find }, { limit: 10 })).items : null;
    const ctId = int(values, 'contactId') ?? int(q, 'contactId') ?? null;
    const [client, stages, n] = await Promise.all([clientChoice(ctx, cpId, ctId), listDealStages(ctx), userNames(ctx)]);
    return render(
      deps,
      req,
      reply,
      'sales/deal-form',
      {
        title: 'Новая сделка',
        values: { title: '', amount: '', comment: '', stageId: '', responsibleId: '', ...values },
        errors,
        client,
        find,
        found,
        stages: stages.filter((s) => !s.isLost),
        canAssign: hasRole(req, 'admin', 'head'),
        ...n,
      },
      status,
    );
  };

  app.get('/deals/new', async (req, reply) => newDealPage(req, reply, {}, {}));

  app.post('/deals', async (req, reply) => {
    const form = body(req);
    try {
      const data = parseForm(newDealForm, form);
      const deal = await createDeal(ctxOf(deps, req), {
        title: data.title,
        amount: data.amount,
        counterpartyId: data.counterpartyId,
        contactId: data.contactId,
        comment: data.comment,
        ...(data.stageId ? { stageId: data.stageId } : {}),
        // a manager's new deal is theirs; the head and the admin may give it to anyone
        ...(hasRole(req, 'admin', 'head') && data.responsibleId ? { responsibleId: data.responsibleId } : {}),
      });
      return redirectWith(deps, reply, `/admin/deals/${deal.id}`, { type: 'ok', text: `Сделка №${deal.id} создана` });
    } catch (e) {
      const message = userErrorText(e);
      if (message === null || !isServiceError(e)) throw e;
      const errors = Object.keys(e.fields).length ? e.fields : { form: message };
      return newDealPage(req, reply, form, errors, e.code === 'invalid' ? 400 : e.code === 'forbidden' ? 403 : e.code === 'conflict' ? 409 : 404);
    }
  });

  app.get('/deals/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const deal = await getDeal(ctx, idParam(req.params));
    const [stages, n, reasons, client, cpName, feed, dealLines] = await Promise.all([
      listDealStages(ctx),
      userNames(ctx),
      listLossReasons(ctx, { includeArchived: true }),
      clientChoice(ctx, deal.counterpartyId, deal.contactId),
      counterpartyNames(ctx, [deal.counterpartyId]),
      recordTabs(ctx, req, 'deal', deal.id, str(query(req), 'tab')),
      dealLinesBlock(ctx, deal.id, `/admin/deals/${deal.id}#lines`),
    ]);
    return render(deps, req, reply, 'sales/deal', {
      title: deal.title,
      deal,
      stages,
      stage: stages.find((s) => s.id === deal.stageId),
      lossReasons: reasons.filter((r) => !r.archived),
      lossReasonName: Object.fromEntries(reasons.map((r) => [r.id, r.name])),
      client,
      cpName,
      canAssign: hasRole(req, 'admin', 'head'),
      today: today(req, deps),
      loseStageId: int(query(req), 'lose') ?? null,
      feed,
      dealLines,
      ...n,
    });
  });

  app.post('/deals/:id', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/deals/${id}`,
      async () => {
        const ctx = ctxOf(deps, req);
        const data = parseForm(editDealForm, body(req));
        const before: Deal = await getDeal(ctx, id);
        // the contact select offers the old company's people: a new company drops the old contact
        const contactId = data.counterpartyId !== before.counterpartyId && data.contactId === before.contactId ? null : data.contactId;
        return updateDeal(ctx, id, {
          title: data.title,
          amount: data.amount,
          counterpartyId: data.counterpartyId,
          contactId,
          comment: data.comment,
          ...(hasRole(req, 'admin', 'head') ? { responsibleId: data.responsibleId } : {}),
        });
      },
      () => ({ text: 'Сделка сохранена' }),
      'Сделка не сохранена: ',
    );
  });

  app.post('/deals/:id/win', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/deals/${id}`,
      async () => winDeal(ctxOf(deps, req), id, { paidOn: parseForm(winForm, body(req)).paidOn }),
      (d) => ({ text: `Сделка оплачена ${d.paidOn?.split('-').reverse().join('.') ?? ''}` }),
    );
  });

  app.post('/deals/:id/lose', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/deals/${id}#lose`,
      async () => {
        const data = parseForm(loseForm, body(req));
        return loseDeal(ctxOf(deps, req), id, { lossReasonId: data.lossReasonId ?? 0, comment: data.comment, ...(data.stageId ? { stageId: data.stageId } : {}) });
      },
      () => ({ text: 'Сделка проиграна', to: `/admin/deals/${id}` }),
    );
  });

  // From the card's stage select and from the board: a lost stage without a reason goes to the card's «Проиграна» form
  app.post('/deals/:id/stage', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    const back = dealsPage(str(form, 'back'), `/admin/deals/${id}`);
    const ctx = ctxOf(deps, req);
    const stages = await listDealStages(ctx);
    const target = stages.find((s) => s.id === int(form, 'stageId'));
    const needsReason = !!target?.isLost && !int(form, 'lossReasonId');
    return formAction(
      deps,
      reply,
      needsReason ? `/admin/deals/${id}?lose=${target!.id}#lose` : back,
      async () => {
        const data = parseForm(stageForm, form);
        return setDealStage(ctx, id, data.stageId ?? -1, {
          ...(data.paidOn ? { paidOn: data.paidOn } : {}),
          ...(data.lossReasonId ? { lossReasonId: data.lossReasonId, lossComment: data.lossComment } : {}),
        });
      },
      (d) => ({ text: `Сделка «${d.title}»: ${stages.find((s) => s.id === d.stageId)?.name ?? 'стадия изменена'}`, to: back }),
    );
  });
}
