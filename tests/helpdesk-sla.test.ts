import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { openTestServices } from './helpers/services.js';
import { fixedClock } from './helpers/world.js';
import { inTransaction, systemActor, type ServiceContext } from '../core/context.js';
import type { Services } from '../core/services.js';
import type { JobQueue } from '../core/jobs/queue.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createUser, updateUser, userActor, type User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { auditLog, historyEvents, tickets } from '../core/db/schema/index.js';
import { addWorkingMinutes, workingMinutesBetween, type WorkCalendar } from '../core/helpdesk/calendar.js';
import { getHelpdeskSettings, loadCalendar, nextInSupportQueue, saveHelpdeskSettings, setCalendarDay, setSupportQueue } from '../core/helpdesk/settings.js';
import { helpdeskTick, pauseResolution, resumeResolution, slaTimes } from '../core/helpdesk/sla.js';
import { ticketReport } from '../core/helpdesk/report.js';
import { ServiceError } from '../core/errors.js';
import type { Ticket } from '../core/helpdesk/types.js';
import { randomInn } from './helpers/world.js';

const MSK = 'Europe/Moscow';
const YEKT = 'Asia/Yekaterinburg';
const at = (iso: string) => new Date(iso);
const week = (exceptions: [string, boolean][] = []): WorkCalendar => ({ workDays: [1, 2, 3, 4, 5], dayStartMinute: 540, dayEndMinute: 1080, exceptions: new Map(exceptions) });

describe('working calendar arithmetic', () => {
  test('Friday evening + 60 working minutes is Monday 10:00; Friday 17:30 + 60 is Monday 9:30', () => {
    // Friday 27 November 2026, 18:30 in Moscow
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-27T15:30:00Z'), 60).toISOString(), '2026-11-30T07:00:00.000Z');
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-27T14:30:00Z'), 60).toISOString(), '2026-11-30T06:30:00.000Z');
    assert.equal(workingMinutesBetween(week(), MSK, at('2026-11-27T14:30:00Z'), at('2026-11-30T07:00:00Z')), 90);
    // before the day starts the clock waits for 9:00
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-25T03:00:00Z'), 30).toISOString(), '2026-11-25T06:30:00.000Z');
    assert.equal(workingMinutesBetween(week(), MSK, at('2026-11-30T07:00:00Z'), at('2026-11-27T14:30:00Z')), 0);
  });

  test('a holiday is skipped and a moved working Saturday counts', () => {
    // Tuesday 3 November 17:00 + 120: 60 on Tuesday, Wednesday 4 November is a holiday, 60 on Thursday → 10:00
    const holiday = week([['2026-11-04', false]]);
    assert.equal(addWorkingMinutes(holiday, MSK, at('2026-11-03T14:00:00Z'), 120).toISOString(), '2026-11-05T07:00:00.000Z');
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-03T14:00:00Z'), 120).toISOString(), '2026-11-04T07:00:00.000Z');
    assert.equal(workingMinutesBetween(holiday, MSK, at('2026-11-03T14:00:00Z'), at('2026-11-05T07:00:00Z')), 120);
    // Friday 17:00 + 120 with Saturday 28 November worked: Saturday 10:00, not Monday
    const saturday = week([['2026-11-28', true]]);
    assert.equal(addWorkingMinutes(saturday, MSK, at('2026-11-27T14:00:00Z'), 120).toISOString(), '2026-11-28T07:00:00.000Z');
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-27T14:00:00Z'), 120).toISOString(), '2026-11-30T07:00:00.000Z');
    // a week-long target crosses the weekend: 5 working days of 540 minutes from Monday 9:00 end on Friday 18:00
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-23T06:00:00Z'), 5 * 540).toISOString(), '2026-11-27T15:00:00.000Z');
  });

  test('the same instant in Yekaterinburg and in Moscow: each reads its own hours', () => {
    // Friday 15:30Z is 20:30 in Yekaterinburg and 18:30 in Moscow: both wait for Monday 10:00 local
    assert.equal(addWorkingMinutes(week(), YEKT, at('2026-11-27T15:30:00Z'), 60).toISOString(), '2026-11-30T05:00:00.000Z');
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-27T15:30:00Z'), 60).toISOString(), '2026-11-30T07:00:00.000Z');
    // Wednesday 05:00Z: 10:00 in Yekaterinburg (working), 08:00 in Moscow (not yet)
    assert.equal(addWorkingMinutes(week(), YEKT, at('2026-11-25T05:00:00Z'), 60).toISOString(), '2026-11-25T06:00:00.000Z');
    assert.equal(addWorkingMinutes(week(), MSK, at('2026-11-25T05:00:00Z'), 60).toISOString(), '2026-11-25T07:00:00.000Z');
  });

  test('a DST change keeps the wall-clock hours', () => {
    // Berlin goes to summer time on Sunday 29 March 2026: Friday 17:30 CET + 60 → Monday 9:30 CEST (07:30Z)
    assert.equal(addWorkingMinutes(week(), 'Europe/Berlin', at('2026-03-27T16:30:00Z'), 60).toISOString(), '2026-03-30T07:30:00.000Z');
    assert.equal(workingMinutesBetween(week(), 'Europe/Berlin', at('2026-03-27T16:30:00Z'), at('2026-03-30T07:30:00Z')), 60);
  });

  test('on the day of the change itself the hours stay 9–18 local, and a round-the-clock day is 23 or 25 hours long', () => {
    const everyDay = (start = 540, end = 1080): WorkCalendar => ({ workDays: [1, 2, 3, 4, 5, 6, 7], dayStartMinute: start, dayEndMinute: end, exceptions: new Map() });
    // spring: Saturday 17:30 CET + 60 → Sunday 29 March 9:30 CEST (07:30Z), not 10:30
    assert.equal(addWorkingMinutes(everyDay(), 'Europe/Berlin', at('2026-03-28T16:30:00Z'), 60).toISOString(), '2026-03-29T07:30:00.000Z');
    // autumn: Saturday 17:30 CEST + 60 → Sunday 25 October 9:30 CET (08:30Z), not 8:30
    assert.equal(addWorkingMinutes(everyDay(), 'Europe/Berlin', at('2026-10-24T15:30:00Z'), 60).toISOString(), '2026-10-25T08:30:00.000Z');
    assert.equal(workingMinutesBetween(everyDay(), 'Europe/Berlin', at('2026-10-24T22:00:00Z'), at('2026-10-25T23:00:00Z')), 540);
    // 00:00–24:00: the spring Sunday has 23 hours, the autumn one 25
    assert.equal(workingMinutesBetween(everyDay(0, 1440), 'Europe/Berlin', at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')), 23 * 60);
    assert.equal(workingMinutesBetween(everyDay(0, 1440), 'Europe/Berlin', at('2026-10-24T22:00:00Z'), at('2026-10-25T23:00:00Z')), 25 * 60);
    // a day starting in the skipped hour (02:30 does not exist on 29 March) starts at 03:30 CEST
    assert.equal(addWorkingMinutes(everyDay(150, 1080), 'Europe/Berlin', at('2026-03-28T22:00:00Z'), 1).toISOString(), '2026-03-29T01:31:00.000Z');
  });
});

describe('HelpDesk SLA clock, settings and report', () => {
  // Wednesday 25 November 2026, 07:00Z: 10:00 in Moscow, 12:00 in Yekaterinburg
  const clock = fixedClock('2026-11-25T07:00:00Z');
  let s: Services;
  let sent: Notification[];
  let jobs: JobQueue;
  let admin: User, head: User, ivanov: User, petrova: User, gone: User;
  let cpId: number;

  /** The real queue, with the notices it is given written down. */
  const ctx = (actor = systemActor('обращения')): ServiceContext => ({ ...s.ctx(actor), jobs });
  const as = (u: User) => ctx(userActor(u));
  const noticesFor = (ticketId: number) => sent.filter((n) => n.ticketId === ticketId);

  async function insertTicket(values: Partial<Ticket> & { assigneeId: number | null; createdAt: Date }): Promise<Ticket> {
    const times = await slaTimes(ctx(), values.priority ?? 'normal', values.assigneeId, values.createdAt);
    const [row] = await s.database.db
      .insert(tickets)
      .values({ subject: 'Не работает касса', channel: 'telegram', counterpartyId: cpId, ...times, ...values, updatedAt: values.createdAt })
      .returning();
    return row!;
  }

  before(async () => {
    s = await openTestServices({}, { clock });
    sent = [];
    const real = s.jobs;
    jobs = new Proxy(real, {
      get(target, prop) {
        if (prop === 'add') {
          return async (name: string, data: unknown, opts?: Parameters<JobQueue['add']>[2]) => {
            if (name === NOTIFY_JOB) sent.push(data as Notification);
            return target.add(name, data, opts);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const sys = s.ctx(systemActor('test'));
    admin = await createUser(sys, { email: 'admin@hd.test', name: 'Админ', role: 'admin', password: 'password123' });
    head = await createUser(sys, { email: 'head@hd.test', name: 'Руководитель', role: 'head', password: 'password123', timeZone: MSK });
    ivanov = await createUser(sys, { email: 'ivanov@hd.test', name: 'Иванов', role: 'manager', password: 'password123', timeZone: YEKT });
    petrova = await createUser(sys, { email: 'petrova@hd.test', name: 'Петрова', role: 'manager', password: 'password123', timeZone: MSK });
    gone = await createUser(sys, { email: 'gone@hd.test', name: 'Уволенный', role: 'manager', password: 'password123' });
    cpId = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Альфа', inn: randomInn('legal_entity') })).id;
  });
  after(() => s.close());

  test('settings: defaults from the migration, saved by a head, refused to a manager, bad hours named', async () => {
    const got = await getHelpdeskSettings(as(petrova));
    assert.deepEqual(got.workDays, [1, 2, 3, 4, 5]);
    assert.equal(got.dayStartMinute, 540);
    assert.deepEqual(got.sla.normal, { firstResponseMinutes: 240, resolutionMinutes: 1440 });
    const { days: _d, queue: _q, ...input } = got;
    await assert.rejects(saveHelpdeskSettings(as(petrova), input), (e) => e instanceof ServiceError && e.code === 'forbidden');
    await assert.rejects(
      saveHelpdeskSettings(as(head), { ...input, dayStartMinute: 1000, dayEndMinute: 900 }),
      (e) => e instanceof ServiceError && e.code === 'invalid' && 'dayEndMinute' in e.fields,
    );
    const saved = await saveHelpdeskSettings(as(head), { ...input, sla: { ...input.sla, low: { firstResponseMinutes: 600, resolutionMinutes: null } } });
    assert.deepEqual(saved.sla.low, { firstResponseMinutes: 600, resolutionMinutes: null });

    await setCalendarDay(as(head), '2026-12-31', false, 'Новый год');
    await setCalendarDay(as(head), '2026-12-26', true, 'Перенос');
    assert.deepEqual((await loadCalendar(ctx())).exceptions, new Map([['2026-12-26', true], ['2026-12-31', false]]));
    await setCalendarDay(as(head), '2026-12-26', null);
    assert.deepEqual((await getHelpdeskSettings(as(head))).days, [{ day: '2026-12-31', working: false, note: 'Новый год' }]);
    await assert.rejects(setCalendarDay(as(head), '2026-02-30', false), (e) => e instanceof ServiceError && 'day' in e.fields);

    // the trail files every change under the settings' own record, by who made it
    const trail = await s.database.db.select().from(auditLog).where(and(eq(auditLog.entityType, 'helpdesk_settings'), eq(auditLog.entityId, 1))).orderBy(auditLog.id);
    assert.deepEqual(
      trail.map((r) => [r.action, r.actorUserId]),
      [['update', head.id], ['calendar_day', head.id], ['calendar_day', head.id], ['calendar_day', head.id]],
    );
    assert.deepEqual(trail[0]!.changes, { sla: { from: input.sla, to: { ...input.sla, low: { firstResponseMinutes: 600, resolutionMinutes: null } } } });
  });

  test('the support queue gives tickets in turn, to active users only', async () => {
    await assert.rejects(setSupportQueue(as(petrova), [ivanov.id]), (e) => e instanceof ServiceError && e.code === 'forbidden');
    await setSupportQueue(as(admin), [petrova.id, ivanov.id, gone.id]);
    await updateUser(s.ctx(userActor(admin)), gone.id, { active: false });
    const order: (number | null)[] = [];
    for (let i = 0; i < 4; i++) {
      clock.set(new Date(Date.parse('2026-11-25T07:00:00Z') + i * 1000));
      order.push(await nextInSupportQueue(ctx()));
    }
    // nobody has taken one yet: by id, then whoever waited longest
    assert.deepEqual(order, [ivanov.id, petrova.id, ivanov.id, petrova.id]);
    await setSupportQueue(as(admin), []);
    assert.equal(await nextInSupportQueue(ctx()), null);
    clock.set('2026-11-25T07:00:00Z');
  });

  test("an unassigned ticket keeps the team's hours (config TIME_ZONE, carried by the context), an assignee's own zone wins", async () => {
    assert.equal(s.ctx().timeZone, 'Europe/Moscow');
    assert.equal(await inTransaction(ctx(), async (tx) => tx.timeZone), 'Europe/Moscow');
    // Wednesday 17:00 in Moscow (one working hour left), 19:00 in Yekaterinburg (the day is over)
    const from = at('2026-11-25T14:00:00Z');
    assert.equal((await slaTimes(ctx(), 'normal', null, from)).firstResponseDueAt!.toISOString(), '2026-11-26T09:00:00.000Z');
    const yekt = { ...ctx(), timeZone: YEKT };
    assert.equal((await slaTimes(yekt, 'normal', null, from)).firstResponseDueAt!.toISOString(), '2026-11-26T08:00:00.000Z');
    assert.equal((await slaTimes(yekt, 'normal', petrova.id, from)).firstResponseDueAt!.toISOString(), '2026-11-26T09:00:00.000Z');
  });

  test('a ticket: nothing before the warning, one warning to the assignee, one breach to the head and the assignee, nothing twice', async () => {
    clock.set('2026-11-25T07:00:00Z');
    // normal: first answer in 240 working minutes, warned at 80 % (192); Иванов works 9–18 Yekaterinburg (04:00–13:00Z)
    const t = await insertTicket({ assigneeId: ivanov.id, createdAt: clock.now() });
    assert.equal(t.firstResponseDueAt!.toISOString(), '2026-11-25T11:00:00.000Z');
    assert.equal(t.firstResponseWarnAt!.toISOString(), '2026-11-25T10:12:00.000Z');
    // 1440: 360 left on Wednesday, 540 on Thursday, 540 on Friday → Friday 18:00 local
    assert.equal(t.resolutionDueAt!.toISOString(), '2026-11-27T13:00:00.000Z');
    // an answered ticket created at the same time is never warned
    const answered = await insertTicket({ assigneeId: ivanov.id, createdAt: clock.now(), firstResponseAt: at('2026-11-25T07:30:00Z'), status: 'in_progress' });

    clock.set('2026-11-25T10:11:00Z');
    await helpdeskTick(ctx());
    assert.deepEqual(noticesFor(t.id), []);

    clock.set('2026-11-25T10:12:00Z');
    await helpdeskTick(ctx());
    assert.deepEqual(
      noticesFor(t.id).map((n) => [n.kind, n.userId, n.text]),
      [['ticket_sla_warning', ivanov.id, `До срока ответа по обращению №${t.id} («Не работает касса», ООО Альфа) осталось 48 мин`]],
    );
    clock.set('2026-11-25T10:40:00Z');
    await helpdeskTick(ctx());
    assert.equal(noticesFor(t.id).length, 1);

    clock.set('2026-11-25T11:00:00Z');
    await helpdeskTick(ctx());
    const breach = noticesFor(t.id).filter((n) => n.kind === 'ticket_sla_breach');
    assert.deepEqual(
      breach.map((n) => [n.userId, n.text]).sort(),
      [
        [head.id, `Обращение №${t.id} просрочено: нет первого ответа (срок был 14:00)`],
        [ivanov.id, `Обращение №${t.id} просрочено: нет первого ответа (срок был 16:00)`],
      ].sort(),
    );
    // the admin is not told while a head is there
    assert.ok(!breach.some((n) => n.userId === admin.id));
    clock.set('2026-11-25T11:30:00Z');
    await helpdeskTick(ctx());
    assert.equal(noticesFor(t.id).length, 3);
    assert.deepEqual(noticesFor(answered.id), []);

    const [row] = await s.database.db.select().from(tickets).where(eq(tickets.id, t.id));
    assert.ok(row!.firstResponseWarnedAt && row!.firstResponseBreachedAt);
    assert.equal(row!.resolutionWarnedAt, null);
  });

  test('«Ждём клиента» pauses the resolution clock and resumes with the minutes left; a long wait closes the ticket', async () => {
    clock.set('2026-11-25T07:00:00Z');
    const t = await insertTicket({ assigneeId: petrova.id, createdAt: clock.now(), firstResponseAt: at('2026-11-25T07:10:00Z'), status: 'in_progress' });
    // Moscow 10:00 + 1440 → Friday 16:00 MSK
    assert.equal(t.resolutionDueAt!.toISOString(), '2026-11-27T13:00:00.000Z');
    // waiting from Wednesday 12:00 MSK: 1440 − 120 = 1320 working minutes left
    const paused = await pauseResolution(ctx(), t, at('2026-11-25T09:00:00Z'));
    assert.deepEqual(paused, { resolutionPausedMinutes: 1320, resolutionDueAt: null, resolutionWarnAt: null });
    const resumed = await resumeResolution(ctx(), { ...t, ...paused }, at('2026-11-30T06:00:00Z'));
    // from Monday 9:00 MSK: 540 + 540 + 240 → Wednesday 13:00 MSK; warned when 288 (20 % of 1440) are left,
    // 1032 after Monday 9:00: 540 on Monday + 492 → Tuesday 17:12 MSK
    assert.equal(resumed.resolutionDueAt!.toISOString(), '2026-12-02T10:00:00.000Z');
    assert.equal(resumed.resolutionWarnAt!.toISOString(), '2026-12-01T14:12:00.000Z');
    assert.equal(resumed.resolutionPausedMinutes, null);

    const since = at('2026-11-25T09:00:00Z');
    await s.database.db.update(tickets).set({ ...paused, status: 'waiting', waitingSince: since }).where(eq(tickets.id, t.id));
    clock.set(new Date(since.getTime() + 72 * 3_600_000 - 60_000));
    await helpdeskTick(ctx());
    assert.equal((await s.database.db.select().from(tickets).where(eq(tickets.id, t.id)))[0]!.status, 'waiting');
    clock.set(new Date(since.getTime() + 72 * 3_600_000));
    await helpdeskTick(ctx());
    const [closed] = await s.database.db.select().from(tickets).where(eq(tickets.id, t.id));
    assert.equal(closed!.status, 'closed');
    assert.equal(closed!.closedAt!.toISOString(), clock.now().toISOString());
    const history = await s.database.db
      .select()
      .from(historyEvents)
      .where(and(eq(historyEvents.entityType, 'ticket'), eq(historyEvents.entityId, t.id)));
    assert.ok(history.some((h) => h.summary.includes('закрыто: клиент не ответил за 72 ч')), JSON.stringify(history));
    // a waiting ticket was never told of a resolution breach: its clock was stopped
    assert.ok(!noticesFor(t.id).some((n) => n.text.includes('не решено')));

    // «Решено» closes itself after 168 hours
    const solvedAt = at('2026-11-26T07:00:00Z');
    const done = await insertTicket({ assigneeId: petrova.id, createdAt: at('2026-11-25T07:00:00Z'), firstResponseAt: at('2026-11-25T07:10:00Z'), status: 'solved', solvedAt });
    clock.set(new Date(solvedAt.getTime() + 167 * 3_600_000));
    await helpdeskTick(ctx());
    assert.equal((await s.database.db.select().from(tickets).where(eq(tickets.id, done.id)))[0]!.status, 'solved');
    clock.set(new Date(solvedAt.getTime() + 168 * 3_600_000));
    await helpdeskTick(ctx());
    assert.equal((await s.database.db.select().from(tickets).where(eq(tickets.id, done.id)))[0]!.status, 'closed');
  });

  test('the report: medians of the first answer and the resolution in working minutes, counted by hand', async () => {
    const mk = (v: Partial<Ticket> & { createdAt: Date }) => insertTicket({ assigneeId: v.assigneeId ?? petrova.id, ...v });
    // now: Tuesday 8 December, 10:00 in Moscow
    clock.set('2026-12-08T07:00:00Z');
    // Петрова (Moscow) in December:
    // A: Tuesday 1 Dec 10:00 → answered 10:30 (30), solved 16:00 (360), rated 5
    await mk({ createdAt: at('2026-12-01T07:00:00Z'), firstResponseAt: at('2026-12-01T07:30:00Z'), solvedAt: at('2026-12-01T13:00:00Z'), status: 'solved', rating: 5, ratedAt: at('2026-12-01T14:00:00Z') });
    // B: Friday 4 Dec 17:30 → answered Monday 9:45 (30 + 45 = 75), in work (resolution due Wednesday: not late yet)
    await mk({ createdAt: at('2026-12-04T14:30:00Z'), firstResponseAt: at('2026-12-07T06:45:00Z'), status: 'in_progress' });
    // C: Thursday 3 Dec 9:00 → answered 12:00 (180), solved Friday 11:00 (540 + 120 = 660), rated 4
    await mk({ createdAt: at('2026-12-03T06:00:00Z'), firstResponseAt: at('2026-12-03T09:00:00Z'), solvedAt: at('2026-12-04T08:00:00Z'), status: 'solved', rating: 4, ratedAt: at('2026-12-04T09:00:00Z') });
    // D: Monday 7 Dec 10:00, never answered: overdue now (due 14:00 on the 7th)
    await mk({ createdAt: at('2026-12-07T07:00:00Z') });
    // Иванов: one in December, unanswered
    await mk({ assigneeId: ivanov.id, createdAt: at('2026-12-07T05:00:00Z') });

    const period = { from: at('2026-11-30T21:00:00Z'), to: at('2026-12-31T21:00:00Z') };
    const all = await ticketReport(as(head), period);
    const p = all.rows.find((r) => r.assigneeId === petrova.id)!;
    assert.deepEqual(
      { created: p.created, open: p.open, overdue: p.overdue, solved: p.solved, first: p.medianFirstResponseMinutes, resolution: p.medianResolutionMinutes, rating: p.averageRating, rated: p.rated },
      // first answers 30, 75, 180 → 75; resolutions 360, 660 → 510; ratings 5, 4 → 4.5
      { created: 4, open: 2, overdue: 1, solved: 2, first: 75, resolution: 510, rating: 4.5, rated: 2 },
    );
    assert.ok(all.rows.some((r) => r.assigneeId === ivanov.id));
    assert.ok(all.total.created >= 5);

    const mine = await ticketReport(as(petrova), period);
    assert.deepEqual(mine.rows.map((r) => r.assigneeId), [petrova.id]);
    assert.equal(mine.rows[0]!.medianFirstResponseMinutes, 75);
    assert.equal(mine.total.created, 4);
    await assert.rejects(ticketReport(as(petrova), { ...period, assigneeId: ivanov.id }), (e) => e instanceof ServiceError && e.code === 'forbidden');
  });
});
