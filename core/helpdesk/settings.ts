import type { ServiceContext } from '../context.js';
import type { WorkCalendar } from './calendar.js';
import type { TicketPriority } from './types.js';

// CONTRACT (helper B owns this file).

export interface SlaTarget {
  firstResponseMinutes: number | null;
  resolutionMinutes: number | null;
}

export interface HelpdeskSettings {
  workDays: number[];
  dayStartMinute: number;
  dayEndMinute: number;
  warnAtPercent: number;
  waitingCloseHours: number;
  solvedCloseHours: number;
  sla: Record<TicketPriority, SlaTarget>;
  /** holidays and moved working days, by date */
  days: { day: string; working: boolean; note: string | null }[];
  /** users in the support queue, in the order they were added */
  queue: { userId: number; name: string }[];
}

export async function getHelpdeskSettings(ctx: ServiceContext): Promise<HelpdeskSettings> {
  void ctx;
  throw new Error('not implemented');
}

/** Admin/head: the calendar, SLA targets, timers; audited. Bad input → invalid with field names. */
export async function saveHelpdeskSettings(
  ctx: ServiceContext,
  input: Omit<HelpdeskSettings, 'days' | 'queue'>,
): Promise<HelpdeskSettings> {
  void [ctx, input];
  throw new Error('not implemented');
}

/** Admin/head: a holiday or a moved working day; `working: null` removes the exception. */
export async function setCalendarDay(ctx: ServiceContext, day: string, working: boolean | null, note?: string | null): Promise<void> {
  void [ctx, day, working, note];
  throw new Error('not implemented');
}

/** Admin/head: who takes tickets in turn when the client has no responsible. */
export async function setSupportQueue(ctx: ServiceContext, userIds: number[]): Promise<void> {
  void [ctx, userIds];
  throw new Error('not implemented');
}

/** The calendar as the SLA arithmetic reads it. */
export async function loadCalendar(ctx: ServiceContext): Promise<WorkCalendar> {
  void ctx;
  throw new Error('not implemented');
}

/**
 * The next user of the support queue (the one whose last queued ticket is oldest), stamped as
 * taken; null when the queue is empty. Runs in the caller's transaction under a lock.
 */
export async function nextInSupportQueue(tx: ServiceContext): Promise<number | null> {
  void tx;
  throw new Error('not implemented');
}
