import type { ServiceContext } from '../context.js';
import type { TicketReportRow } from './types.js';

// CONTRACT (helper B owns this file).

/**
 * The HelpDesk report per assignee over [from, to): created, open now, overdue now, solved, median
 * first response and resolution in working minutes, average rating. A manager gets only their own row.
 */
export async function ticketReport(ctx: ServiceContext, period: { from: Date; to: Date; assigneeId?: number | undefined }): Promise<{ rows: TicketReportRow[]; total: TicketReportRow }> {
  void [ctx, period];
  throw new Error('not implemented');
}
