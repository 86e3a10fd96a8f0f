import { and, desc, eq, getTableColumns, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { calls, contacts, counterparties, phoneLines, users } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { requireUser } from '../access/scope.js';
import { callScope } from './access.js';
import type { CallFilter, CallView } from './calls.js';

/** A call with the names a list or card shows, through the actor's access rules. */
function selectViews(ctx: ServiceContext, where: SQL[]) {
  const scope = callScope(ctx);
  return ctx.db
    .select({
      ...getTableColumns(calls),
      userName: users.name,
      lineName: phoneLines.name,
      lineNumber: phoneLines.number,
      contactName: contacts.name,
      counterpartyName: counterparties.name,
    })
    .from(calls)
    .leftJoin(users, eq(users.id, calls.userId))
    .leftJoin(phoneLines, eq(phoneLines.id, calls.lineId))
    .leftJoin(contacts, eq(contacts.id, calls.contactId))
    .leftJoin(counterparties, eq(counterparties.id, calls.counterpartyId))
    .where(and(...where, ...(scope ? [scope] : [])));
}

/** One call; a call the actor may not see is «not found», as if it were not there. */
export async function getCall(ctx: ServiceContext, callId: number): Promise<CallView> {
  if (!Number.isSafeInteger(callId)) throw notFound('Звонок');
  const [row] = await selectViews(ctx, [eq(calls.id, callId)]);
  if (!row) throw notFound('Звонок');
  return row;
}

/** «Звонки»: newest first, the filter's records and period, only what the actor may see. */
export async function listCalls(ctx: ServiceContext, filter: CallFilter): Promise<CallView[]> {
  const f = filter;
  const conds: SQL[] = [];
  if (f.contactId) conds.push(eq(calls.contactId, f.contactId));
  if (f.counterpartyId) {
    // a company's calls include those of its people made before they were linked to it
    conds.push(sql`(${calls.counterpartyId} = ${f.counterpartyId} OR ${calls.contactId} IN (SELECT id FROM contacts WHERE counterparty_id = ${f.counterpartyId}))`);
  }
  if (f.leadId) conds.push(eq(calls.leadId, f.leadId));
  if (f.dealId) conds.push(eq(calls.dealId, f.dealId));
  if (f.userId) conds.push(eq(calls.userId, f.userId));
  if (f.direction) conds.push(eq(calls.direction, f.direction));
  if (f.status) conds.push(eq(calls.status, f.status));
  if (f.provider) conds.push(eq(calls.provider, f.provider));
  if (f.from) conds.push(gte(calls.at, f.from));
  if (f.to) conds.push(lt(calls.at, f.to));
  const limit = Math.min(Math.max(Math.trunc(f.limit ?? 50), 1), 500);
  const offset = Math.max(Math.trunc(f.offset ?? 0), 0);
  return selectViews(ctx, conds).orderBy(desc(calls.at), desc(calls.id)).limit(limit).offset(offset);
}

/**
 * A call whose end never reached us (a lost webhook) must not ring in someone's window forever:
 * after this long a «ringing» call is no longer offered.
 */
const RINGING_FOR_MS = 10 * 60_000;

/** The incoming calls ringing for the actor now: what the panel's live window and «Принять» show. */
export async function ringingCallsFor(ctx: ServiceContext): Promise<CallView[]> {
  const me = requireUser(ctx);
  const since = new Date(ctx.clock.now().getTime() - RINGING_FOR_MS);
  return selectViews(ctx, [eq(calls.userId, me.userId), eq(calls.status, 'ringing'), eq(calls.direction, 'in'), gt(calls.at, since)]).orderBy(
    desc(calls.at),
  );
}

/**
 * A stored recording, read with the call's access rules. `path` is relative to DATA_DIR (the
 * caller joins it with config.DATA_DIR, as with message attachments); `name` is a file name to offer.
 */
export async function callRecording(ctx: ServiceContext, callId: number): Promise<{ path: string; mime: string; name: string }> {
  const call = await getCall(ctx, callId);
  if (call.recordingStatus !== 'stored' || !call.recordingPath) throw notFound('Запись звонка');
  const ext = call.recordingPath.slice(call.recordingPath.lastIndexOf('.'));
  const day = call.at.toISOString().slice(0, 10);
  return { path: call.recordingPath, mime: call.recordingMime ?? 'audio/mpeg', name: `звонок-${call.id}-${day}${ext}` };
}
