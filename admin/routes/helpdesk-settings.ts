import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getHelpdeskSettings, saveHelpdeskSettings, setCalendarDay, setSupportQueue, type SlaTarget } from '../../core/helpdesk/settings.js';
import { ticketPriorityLabels } from '../../core/helpdesk/labels.js';
import { ticketPriorities, type TicketPriority } from '../../core/helpdesk/types.js';
import { listUsers } from '../../core/users/users.js';
import { body, type FormBody } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

const PAGE = '/admin/helpdesk';

/** ISO weekdays, Monday first, as the calendar stores them. */
const weekdays = [
  { value: 1, label: 'Пн', name: 'понедельник' },
  { value: 2, label: 'Вт', name: 'вторник' },
  { value: 3, label: 'Ср', name: 'среда' },
  { value: 4, label: 'Чт', name: 'четверг' },
  { value: 5, label: 'Пт', name: 'пятница' },
  { value: 6, label: 'Сб', name: 'суббота' },
  { value: 7, label: 'Вс', name: 'воскресенье' },
];

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** «05.01.2027, вторник»: a calendar date has no time zone, so it is read as written, never through a Date in the user's zone. */
function dayLabel(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const iso = ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
  return `${String(d).padStart(2, '0')}.${String(m).padStart(2, '0')}.${y}, ${weekdays[iso - 1]!.name}`;
}

/** ЧЧ:ММ as minutes from midnight; the end of the day may be 24:00 (work until midnight). */
const timeOfDay = (what: string, midnightAllowed = false) =>
  z.string(`укажите ${what}`).transform((s, c) => {
    const v = s.trim();
    if (midnightAllowed && v === '24:00') return 24 * 60;
    const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(v);
    if (!m) {
      c.addIssue({ code: 'custom', message: `${what}: время в виде ЧЧ:ММ, например 09:00` });
      return z.NEVER;
    }
    return Number(m[1]) * 60 + Number(m[2]);
  });

const wholeNumber = (what: string, min: number, max: number, unit: string) =>
  z.string(`укажите ${what}`).transform((s, c) => {
    const v = s.trim();
    const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) {
      c.addIssue({ code: 'custom', message: `${what}: целое число от ${min} до ${max}${unit}` });
      return z.NEVER;
    }
    return n;
  });

const checkedNumbers = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => [v ?? []].flat().filter((s) => /^\d{1,10}$/.test(s)).map(Number));

// the SLA cells: hours and minutes per priority and target; both empty = no target
const slaCell = (p: TicketPriority, target: 'first' | 'res') => `sla_${p}_${target}`;
const slaShape = Object.fromEntries(
  ticketPriorities.flatMap((p) => (['first', 'res'] as const).flatMap((t) => [`${slaCell(p, t)}_h`, `${slaCell(p, t)}_m`])).map((k) => [k, z.string().optional()]),
);

/** A target typed as hours and minutes: null when both are empty; `problem` when it is not a sensible duration. */
function slaMinutes(hours: string | undefined, minutes: string | undefined): number | null | { problem: string } {
  const h = (hours ?? '').trim();
  const m = (minutes ?? '').trim();
  if (h === '' && m === '') return null;
  if ((h !== '' && !/^\d{1,4}$/.test(h)) || (m !== '' && !/^\d{1,2}$/.test(m))) return { problem: 'часы и минуты — целые числа' };
  const total = Number(h || 0) * 60 + Number(m || 0);
  if (m !== '' && Number(m) > 59) return { problem: 'минут не больше 59' };
  if (total === 0) return { problem: 'срок не может быть нулевым; оставьте поля пустыми, если срока нет' };
  return total;
}

const targetNames = { first: 'первый ответ', res: 'решение' } as const;

// the verb checks again; the form turns boxes, ЧЧ:ММ and hours-and-minutes into the settings' numbers
const settingsForm = z
  .object({
    workDays: checkedNumbers,
    dayStart: timeOfDay('начало рабочего дня'),
    dayEnd: timeOfDay('конец рабочего дня', true),
    // 100 % would warn at the very moment of the breach notice: no warning at all
    warnAtPercent: wholeNumber('предупреждение о сроке', 1, 99, ' %'),
    waitingCloseHours: wholeNumber('закрытие «Ждём клиента»', 1, 8760, ' ч'),
    solvedCloseHours: wholeNumber('закрытие «Решено»', 1, 8760, ' ч'),
    ...slaShape,
  })
  .transform((f, c) => {
    const workDays = [...new Set(f.workDays)].filter((d) => d >= 1 && d <= 7).sort((a, b) => a - b);
    if (!workDays.length) c.addIssue({ code: 'custom', path: ['workDays'], message: 'отметьте хотя бы один рабочий день' });
    if (f.dayEnd <= f.dayStart) c.addIssue({ code: 'custom', path: ['dayEnd'], message: `конец рабочего дня (${hhmm(f.dayEnd)}) должен быть позже начала (${hhmm(f.dayStart)})` });
    const cells = f as unknown as Record<string, string | undefined>;
    const sla = {} as Record<TicketPriority, SlaTarget>;
    for (const p of ticketPriorities) {
      const read = (t: 'first' | 'res') => {
        const v = slaMinutes(cells[`${slaCell(p, t)}_h`], cells[`${slaCell(p, t)}_m`]);
        if (v !== null && typeof v === 'object') {
          c.addIssue({ code: 'custom', path: [slaCell(p, t)], message: `${ticketPriorityLabels[p]}, ${targetNames[t]}: ${v.problem}` });
          return null;
        }
        return v;
      };
      sla[p] = { firstResponseMinutes: read('first'), resolutionMinutes: read('res') };
    }
    return {
      workDays,
      dayStartMinute: f.dayStart,
      dayEndMinute: f.dayEnd,
      warnAtPercent: f.warnAtPercent,
      waitingCloseHours: f.waitingCloseHours,
      solvedCloseHours: f.solvedCloseHours,
      sla,
    };
  });

const dayForm = z.object({
  day: z.string('укажите дату').refine((s) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
    if (!m) return false;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  }, 'дата: выберите день в календаре'),
  kind: z.enum(['holiday', 'working'], 'выберите: выходной или рабочий день'),
  note: z
    .string()
    .optional()
    .transform((s) => (s ?? '').trim() || null),
});

const queueForm = z.object({ userIds: checkedNumbers });

/** The settings are the admin's and the head's; checked here too so a manager's post comes back as a message. */
const staffOnly = (req: FastifyRequest) => requireRoles(req, 'admin', 'head');

/** «HelpDesk: график и сроки»: the working calendar the SLA counts in, the targets per priority, timers, and the support queue. */
export default async function helpdeskSettingsRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/helpdesk', async (req, reply) => {
    staffOnly(req);
    const ctx = ctxOf(deps, req);
    const [settings, users] = await Promise.all([getHelpdeskSettings(ctx), listUsers(ctx, { activeOnly: true })]);
    const queued = new Set(settings.queue.map((q) => q.userId));
    const split = (m: number | null) => (m === null ? { h: '', m: '' } : { h: String(Math.floor(m / 60)), m: m % 60 ? String(m % 60) : '' });
    return render(deps, req, reply, 'helpdesk/settings', {
      title: 'HelpDesk: график и сроки',
      settings,
      weekdays: weekdays.map((d) => ({ ...d, checked: settings.workDays.includes(d.value) })),
      dayStart: hhmm(settings.dayStartMinute),
      dayEnd: hhmm(settings.dayEndMinute),
      sla: ticketPriorities.map((p) => ({
        priority: p,
        label: ticketPriorityLabels[p],
        first: { name: slaCell(p, 'first'), ...split(settings.sla[p]?.firstResponseMinutes ?? null) },
        res: { name: slaCell(p, 'res'), ...split(settings.sla[p]?.resolutionMinutes ?? null) },
      })),
      days: settings.days.map((d) => ({ ...d, label: dayLabel(d.day) })),
      queue: settings.queue,
      users: users.map((u) => ({ id: u.id, name: u.name, checked: queued.has(u.id) })),
    });
  });

  app.post('/helpdesk', async (req, reply) =>
    formAction(
      deps,
      reply,
      PAGE,
      () => {
        staffOnly(req);
        return saveHelpdeskSettings(ctxOf(deps, req), parseForm(settingsForm, body(req)));
      },
      () => ({ text: 'Настройки HelpDesk сохранены' }),
      'Не сохранено: ',
    ),
  );

  app.post('/helpdesk/days', async (req, reply) =>
    formAction(
      deps,
      reply,
      PAGE,
      async () => {
        staffOnly(req);
        const d = parseForm(dayForm, body(req));
        await setCalendarDay(ctxOf(deps, req), d.day.trim(), d.kind === 'working', d.note);
        return d;
      },
      (d) => ({ text: `${dayLabel(d.day.trim())}: ${d.kind === 'working' ? 'рабочий день' : 'выходной'} — добавлено в календарь` }),
      'Не добавлено: ',
    ),
  );

  app.post('/helpdesk/days/delete', async (req, reply) =>
    formAction(
      deps,
      reply,
      PAGE,
      async () => {
        staffOnly(req);
        const { day } = parseForm(dayForm.pick({ day: true }), body(req));
        await setCalendarDay(ctxOf(deps, req), day.trim(), null);
        return day.trim();
      },
      (day) => ({ text: `${dayLabel(day)}: снова по обычному графику` }),
      'Не удалено: ',
    ),
  );

  app.post('/helpdesk/queue', async (req, reply) =>
    formAction(
      deps,
      reply,
      PAGE,
      () => {
        staffOnly(req);
        return setSupportQueue(ctxOf(deps, req), parseForm(queueForm, body(req) as FormBody).userIds);
      },
      () => ({ text: 'Очередь поддержки сохранена' }),
      'Не сохранено: ',
    ),
  );
}
