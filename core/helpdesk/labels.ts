import type { TicketChannel, TicketPriority, TicketStatus } from './types.js';

/** R23: the words a user sees, once, for the bot and the panel. */
export const ticketStatusLabels: Record<TicketStatus, string> = {
  new: 'Новое',
  in_progress: 'В работе',
  waiting: 'Ждём клиента',
  solved: 'Решено',
  closed: 'Закрыто',
};

export const ticketPriorityLabels: Record<TicketPriority, string> = {
  urgent: 'Срочный',
  high: 'Высокий',
  normal: 'Обычный',
  low: 'Низкий',
};

export const ticketChannelLabels: Record<TicketChannel, string> = {
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  viber: 'Viber',
  email: 'E-mail',
  manual: 'Вручную',
};

/** «Обращение №12» */
export const ticketTitle = (id: number) => `Обращение №${id}`;

/** Working minutes as a person reads them: «45 мин», «3 ч 20 мин», «2 д 1 ч» (a working day = the calendar's day length). */
export function formatWorkingMinutes(minutes: number | null, dayMinutes = 540): string {
  if (minutes === null) return '—';
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m} мин`;
  if (m < dayMinutes) return `${Math.floor(m / 60)} ч${m % 60 ? ` ${m % 60} мин` : ''}`;
  const d = Math.floor(m / dayMinutes);
  const h = Math.floor((m % dayMinutes) / 60);
  return `${d} д${h ? ` ${h} ч` : ''}`;
}
