import { and, asc, eq, isNotNull, lt } from 'drizzle-orm';
import { afterCommit, systemActor, type ServiceContext } from '../context.js';
import type { Services } from '../services.js';
import { actions, users, works } from '../db/schema/index.js';
import { subjectText, workSubjects } from './subjects.js';
import { notify } from '../notifications/notify.js';
import { dateInZone, formatInZone, startOfDayInZone } from '../validation/time.js';

export const WORK_REMIND_JOB = 'work.remind';
export const WORK_DIGEST_JOB = 'works.digest';

/** After a work is planned: a reminder shortly before its deadline (a new deadline gets a new one). */
export async function scheduleWorkReminder(ctx: ServiceContext, work: { id: number; deadline: Date }, minutesBefore = 30): Promise<void> {
  const delayMs = work.deadline.getTime() - minutesBefore * 60_000 - ctx.clock.now().getTime();
  if (delayMs < -minutesBefore * 60_000) return; // already past its deadline
  await afterCommit(ctx, () =>
    ctx.jobs.add(WORK_REMIND_JOB, { workId: work.id, deadline: work.deadline.toISOString() }, { jobId: `work:${work.id}:remind:${work.deadline.getTime()}`, delayMs: Math.max(0, delayMs), attempts: 3, backoff: { type: 'exponential', delayMs: 5000 } }),
  );
}

async function describe(ctx: ServiceContext, workId: number) {
  const [row] = await ctx.db
    .select({ work: works, action: actions.name })
    .from(works)
    .innerJoin(actions, eq(actions.id, works.actionId))
    .where(eq(works.id, workId));
  if (!row) return undefined;
  // a messenger lead's work has no counterparty: the lead or the person names it
  const subject = (await workSubjects(ctx, [row.work]))[row.work.id];
  return { ...row, client: subjectText(subject) };
}

export function registerWorkJobs(services: Services): void {
  const { jobs, config } = services;
  jobs.process<{ workId: number; deadline: string }>(WORK_REMIND_JOB, async (job) => {
    const ctx = services.ctx(systemActor('напоминания'));
    const row = await describe(ctx, job.data.workId);
    // done, cancelled or moved since it was scheduled: nothing to remind
    if (!row || row.work.status !== 'planned' || row.work.deadline.toISOString() !== job.data.deadline) return 'stale';
    const [u] = await ctx.db.select({ tz: users.timeZone }).from(users).where(eq(users.id, row.work.responsibleId));
    await notify(ctx, {
      kind: 'work_due',
      userId: row.work.responsibleId,
      workId: row.work.id,
      leadId: row.work.leadId ?? undefined,
      text: `Скоро срок работы №${row.work.id}: ${row.action} — ${row.client}, до ${formatInZone(row.work.deadline, u?.tz)}${row.work.comment ? `\n${row.work.comment}` : ''}`,
      dedupeKey: `work:${row.work.id}:due:${job.data.deadline}`,
    });
    return 'sent';
  });

  // Every 10 minutes: whoever has reached their digest hour today and has not had it gets it.
  jobs.process(WORK_DIGEST_JOB, async () => {
    const ctx = services.ctx(systemActor('сводка дня'));
    const people = await ctx.db
      .select({ id: users.id, tz: users.timeZone })
      .from(users)
      .where(and(eq(users.active, true), isNotNull(users.telegramId)));
    let sent = 0;
    for (const p of people) {
      const now = ctx.clock.now();
      const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: p.tz, hour: '2-digit', hourCycle: 'h23' }).format(now));
      if (hour < config.WORK_DIGEST_HOUR) continue;
      const today = dateInZone(now, p.tz);
      const tomorrow = startOfDayInZone(dateInZone(new Date(now.getTime() + 86_400_000), p.tz), p.tz);
      const rows = await ctx.db
        .select({ work: works, action: actions.name })
        .from(works)
        .innerJoin(actions, eq(actions.id, works.actionId))
        .where(and(eq(works.responsibleId, p.id), eq(works.status, 'planned'), lt(works.deadline, tomorrow)))
        .orderBy(asc(works.deadline))
        .limit(50);
      if (!rows.length) continue;
      const subjects = await workSubjects(ctx, rows.map((r) => r.work));
      const due = rows.map((r) => ({ id: r.work.id, deadline: r.work.deadline, action: r.action, client: subjectText(subjects[r.work.id]) }));
      const overdue = due.filter((w) => w.deadline < now).length;
      const lines = due.slice(0, 15).map((w) => `• ${formatInZone(w.deadline, p.tz)} — ${w.action}, ${w.client}${w.deadline < now ? ' (просрочена)' : ''}`);
      await notify(ctx, {
        kind: 'work_digest',
        userId: p.id,
        text: `Работы на сегодня: ${due.length}${overdue ? `, просрочено: ${overdue}` : ''}\n${lines.join('\n')}${due.length > 15 ? `\n…и ещё ${due.length - 15}. Все: /works` : '\nВсе: /works'}`,
        dedupeKey: `digest:${today}`,
      });
      sent++;
    }
    return { sent };
  });
}

/** The digest check runs every 10 minutes in the worker role. */
export async function scheduleWorkDigest(services: Services): Promise<void> {
  await services.jobs.upsertRepeatable('works-digest', WORK_DIGEST_JOB, {}, 10 * 60_000);
}
