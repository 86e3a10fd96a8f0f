import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { cancelWork, completeWork, createFollowUpWork, createWork, followUpDraft, getWork, listWorks, rescheduleWork, worksAgenda, type Work } from '../../core/works/works.js';
import { localTimeInZone } from '../../core/validation/time.js';
import { safeNext } from '../session.js';
import { body, idParam, int, query, str } from '../forms.js';
import { ctxOf, hasRole, render, withQuery } from '../render.js';
import { formAction, parseForm } from '../form-action.js';
import { PAGE_SIZE, pageOf } from '../lists.js';
import { workRowLookups } from '../works-block.js';
import type { AdminDeps } from '../types.js';

/** '' from a form is "not given". */
const blank = (v: unknown) => (v === '' ? undefined : v);
const id = (message: string) => z.coerce.number(message).int(message).positive(message).max(2_147_483_647, 'нет такой записи');
const optionalId = z.preprocess(blank, id('выберите значение').optional());
const text = (max = 2000) => z.preprocess(blank, z.string().trim().max(max, `не длиннее ${max} символов`).optional());

/** A datetime-local value typed in the person's own zone («2026-11-25T10:00»), as an instant. */
const localDeadline = (timeZone: string, message = 'укажите срок') =>
  z
    .string(message)
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, message)
    .transform((s) => localTimeInZone(s.slice(0, 10), Number(s.slice(11, 13)), Number(s.slice(14, 16)), timeZone));

const zoneOf = (req: FastifyRequest) => req.adminUser?.timeZone ?? 'Europe/Moscow';

/** «Запланировать работу» from any card: exactly one record it belongs to. */
const planForm = (tz: string) =>
  z
    .object({
      actionId: id('выберите действие'),
      plannedResultId: optionalId,
      deadline: localDeadline(tz),
      comment: text(),
      responsibleId: optionalId,
      leadId: optionalId,
      dealId: optionalId,
      contactId: optionalId,
      counterpartyId: optionalId,
    })
    .refine((f) => [f.leadId, f.dealId, f.contactId, f.counterpartyId].filter(Boolean).length === 1, {
      message: 'работа планируется на одной записи: лиде, сделке, контакте или контрагенте',
      path: ['leadId'],
    });

const followUpForm = (tz: string) =>
  z.object({ actionId: id('выберите действие'), plannedResultId: optionalId, deadline: localDeadline(tz), comment: text(), responsibleId: optionalId });
const completeForm = z.object({ resultId: id('выберите результат'), comment: text() });
const rescheduleForm = (tz: string) => z.object({ deadline: localDeadline(tz, 'укажите новый срок'), comment: text() });
const cancelForm = z.object({ reason: z.preprocess(blank, z.string('укажите причину отмены').trim().min(1, 'укажите причину отмены').max(1000, 'не длиннее 1000 символов')) });

/** Where a works form returns: its `back` field inside the panel, else «Мои работы». */
const backOf = (req: FastifyRequest) => safeNext(str(body(req), 'back') || '/admin/works');

/** The head and the admin choose whose works; a manager's own are theirs anyway. */
const responsibleOf = (req: FastifyRequest, value: number | undefined) => (hasRole(req, 'admin', 'head') ? value : undefined);

const agendaBuckets = [
  ['overdue', 'Просрочено'],
  ['today', 'Сегодня'],
  ['week', 'На этой неделе'],
  ['later', 'Позже'],
] as const;

export default async function workRoutes(app: FastifyInstance, deps: AdminDeps) {
  // «Мои работы»: the to-do list by local days, or the finished ones
  app.get('/works', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const view = str(q, 'view') === 'done' ? 'done' : 'agenda';
    const canFilter = hasRole(req, 'admin', 'head');
    const responsibleId = canFilter ? int(q, 'responsibleId') : req.adminUser!.id;
    const fq = { view: view === 'done' ? 'done' : undefined, responsibleId: canFilter ? responsibleId : undefined };
    let data: Record<string, unknown>;
    if (view === 'agenda') {
      const agenda = await worksAgenda(ctx, { responsibleId, timeZone: zoneOf(req) });
      const all: Work[] = [...agenda.overdue, ...agenda.today, ...agenda.week, ...agenda.later];
      data = { agenda, buckets: agendaBuckets, total: all.length, L: await workRowLookups(ctx, req, all) };
    } else {
      const p = pageOf(q);
      const rows = await listWorks(ctx, { finished: true, responsibleId }, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE });
      const items = rows.slice(0, PAGE_SIZE);
      data = { items, page: p, hasMore: rows.length > PAGE_SIZE, L: await workRowLookups(ctx, req, items) };
    }
    return render(deps, req, reply, 'sales/works', {
      title: 'Мои работы',
      view,
      canFilter,
      responsibleId,
      fq,
      withQuery,
      back: withQuery('/admin/works', fq),
      ...data,
    });
  });

  // «Запланировать работу» on a lead, deal, contact or counterparty
  app.post('/works', async (req, reply) => {
    const back = backOf(req);
    return formAction(
      deps,
      reply,
      back,
      () => {
        const f = parseForm(planForm(zoneOf(req)), body(req));
        return createWork(ctxOf(deps, req), { ...f, responsibleId: responsibleOf(req, f.responsibleId) });
      },
      (w) => ({ text: `Работа №${w.id} запланирована` }),
      'Работа не запланирована: ',
    );
  });

  // «Выполнить»: the result must be one the work's action allows (checked in core)
  app.post('/works/:id/complete', async (req, reply) =>
    formAction(
      deps,
      reply,
      backOf(req),
      () => completeWork(ctxOf(deps, req), idParam(req.params), parseForm(completeForm, body(req))),
      (w) => ({ text: `Работа №${w.id} выполнена` }),
      'Работа не выполнена: ',
    ),
  );

  app.post('/works/:id/reschedule', async (req, reply) =>
    formAction(
      deps,
      reply,
      backOf(req),
      () => rescheduleWork(ctxOf(deps, req), idParam(req.params), parseForm(rescheduleForm(zoneOf(req)), body(req))),
      (w) => ({ text: `Срок работы №${w.id} перенесён` }),
      'Срок не перенесён: ',
    ),
  );

  app.post('/works/:id/cancel', async (req, reply) =>
    formAction(
      deps,
      reply,
      backOf(req),
      () => cancelWork(ctxOf(deps, req), idParam(req.params), parseForm(cancelForm, body(req))),
      (w) => ({ text: `Работа №${w.id} отменена` }),
      'Работа не отменена: ',
    ),
  );

  // «На основании текущей»: the form prefilled from the work it follows
  app.get('/works/:id/follow-up', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const work = await getWork(ctx, idParam(req.params));
    const draft = followUpDraft(work);
    // a deadline already past is offered the same time on the next day still ahead
    const now = ctx.clock.now().getTime();
    let deadline = work.deadline.getTime();
    if (deadline <= now) deadline += Math.ceil((now - deadline + 1) / 86_400_000) * 86_400_000;
    draft.deadline = new Date(deadline);
    return render(deps, req, reply, 'sales/work-form', {
      title: `Работа на основании №${work.id}`,
      work,
      draft,
      back: safeNext(str(query(req), 'back') || '/admin/works'),
      L: await workRowLookups(ctx, req, [work]),
    });
  });

  app.post('/works/:id/follow-up', async (req, reply) => {
    const workId = idParam(req.params);
    const back = backOf(req);
    return formAction(
      deps,
      reply,
      withQuery(`/admin/works/${workId}/follow-up`, { back }),
      () => {
        const f = parseForm(followUpForm(zoneOf(req)), body(req));
        return createFollowUpWork(ctxOf(deps, req), workId, {
          actionId: f.actionId,
          plannedResultId: f.plannedResultId ?? null,
          deadline: f.deadline,
          comment: f.comment ?? null,
          ...(responsibleOf(req, f.responsibleId) ? { responsibleId: responsibleOf(req, f.responsibleId) } : {}),
        });
      },
      (w) => ({ text: `Работа №${w.id} на основании №${workId} запланирована`, to: back }),
      'Работа не запланирована: ',
    );
  });
}
