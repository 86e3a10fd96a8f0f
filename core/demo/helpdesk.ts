import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { conversations, messages, tickets } from '../db/schema/index.js';
import type { User } from '../users/users.js';
import { recordHistory } from '../shared/audit.js';
import { addWorkingMinutes, workingMinutesBetween } from '../helpdesk/calendar.js';
import { loadCalendar, setCalendarDay, setSupportQueue } from '../helpdesk/settings.js';
import { slaTimes, ticketTimeZone } from '../helpdesk/sla.js';
import { ticketStatusLabels } from '../helpdesk/labels.js';
import type { TicketPriority, TicketStatus } from '../helpdesk/types.js';

/** An existing client of the demo (an active counterparty) and the person who writes for it. */
export interface DemoTicketClient {
  counterpartyId: number;
  contactId: number;
  /** the person's first name, for the managers' answers */
  firstName: string;
  responsibleId: number | null;
}

/** Active clients with a person to write for them, from the demo's counterparties (a full name is «Фамилия Имя Отчество»). */
export function demoTicketClients(list: { cp: { id: number; isActiveClient: boolean; responsibleId: number | null }; contacts: { id: number; name: string }[] }[]): DemoTicketClient[] {
  return list
    .filter((i) => i.cp.isActiveClient && i.contacts.length)
    .slice(0, 12)
    .map((i) => ({ counterpartyId: i.cp.id, contactId: i.contacts[0]!.id, firstName: i.contacts[0]!.name.split(/\s+/)[1] ?? i.contacts[0]!.name, responsibleId: i.cp.responsibleId }));
}

const MINUTE = 60_000;

type Line = [who: 'client' | 'manager', text: string, afterMinutes: number];

interface Plan {
  subject: string;
  channel: 'telegram' | 'whatsapp';
  priority: TicketPriority;
  status: TicketStatus;
  /** working minutes before now the ticket opened */
  openedAgo: number;
  /** the conversation; an answer's offset is in wall minutes after the previous line */
  lines: Line[];
  rating?: number;
}

const PLANS: Plan[] = [
  {
    subject: 'Не пришёл счёт на оплату',
    channel: 'telegram',
    priority: 'normal',
    status: 'new',
    openedAgo: 40,
    lines: [['client', 'Добрый день! Не пришёл счёт на оплату за этот месяц, пришлите, пожалуйста, ещё раз.', 0]],
  },
  {
    // opened long ago and never answered: «Просрочено» in the lists and the report
    subject: 'Сломался терминал после обновления',
    channel: 'whatsapp',
    priority: 'high',
    status: 'new',
    openedAgo: 600,
    lines: [
      ['client', 'Здравствуйте. После обновления терминал не включается, на экране ошибка E-42.', 0],
      ['client', 'Срочно нужна помощь, стоит касса.', 25],
    ],
  },
  {
    subject: 'Как добавить второго пользователя',
    channel: 'telegram',
    priority: 'low',
    status: 'in_progress',
    openedAgo: 300,
    lines: [
      ['client', 'Подскажите, как добавить второго пользователя в личный кабинет?', 0],
      ['manager', 'Здравствуйте, {name}! Сейчас уточню у коллег и напишу инструкцию.', 35],
    ],
  },
  {
    subject: 'Акт сверки за квартал',
    channel: 'whatsapp',
    priority: 'normal',
    status: 'waiting',
    openedAgo: 700,
    lines: [
      ['client', 'Нужен акт сверки за прошлый квартал.', 0],
      ['manager', '{name}, подготовили акт. Пришлите, пожалуйста, ИНН получателя для ЭДО.', 50],
    ],
  },
  {
    subject: 'Ошибка в накладной',
    channel: 'telegram',
    priority: 'urgent',
    status: 'solved',
    openedAgo: 1500,
    rating: 5,
    lines: [
      ['client', 'В накладной неверное количество: 12 вместо 10.', 0],
      ['manager', 'Здравствуйте, {name}! Исправили накладную, новая уже в кабинете.', 20],
      ['client', 'Спасибо, всё верно.', 40],
    ],
  },
  {
    subject: 'Доставка на новый адрес',
    channel: 'whatsapp',
    priority: 'normal',
    status: 'closed',
    openedAgo: 4000,
    rating: 4,
    lines: [
      ['client', 'С понедельника мы переезжаем, возите, пожалуйста, на Лесную, 5.', 0],
      ['manager', '{name}, адрес поменяли, следующая поставка придёт на Лесную, 5.', 90],
    ],
  },
];

/**
 * HelpDesk for the demo (R23): the managers in the support queue, next New Year's holidays in the
 * calendar, and a few tickets of active clients in every status — one new within its time, one
 * overdue, in work, waiting for the client, solved and rated, closed — each with its chat. Rows are
 * written directly, like the rest of the demo's history, with SLA times from the real calendar.
 */
export async function loadDemoHelpdesk(ctx: ServiceContext, team: { head: User; managers: User[] }, clients: DemoTicketClient[], now: Date): Promise<{ tickets: number }> {
  if (!clients.length) return { tickets: 0 };
  await setSupportQueue(ctx, team.managers.map((m) => m.id));
  const year = Number(now.toISOString().slice(0, 4)) + 1;
  for (let d = 1; d <= 8; d++) await setCalendarDay(ctx, `${year}-01-${String(d).padStart(2, '0')}`, false, 'Новогодние каникулы');

  const cal = await loadCalendar(ctx);
  let made = 0;
  for (const [i, plan] of PLANS.entries()) {
    const client = clients[i % clients.length]!;
    const assignee = [team.head, ...team.managers].find((u) => u.id === client.responsibleId) ?? team.managers[i % team.managers.length] ?? team.head;
    // the working minutes back from now: step back in wall time until that many working minutes lie between
    // read in the zone the SLA itself uses (the assignee's, else the team's), so the seeded figures agree with it
    const tz = await ticketTimeZone(ctx, assignee.id);
    const openedAt = workingAgo(cal, tz, now, plan.openedAgo);
    const times = await slaTimes(ctx, plan.priority, assignee.id, openedAt);
    const [conv] = await ctx.db
      .insert(conversations)
      .values({
        channel: plan.channel,
        contactId: client.contactId,
        externalChatId: plan.channel === 'telegram' ? `demo-${client.contactId}-${i}` : `7999${String(client.contactId).padStart(7, '0')}${i}@c.us`,
        createdAt: openedAt,
      })
      .returning();

    let at = openedAt;
    const rows: (typeof messages.$inferInsert)[] = [];
    let firstResponseAt: Date | null = null;
    for (const [k, [who, text, after]] of plan.lines.entries()) {
      at = new Date(at.getTime() + after * MINUTE);
      if (at > now) at = new Date(now.getTime() - (plan.lines.length - k) * MINUTE);
      if (who === 'manager') firstResponseAt ??= at;
      rows.push({
        conversationId: conv!.id,
        channel: plan.channel,
        direction: who === 'client' ? 'in' : 'out',
        providerMessageId: `demo:${conv!.id}:${k}`,
        text: text.replace('{name}', client.firstName),
        authorUserId: who === 'manager' ? assignee.id : null,
        deliveryStatus: who === 'manager' ? 'delivered' : null,
        at,
      });
    }
    const solved = plan.status === 'solved' || plan.status === 'closed';
    const solvedAt = solved ? new Date(at.getTime() + 10 * MINUTE) : null;
    const closedAt = plan.status === 'closed' ? new Date(Math.min(now.getTime() - MINUTE, solvedAt!.getTime() + 3 * 24 * 60 * MINUTE)) : null;
    const waitingSince = plan.status === 'waiting' ? at : null;
    const ratedAt = plan.rating && solvedAt ? new Date(Math.min(now.getTime() - MINUTE, solvedAt.getTime() + 30 * MINUTE)) : null;
    const passed = (d: Date | null) => !!d && d <= now;

    const [ticket] = await ctx.db
      .insert(tickets)
      .values({
        subject: plan.subject,
        contactId: client.contactId,
        counterpartyId: client.counterpartyId,
        channel: plan.channel,
        conversationId: conv!.id,
        priority: plan.priority,
        status: plan.status,
        assigneeId: assignee.id,
        createdAt: openedAt,
        updatedAt: closedAt ?? ratedAt ?? solvedAt ?? at,
        firstResponseAt,
        solvedAt,
        closedAt,
        waitingSince,
        ...times,
        // waiting: the resolution clock is stopped with what was left of it
        ...(waitingSince
          ? { resolutionDueAt: null, resolutionWarnAt: null, resolutionPausedMinutes: times.resolutionDueAt ? workingMinutesBetween(cal, tz, waitingSince, times.resolutionDueAt) : null }
          : {}),
        // the demo's notices went out already: the first tick tells nobody about old tickets
        firstResponseWarnedAt: !firstResponseAt && passed(times.firstResponseWarnAt) ? now : null,
        firstResponseBreachedAt: !firstResponseAt && passed(times.firstResponseDueAt) ? now : null,
        resolutionWarnedAt: !solvedAt && !waitingSince && passed(times.resolutionWarnAt) ? now : null,
        resolutionBreachedAt: !solvedAt && !waitingSince && passed(times.resolutionDueAt) ? now : null,
        rating: plan.rating && ratedAt ? plan.rating : null,
        ratedAt,
        ratingRequestedAt: solvedAt,
      })
      .returning();
    const id = ticket!.id;
    if (solvedAt) {
      rows.push({
        conversationId: conv!.id,
        channel: plan.channel,
        direction: 'out',
        providerMessageId: `demo:${conv!.id}:rate`,
        text: `Оцените, пожалуйста, ответ по обращению №${id}: от 1 (плохо) до 5 (отлично).`,
        choices: [1, 2, 3, 4, 5].map((n) => ({ label: String(n), value: String(n) })),
        deliveryStatus: 'delivered',
        at: solvedAt,
      });
      if (ratedAt) rows.push({ conversationId: conv!.id, channel: plan.channel, direction: 'in', providerMessageId: `demo:${conv!.id}:rated`, text: String(plan.rating), at: ratedAt });
    }
    await ctx.db.insert(messages).values(rows.map((r) => ({ ...r, ticketId: id })));
    const last = rows.reduce((m, r) => (r.at! > m ? r.at! : m), openedAt);
    await ctx.db
      .update(conversations)
      .set({ ticketId: id, lastMessageAt: last })
      .where(eq(conversations.id, conv!.id));

    const history = { ...ctx, clock: { now: () => openedAt } };
    await recordHistory(history, 'ticket', id, 'created', `Обращение создано: сообщение клиента`, { channel: plan.channel, assigneeId: assignee.id });
    if (plan.status !== 'new') await recordHistory({ ...ctx, clock: { now: () => firstResponseAt ?? at } }, 'ticket', id, 'status_changed', `${ticketStatusLabels.new} → ${ticketStatusLabels.in_progress}`, { from: 'new', to: 'in_progress' });
    if (waitingSince) await recordHistory({ ...ctx, clock: { now: () => waitingSince } }, 'ticket', id, 'status_changed', `${ticketStatusLabels.in_progress} → ${ticketStatusLabels.waiting}`, { from: 'in_progress', to: 'waiting' });
    if (solvedAt) await recordHistory({ ...ctx, clock: { now: () => solvedAt } }, 'ticket', id, 'status_changed', `${ticketStatusLabels.in_progress} → ${ticketStatusLabels.solved}`, { from: 'in_progress', to: 'solved' });
    if (ratedAt) await recordHistory({ ...ctx, clock: { now: () => ratedAt } }, 'ticket', id, 'rated', `Клиент оценил ответ: ${plan.rating} из 5`, { rating: plan.rating });
    if (closedAt) await recordHistory({ ...ctx, clock: { now: () => closedAt } }, 'ticket', id, 'status_changed', `${ticketStatusLabels.solved} → ${ticketStatusLabels.closed}`, { from: 'solved', to: 'closed' });
    made++;
  }
  return { tickets: made };
}

/** The instant `minutes` working minutes before `now` (the latest such), found going back an hour at a time. */
function workingAgo(cal: Awaited<ReturnType<typeof loadCalendar>>, tz: string, now: Date, minutes: number): Date {
  let from = new Date(now.getTime() - minutes * MINUTE);
  for (let i = 0; i < 24 * 60 && addWorkingMinutes(cal, tz, from, minutes) > now; i++) from = new Date(from.getTime() - 60 * MINUTE);
  return from;
}
