import type { ServiceContext } from '../context.js';
import type { Services } from '../services.js';
import type { Ticket, TicketPriority } from './types.js';

// CONTRACT (helper B owns this file).

export const HELPDESK_TICK_JOB = 'helpdesk.tick';

export interface SlaTimes {
  firstResponseDueAt: Date | null;
  firstResponseWarnAt: Date | null;
  resolutionDueAt: Date | null;
  resolutionWarnAt: Date | null;
}

/** Targets for a ticket opened at `from` with this priority, in the assignee's time zone (TIME_ZONE when none). */
export async function slaTimes(tx: ServiceContext, priority: TicketPriority, assigneeId: number | null, from: Date): Promise<SlaTimes> {
  void [tx, priority, assigneeId, from];
  throw new Error('not implemented');
}

/** «Ждём клиента» begins: the resolution clock stops (the working minutes left are kept). Returns the columns to set. */
export async function pauseResolution(tx: ServiceContext, ticket: Ticket, now: Date): Promise<Partial<Ticket>> {
  void [tx, ticket, now];
  throw new Error('not implemented');
}

/** The client answered or the manager moved on: the resolution clock runs again from now. Returns the columns to set. */
export async function resumeResolution(tx: ServiceContext, ticket: Ticket, now: Date): Promise<Partial<Ticket>> {
  void [tx, ticket, now];
  throw new Error('not implemented');
}

/**
 * One pass of the HelpDesk clock, run every minute by a job (and by tests with a fake clock): warns
 * assignees before a breach, tells heads at a breach (each once), closes «Ждём клиента» and «Решено»
 * tickets after their set time.
 */
export async function helpdeskTick(ctx: ServiceContext): Promise<{ warned: number; breached: number; closed: number }> {
  void ctx;
  throw new Error('not implemented');
}

/** Worker: the tick job and its schedule. */
export async function registerHelpdeskJobs(services: Services): Promise<void> {
  void services;
}
