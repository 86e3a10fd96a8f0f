import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Eta } from 'eta';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyRequest } from 'fastify';
import { fixedClock, openWorld, randomInn, type World } from './helpers/world.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead, updateLead } from '../core/leads/leads.js';
import { createDeal } from '../core/deals/deals.js';
import { listActions } from '../core/works/actions.js';
import { cancelWork, completeWork, createWork, getWork, listWorks, rescheduleWork, worksAgenda } from '../core/works/works.js';
import { WORK_REMIND_JOB } from '../core/works/reminders.js';
import { getHistory } from '../core/history/history.js';
import { monthOf, planVsActual } from '../core/plans/plans.js';
import { localTimeInZone } from '../core/validation/time.js';
import { ServiceError } from '../core/errors.js';
import { worksBlock } from '../admin/works-block.js';
import { formatters } from '../admin/format.js';

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const field = (f: string) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && f in e.fields;

describe('works on every record (core)', () => {
  // Wednesday 25 November 2026, 12:00 in Yekaterinburg, 10:00 in Moscow
  const clock = fixedClock('2026-11-25T07:00:00Z');
  let w: World;
  let petrov: User, sidorov: User, head: User;
  let segA: number;
  let cpA: number, cpB: number;
  let call: Awaited<ReturnType<typeof listActions>>[number];

  before(async () => {
    w = await openWorld({ clock });
    segA = await w.segment('Сегмент А');
    const segB = await w.segment('Сегмент Б');
    petrov = await w.user('manager', { name: 'Петров', segments: [segA] });
    sidorov = await w.user('manager', { name: 'Сидоров', segments: [segB] });
    head = await w.user('head', { name: 'Руководитель' });
    cpA = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Альфа', inn: randomInn('legal_entity'), segmentId: segA })).id;
    cpB = (await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Бета', inn: randomInn('legal_entity'), segmentId: segB })).id;
    call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
  });
  after(() => w.close());

  test('a messenger lead without a counterparty gets a work; another segment\'s manager cannot list, see, complete, move or cancel it', async () => {
    const lead = await createLead(w.system, { title: 'Telegram: Иван', source: 'telegram', responsibleId: petrov.id });
    const work = await createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-26T07:00:00Z', leadId: lead.id, comment: 'Уточнить адрес' });
    assert.equal(work.counterpartyId, null);
    assert.equal(work.leadId, lead.id);
    assert.equal(work.responsibleId, petrov.id);
    assert.deepEqual((await listWorks(w.as(petrov), { leadId: lead.id })).map((x) => x.id), [work.id]);

    assert.ok(!(await listWorks(w.as(sidorov))).some((x) => x.id === work.id));
    assert.deepEqual(await listWorks(w.as(sidorov), { leadId: lead.id }), []);
    await assert.rejects(getWork(w.as(sidorov), work.id), code('forbidden'));
    await assert.rejects(completeWork(w.as(sidorov), work.id, { resultId: call.results[0]!.id }), code('forbidden'));
    await assert.rejects(rescheduleWork(w.as(sidorov), work.id, { deadline: '2026-11-27T07:00:00Z' }), code('forbidden'));
    await assert.rejects(cancelWork(w.as(sidorov), work.id, { reason: 'не моё' }), code('forbidden'));
    await assert.rejects(createWork(w.as(sidorov), { actionId: call.id, deadline: '2026-11-26T07:00:00Z', leadId: lead.id }), code('forbidden'));
    assert.equal((await getWork(w.system, work.id)).status, 'planned');

    // once the lead has a counterparty, the client's works include it
    await updateLead(w.as(petrov), lead.id, { counterpartyId: cpA });
    assert.ok((await listWorks(w.as(petrov), { counterpartyId: cpA })).some((x) => x.id === work.id));
    assert.ok(!(await listWorks(w.system, { counterpartyId: cpB })).some((x) => x.id === work.id));
  });

  test('works on a deal and on a contact; a work needs a record and one client', async () => {
    const deal = await createDeal(w.as(petrov), { title: 'Поставка окон' });
    const onDeal = await createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-26T08:00:00Z', dealId: deal.id });
    assert.equal(onDeal.dealId, deal.id);
    assert.equal(onDeal.counterpartyId, null);
    await assert.rejects(getWork(w.as(sidorov), onDeal.id), code('forbidden'));

    const contact = await createContact(w.system, { name: 'Анна Смирнова', phones: ['+7 912 000-11-22'], counterpartyId: cpA });
    const onContact = await createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-26T09:00:00Z', contactId: contact.id });
    assert.equal(onContact.counterpartyId, cpA, 'the contact\'s company is the client');
    assert.ok((await listWorks(w.as(petrov), { contactId: contact.id })).some((x) => x.id === onContact.id));
    assert.deepEqual(await listWorks(w.as(sidorov), { contactId: contact.id }), []);
    await assert.rejects(createWork(w.as(sidorov), { actionId: call.id, deadline: '2026-11-26T09:00:00Z', contactId: contact.id }), code('forbidden'));

    await assert.rejects(createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-26T09:00:00Z' }), field('leadId'));
    await assert.rejects(createWork(w.system, { actionId: call.id, deadline: '2026-11-26T09:00:00Z', contactId: contact.id, counterpartyId: cpB }), code('invalid'));
  });

  test('the head completes Петров\'s work: completedBy is the head, plan vs actual counts it for Петров', async () => {
    const work = await createWork(w.as(head), { actionId: call.id, deadline: '2026-11-25T06:00:00Z', counterpartyId: cpA, responsibleId: petrov.id });
    const done = await completeWork(w.as(head), work.id, { resultId: call.results[0]!.id, comment: 'Дозвонился за Петрова' });
    assert.equal(done.completedBy, head.id);
    assert.equal(done.responsibleId, petrov.id);
    const [row] = await planVsActual(w.as(head), monthOf(clock.now()), { userId: petrov.id });
    assert.equal(row!.userId, petrov.id);
    assert.equal(row!.actual.worksCount, 1);
  });

  test('rescheduling moves the deadline and the reminder; the history says from what to what', async () => {
    const lead = await createLead(w.system, { title: 'WhatsApp: Олег', source: 'whatsapp', responsibleId: petrov.id });
    const work = await createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-25T07:00:00Z', leadId: lead.id });
    const moved = await rescheduleWork(w.as(petrov), work.id, { deadline: '2026-11-27T12:00:00Z', comment: 'Клиент в командировке' });
    assert.equal(moved.deadline.toISOString(), '2026-11-27T12:00:00.000Z');
    const job = await w.ctx().jobs.getJob(`work:${work.id}:remind:${moved.deadline.getTime()}`, WORK_REMIND_JOB);
    assert.ok(job, 'a reminder before the new deadline');
    const history = await getHistory(w.as(petrov), 'lead', lead.id);
    const line = history.find((h) => h.title.startsWith('Срок перенесён'));
    assert.ok(line, 'a history line');
    assert.match(line.title, /Срок перенесён: 25\.11 10:00 → 27\.11 15:00/);
    assert.match(line.title, /Клиент в командировке/);
    assert.equal(line.actor, 'Петров');

    await assert.rejects(rescheduleWork(w.as(petrov), work.id, { deadline: 'послезавтра' }), field('deadline'));
    await completeWork(w.as(petrov), work.id, { resultId: call.results[0]!.id });
    await assert.rejects(rescheduleWork(w.as(petrov), work.id, { deadline: '2026-11-28T12:00:00Z' }), code('conflict'));
  });

  test('cancelling needs a reason, which is kept with who cancelled', async () => {
    const work = await createWork(w.as(petrov), { actionId: call.id, deadline: '2026-11-26T07:00:00Z', counterpartyId: cpA });
    await assert.rejects(cancelWork(w.as(petrov), work.id, { reason: '  ' }), (e: unknown) => field('reason')(e) && (e as ServiceError).fields.reason === 'укажите причину отмены');
    assert.equal((await getWork(w.system, work.id)).status, 'planned', 'nothing changed');
    const cancelled = await cancelWork(w.as(petrov), work.id, { reason: 'Клиент купил у конкурента' });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.cancelReason, 'Клиент купил у конкурента');
    assert.equal(cancelled.completedBy, petrov.id);
    await assert.rejects(cancelWork(w.as(petrov), work.id, { reason: 'ещё раз' }), code('conflict'));
  });

  test('the agenda buckets by the person\'s local days: overdue, today, the rest of this week, later', async () => {
    const m = await w.user('manager', { name: 'Иванова', segments: [segA] });
    const colleague = await w.user('manager', { name: 'Коллега', segments: [segA] });
    const cp = (await createCounterparty(w.system, { kind: 'individual', name: 'Клиент Ивановой', responsibleId: m.id, segmentId: segA })).id;
    const plan = async (deadline: string, who = m) => (await createWork(w.as(who), { actionId: call.id, deadline, counterpartyId: cp })).id;
    const tz = 'Asia/Yekaterinburg'; // UTC+5: now is Wednesday 12:00
    const overdueOld = await plan('2026-11-20T05:00:00Z');
    const overdueToday = await plan('2026-11-25T03:00:00Z'); // 08:00 today, already past
    const lateToday = await plan('2026-11-25T18:30:00Z'); // 23:30 today
    const sunday = await plan('2026-11-29T05:00:00Z'); // Sunday 10:00
    const nextMonday = await plan('2026-11-29T19:30:00Z'); // Monday 00:30 local (still Sunday in UTC)
    const done = await plan('2026-11-25T09:00:00Z');
    await completeWork(w.as(m), done, { resultId: call.results[0]!.id });
    const theirs = await plan('2026-11-25T10:00:00Z', colleague);

    const agenda = await worksAgenda(w.as(m), { timeZone: tz });
    const ids = (list: { id: number }[]) => list.map((x) => x.id);
    assert.deepEqual(ids(agenda.overdue), [overdueOld, overdueToday]);
    assert.deepEqual(ids(agenda.today), [lateToday]);
    assert.deepEqual(ids(agenda.week), [sunday]);
    assert.deepEqual(ids(agenda.later), [nextMonday]);
    // in Moscow that Monday 00:30 is still Sunday evening: this week
    assert.deepEqual(ids((await worksAgenda(w.as(m), { timeZone: 'Europe/Moscow' })).week), [sunday, nextMonday]);

    // a manager gets their own, never a colleague's (even one they could see on the client)
    const all = Object.values(agenda).flat();
    assert.ok(!all.some((x) => x.id === theirs));
    await assert.rejects(worksAgenda(w.as(m), { responsibleId: colleague.id, timeZone: tz }), code('forbidden'));
    // the head sees the team's, or one manager's
    const team = Object.values(await worksAgenda(w.as(head), { timeZone: tz })).flat();
    assert.ok(team.some((x) => x.id === theirs) && team.some((x) => x.id === lateToday));
    const onlyHers = Object.values(await worksAgenda(w.as(head), { responsibleId: m.id, timeZone: tz })).flat();
    assert.ok(onlyHers.length === 5 && onlyHers.every((x) => x.responsibleId === m.id));
  });
});

describe('works in the panel', () => {
  let a: AdminApp;
  let petrov: User, sidorov: User, head: User;
  let cpA: number;
  let callId: number, resultId: number;
  let leadId: number;

  before(async () => {
    a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
    const segA = await a.world.segment('Сегмент А');
    const segB = await a.world.segment('Сегмент Б');
    petrov = await a.world.user('manager', { name: 'Петров', segments: [segA] });
    sidorov = await a.world.user('manager', { name: 'Сидоров', segments: [segB] });
    head = await a.world.user('head', { name: 'Руководитель' });
    cpA = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Альфа', inn: randomInn('legal_entity'), segmentId: segA })).id;
    const call = (await listActions(a.world.system)).find((x) => x.name === 'Позвонить')!;
    callId = call.id;
    resultId = call.results[0]!.id;
    leadId = (await createLead(a.world.system, { title: 'Telegram: Мария', source: 'telegram', responsibleId: petrov.id })).id;
  });
  after(() => a.close());

  const signedIn = async (u: User) => {
    const c = new PanelClient(a.app);
    await c.signIn(u.email);
    await c.get('/admin/works');
    return c;
  };
  const worksOfLead = () => listWorks(a.world.system, { leadId }, { limit: 500 });

  test('a work is planned on a messenger lead from the panel, in the planner\'s own time; bad input changes nothing', async () => {
    const c = await signedIn(petrov);
    const page = await c.submit('/admin/works', { actionId: String(callId), deadline: '2030-01-10T10:00', comment: 'Перезвонить вечером', leadId: String(leadId), back: '/admin/works' });
    assert.match(text(page.body), /Работа №\d+ запланирована/);
    const [work] = await worksOfLead();
    assert.ok(work);
    assert.equal(work.counterpartyId, null);
    assert.equal(work.deadline.toISOString(), localTimeInZone('2030-01-10', 10, 0, 'Europe/Moscow').toISOString());
    assert.match(text(page.body), /Позже/);
    assert.match(text(page.body), /Перезвонить вечером/);

    const noDeadline = await c.submit('/admin/works', { actionId: String(callId), deadline: '', leadId: String(leadId), back: '/admin/works' });
    assert.match(text(noDeadline.body), /Работа не запланирована: укажите срок/);
    const twoRecords = await c.submit('/admin/works', { actionId: String(callId), deadline: '2030-01-10T10:00', leadId: String(leadId), counterpartyId: String(cpA), back: '/admin/works' });
    assert.match(text(twoRecords.body), /на одной записи/);
    // «back» never leaves the panel
    const evil = await c.post('/admin/works', { actionId: String(callId), deadline: '', leadId: String(leadId), back: 'https://evil.example/' });
    assert.equal(evil.headers.location, '/admin');
    assert.equal((await worksOfLead()).length, 1);
  });

  test('another segment\'s manager cannot plan, see, complete, move, cancel or follow up Петров\'s works', async () => {
    const [work] = await worksOfLead();
    const c = await signedIn(sidorov);
    const plan = await c.submit('/admin/works', { actionId: String(callId), deadline: '2030-01-11T10:00', leadId: String(leadId), back: '/admin/works' });
    assert.match(text(plan.body), /Работа не запланирована: Этот лид вам недоступен/);
    for (const [url, form] of [
      [`/admin/works/${work!.id}/complete`, { resultId: String(resultId) }],
      [`/admin/works/${work!.id}/reschedule`, { deadline: '2030-02-01T10:00' }],
      [`/admin/works/${work!.id}/cancel`, { reason: 'чужая' }],
      [`/admin/works/${work!.id}/follow-up`, { actionId: String(callId), deadline: '2030-02-01T10:00' }],
    ] as const) {
      const res = await c.post(url, { ...form, back: '/admin/works' });
      assert.equal(res.statusCode, 303, url);
      assert.match(text((await c.get(res.headers.location as string)).body), /недоступна/, url);
    }
    assert.equal((await c.get(`/admin/works/${work!.id}/follow-up`)).statusCode, 403);
    assert.doesNotMatch(text((await c.get('/admin/works')).body), /Telegram: Мария/);
    const after = await getWork(a.world.system, work!.id);
    assert.equal(after.status, 'planned');
    assert.equal(after.deadline.toISOString(), work!.deadline.toISOString());
    assert.equal((await worksOfLead()).length, 1);
  });

  test('«На основании текущей»: the form is prefilled and creates a linked work', async () => {
    const [work] = await worksOfLead();
    const c = await signedIn(petrov);
    const form = await c.get(`/admin/works/${work!.id}/follow-up?back=${encodeURIComponent(`/admin/leads/${leadId}`)}`);
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /value="2030-01-10T10:00"/);
    assert.match(form.body, />Перезвонить вечером<\/textarea>/);
    const res = await c.post(`/admin/works/${work!.id}/follow-up`, { actionId: String(callId), deadline: '2030-01-17T11:30', comment: 'Второй звонок', back: '/admin/works' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/works');
    const next = (await worksOfLead()).find((x) => x.basedOnId === work!.id);
    assert.ok(next);
    assert.equal(next.leadId, leadId);
    assert.equal(next.comment, 'Второй звонок');
    assert.equal(next.deadline.toISOString(), localTimeInZone('2030-01-17', 11, 30, 'Europe/Moscow').toISOString());
    // a bad deadline returns to the form with the reason
    const bad = await c.post(`/admin/works/${work!.id}/follow-up`, { actionId: String(callId), deadline: 'завтра', back: '/admin/works' });
    assert.match(String(bad.headers.location), new RegExp(`^/admin/works/${work!.id}/follow-up`));
    assert.match(text((await c.get(bad.headers.location as string)).body), /укажите срок/);
  });

  test('reschedule, cancel with a reason and complete from «Мои работы»; the head filters by manager and sees who did it', async () => {
    const c = await signedIn(petrov);
    const [first, second] = await worksOfLead();
    const moved = await c.submit(`/admin/works/${first!.id}/reschedule`, { deadline: '2030-03-02T09:15', comment: 'Попросили позже', back: '/admin/works' });
    assert.match(text(moved.body), /Срок работы №\d+ перенесён/);
    assert.equal((await getWork(a.world.system, first!.id)).deadline.toISOString(), localTimeInZone('2030-03-02', 9, 15, 'Europe/Moscow').toISOString());

    const noReason = await c.submit(`/admin/works/${second!.id}/cancel`, { reason: '', back: '/admin/works' });
    assert.match(text(noReason.body), /Работа не отменена: укажите причину отмены/);
    assert.equal((await getWork(a.world.system, second!.id)).status, 'planned');
    await c.submit(`/admin/works/${second!.id}/cancel`, { reason: 'Клиент ответил в чате', back: '/admin/works' });
    assert.equal((await getWork(a.world.system, second!.id)).cancelReason, 'Клиент ответил в чате');

    const h = await signedIn(head);
    const team = await h.get(`/admin/works?responsibleId=${petrov.id}`);
    assert.match(text(team.body), /Telegram: Мария/);
    assert.match(team.body, /Менеджер/);
    const others = await h.get(`/admin/works?responsibleId=${sidorov.id}`);
    assert.doesNotMatch(text(others.body), /Telegram: Мария/);
    const done = await h.submit(`/admin/works/${first!.id}/complete`, { resultId: String(resultId), comment: 'Сделал сам', back: `/admin/works?responsibleId=${petrov.id}` });
    assert.match(text(done.body), /выполнена/);
    assert.equal((await getWork(a.world.system, first!.id)).completedBy, head.id);
    const finished = text((await h.get(`/admin/works?view=done&responsibleId=${petrov.id}`)).body);
    assert.match(finished, /Выполнил\(а\): Руководитель/);
    assert.match(finished, /Причина отмены: Клиент ответил в чате/);
    assert.match(finished, /Отменил\(а\): Петров/);
    // a manager has no filter: their own list whatever the query says
    const own = await c.get(`/admin/works?responsibleId=${sidorov.id}`);
    assert.doesNotMatch(own.body, /id="f-resp"/);
  });

  test('the «Работы» block of a card renders from worksBlock with the page\'s formatters and CSRF token', async () => {
    const ctx = a.world.as(petrov);
    const data = await worksBlock(ctx, { adminUser: petrov } as unknown as FastifyRequest, { leadId }, `/admin/leads/${leadId}?tab=works`);
    const views = path.join(path.dirname(fileURLToPath(import.meta.url)), '../admin/views');
    const eta = new Eta({ views, autoFilter: true, filterFunction: (v: unknown) => (v === null || v === undefined ? '' : String(v)) });
    const html = await eta.renderAsync('/partials/works-block', { f: formatters('Europe/Moscow'), csrf: 'token-1', ...data });
    assert.match(html, /name="_csrf" value="token-1"/);
    assert.match(html, new RegExp(`name="leadId" value="${leadId}"`));
    assert.match(html, /Запланировать работу/);
    assert.match(html, /Причина отмены: Клиент ответил в чате/);
    assert.match(html, /Выполнил\(а\): Руководитель/);
    assert.match(html, new RegExp(`value="/admin/leads/${leadId}\\?tab=works"`));
  });
});
