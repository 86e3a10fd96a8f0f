import { and, desc, eq, gt, isNotNull, isNull, ne } from 'drizzle-orm';
import { actorTimeZone, afterCommit, inTransaction, type ServiceContext } from '../context.js';
import { calls, counterparties, deals, leads, phoneLines } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { notify } from '../notifications/notify.js';
import { announceNewLead } from '../leads/leads.js';
import { sendSignal } from '../shared/signals.js';
import { formatPhone, normalizePhone } from '../validation/phone.js';
import { findCallClient } from './client.js';
import { lineByNumber, userByExtension } from './lines.js';
import { lockKeys } from '../shared/locks.js';
import { callKeyLock } from './types.js';
import { clientName, followUpMissedCall } from './missed.js';
import { enqueueRecording } from './recordings.js';
import { chooseCallUser } from './rules.js';
import { phoneProviders, type CallEvent, type CallResult, type CallSignal } from './types.js';
import type { Call } from './calls.js';

export interface RecordCallOptions {
  /** the team's time zone (config TIME_ZONE): the rules' hours and the missed-call work's comment read it */
  timeZone?: string | undefined;
}

/**
 * A click-to-call's first event may come before the provider's answer to the request told us its
 * call key (Kazoo), without our command id: such an event adopts the row placed this recently to
 * the same number.
 */
const ADOPT_PLACED_WITHIN_MS = 2 * 60_000;

const kinds = ['ringing', 'answered', 'ended', 'leg_ended', 'recording'] as const;

/** An adapter's bug, not a client's input: refused before anything is written. */
function checkEvent(ev: CallEvent): void {
  if (!phoneProviders.includes(ev.provider)) throw invalid({ provider: 'неизвестный оператор телефонии' });
  if (typeof ev.callKey !== 'string' || !ev.callKey.trim() || ev.callKey.length > 300) throw invalid({ callKey: 'нет идентификатора звонка' });
  if (!kinds.includes(ev.kind)) throw invalid({ kind: 'неизвестное событие звонка' });
  if (!(ev.at instanceof Date) || Number.isNaN(ev.at.getTime())) throw invalid({ at: 'нет времени события' });
}

const validDate = (d: Date | undefined) => (d instanceof Date && !Number.isNaN(d.getTime()) ? d : undefined);
const signal = (tx: ServiceContext, s: CallSignal) => sendSignal(tx, 'crm_calls', s);

/**
 * One provider event into the one call row it belongs to (see the contract in calls.ts): one
 * transaction under a lock on the provider's call key (and on our command id), so repeats and any
 * order of arrival leave one row whose status only moves forward (ringing → talking → result).
 */
export async function recordCallEvent(ctx: ServiceContext, ev: CallEvent, opts: RecordCallOptions = {}): Promise<{ callId: number; created: boolean }> {
  checkEvent(ev);
  const timeZone = opts.timeZone ?? actorTimeZone(ctx.actor);
  const callKey = ev.callKey.trim();
  const phone = ev.clientNumber ? normalizePhone(ev.clientNumber) : null;
  const lineNumber = ev.lineNumber ? (normalizePhone(ev.lineNumber) ?? ev.lineNumber.trim()) : null;
  const e = { ...ev, callKey, answeredAt: validDate(ev.answeredAt), endedAt: validDate(ev.endedAt) };

  return inTransaction(ctx, async (tx) => {
    await lockKeys(tx, callKeyLock(e.provider, callKey), e.commandId ? `call:cmd:${e.commandId}` : null);
    const found = await findOrCreateRow(tx, e, phone);
    let row = found.row;
    const wasEnded = !!row.endedAt;
    const patch: Partial<typeof calls.$inferInsert> = {};

    // what the call is: filled from whichever event first says it (a summary may come first)
    const unknownParties = row.fromNumber === '' && row.toNumber === '';
    if (unknownParties && (e.direction || phone || e.clientNumber || lineNumber)) {
      const direction = e.direction ?? row.direction;
      const client = phone ?? e.clientNumber?.trim() ?? '';
      const ours = lineNumber ?? e.extension ?? '';
      Object.assign(patch, { direction, fromNumber: direction === 'in' ? client : ours, toNumber: direction === 'in' ? ours : client });
    }
    if (!row.clientNumber && phone) patch.clientNumber = phone;
    if (!row.lineId && lineNumber) {
      const line = await lineByNumber(tx, e.provider, lineNumber);
      if (line) patch.lineId = line.id;
    }
    if (!row.legId && e.legId && (e.kind === 'ringing' || e.kind === 'answered')) patch.legId = e.legId;
    const earliest = [e.at, e.answeredAt].filter((d): d is Date => !!d).reduce((a, b) => (a < b ? a : b));
    if (earliest < row.at) patch.at = earliest;
    if (e.disconnectReason && (e.kind === 'leg_ended' || e.kind === 'ended')) patch.disconnectReason = e.disconnectReason.slice(0, 200);
    const direction = patch.direction ?? row.direction;

    let answered = false;
    let endedNow = false;
    if (e.kind === 'ringing' && direction === 'out' && !row.userId && e.extension) {
      patch.userId = await userByExtension(tx, e.provider, e.extension);
    }
    if (e.kind === 'answered' && !wasEnded) {
      // status only moves forward, so a late or repeated answer changes nothing (Mango numbers seq per
      // leg, so it cannot order one leg's answer against another leg's events)
      if (row.status === 'ringing') patch.status = 'talking';
      if (!row.answeredAt) patch.answeredAt = e.answeredAt ?? e.at;
      const who = e.extension ? await userByExtension(tx, e.provider, e.extension) : null;
      if (who && who !== row.userId) patch.userId = who;
      answered = !!(patch.status || patch.userId);
    }
    if (e.kind === 'ended') {
      if (!wasEnded) {
        const endedAt = e.endedAt ?? e.at;
        const answeredAt = e.answeredAt ?? row.answeredAt ?? null;
        const result: CallResult = e.result ?? (answeredAt ? 'answered' : direction === 'in' ? 'missed' : 'no_answer');
        const talked = result === 'answered' && answeredAt ? Math.max(0, Math.round((endedAt.getTime() - answeredAt.getTime()) / 1000)) : 0;
        Object.assign(patch, { status: result, endedAt, answeredAt, durationSec: Math.max(0, Math.round(e.durationSec ?? talked)) });
        // the extension is who talked, or on an outgoing call who placed it
        if (e.extension && (result === 'answered' || direction === 'out')) {
          const who = await userByExtension(tx, e.provider, e.extension);
          if (who) patch.userId = who;
        }
        endedNow = true;
      } else if (!row.durationSec && e.durationSec) {
        patch.durationSec = Math.round(e.durationSec);
      }
    }
    let recordingId: string | null = null;
    if (e.kind === 'recording' && e.recordingId && (e.recordingId !== row.recordingId || !row.recordingStatus)) {
      Object.assign(patch, { recordingId: e.recordingId, recordingStatus: 'pending', recordingPath: null, recordingMime: null });
      recordingId = e.recordingId;
    }
    if (Object.keys(patch).length) row = await update(tx, row.id, patch);

    // incoming calls are routed one at a time: «in turn» (queues, managers on duty, the round robin of new
    // callers' leads) reads whom the previous call or lead went to, which a call ringing at the same instant must see
    if (row.direction === 'in' && !row.userId && (e.kind === 'ringing' || e.kind === 'ended')) await lockKeys(tx, 'call:routing');

    // whom the call is with: resolved once, when its number is first known
    let responsibleId: number | null | undefined;
    let newLeadId: number | null = null;
    if (row.clientNumber?.startsWith('+') && !row.contactId && !row.counterpartyId && e.kind !== 'recording' && e.kind !== 'leg_ended') {
      await lockKeys(tx, `inbound:phone:${row.clientNumber}`);
      const client = await findCallClient(tx, row.clientNumber, { createUnknown: row.direction === 'in' });
      if (client.contactId || client.counterpartyId) {
        row = await update(tx, row.id, { contactId: client.contactId, counterpartyId: client.counterpartyId, leadId: client.leadId, dealId: client.dealId });
        responsibleId = client.responsibleId;
        if (client.createdLead) newLeadId = client.leadId;
      }
    }

    // an incoming call is given to a user by the rules once, while it still rings
    let cardFor: number | null = null;
    const ringsUnannounced = row.direction === 'in' && row.status === 'ringing' && !row.endedAt && !row.userId;
    if ((e.kind === 'ringing' && ringsUnannounced) || (endedNow && row.direction === 'in' && !row.userId)) {
      responsibleId ??= await responsibleFor(tx, row);
      const chosen = await chooseCallUser(tx, { lineId: row.lineId, counterpartyId: row.counterpartyId, responsibleId, at: row.at, timeZone });
      if (chosen.userId) {
        row = await update(tx, row.id, { userId: chosen.userId });
        if (!endedNow) {
          await notify(tx, { kind: 'incoming_call', userId: chosen.userId, callId: row.id, text: await ringText(tx, row), ...(row.leadId ? { leadId: row.leadId } : {}), ...(row.dealId ? { dealId: row.dealId } : {}), dedupeKey: `call:${row.id}:ring` });
          await signal(tx, { kind: 'ringing', callId: row.id, userId: chosen.userId });
          cardFor = chosen.userId;
        }
      }
    }
    // a lead the call made is announced to its responsible unless the ringing card already went to them
    if (newLeadId) {
      const [lead] = await tx.db.select().from(leads).where(eq(leads.id, newLeadId));
      if (lead && lead.responsibleId !== cardFor) await announceNewLead(tx, lead, null);
    }
    if (answered) await signal(tx, { kind: 'answered', callId: row.id, userId: row.userId });
    if (endedNow) {
      if (row.direction === 'in' && row.status !== 'answered') {
        responsibleId ??= await responsibleFor(tx, row);
        await followUpMissedCall(tx, row, responsibleId, timeZone);
      }
      await signal(tx, { kind: 'ended', callId: row.id, userId: row.userId });
    }
    if (recordingId) {
      const job = { callId: row.id, recordingId };
      await afterCommit(tx, () => enqueueRecording(tx.jobs, job));
    }
    return { callId: row.id, created: found.created };
  });
}

type Ev = CallEvent & { callKey: string };

/**
 * The call's row: by the provider's call key; else the click-to-call row our command id names (or,
 * without it, the one just placed to this number) still waiting for its key; else a new row whose
 * parties the events fill in.
 */
async function findOrCreateRow(tx: ServiceContext, e: Ev, phone: string | null): Promise<{ row: Call; created: boolean }> {
  const [byKey] = await tx.db.select().from(calls).where(and(eq(calls.provider, e.provider), eq(calls.providerCallId, e.callKey)));
  if (byKey) return { row: byKey, created: false };
  let placed: Call | undefined;
  if (e.commandId) {
    [placed] = await tx.db.select().from(calls).where(and(eq(calls.commandId, e.commandId), eq(calls.provider, e.provider), isNull(calls.providerCallId)));
  } else if (e.direction === 'out' && phone) {
    const since = new Date(tx.clock.now().getTime() - ADOPT_PLACED_WITHIN_MS);
    const who = e.extension ? await userByExtension(tx, e.provider, e.extension) : null;
    [placed] = await tx.db
      .select()
      .from(calls)
      .where(
        and(
          eq(calls.provider, e.provider),
          isNull(calls.providerCallId),
          isNotNull(calls.commandId),
          eq(calls.direction, 'out'),
          eq(calls.clientNumber, phone),
          ne(calls.status, 'failed'),
          gt(calls.at, since),
          ...(who ? [eq(calls.userId, who)] : []),
        ),
      )
      .orderBy(desc(calls.id))
      .limit(1);
  }
  if (placed) {
    // another call key may have adopted it meanwhile (each key has its own lock): then this is a call of its own
    const [adopted] = await tx.db
      .update(calls)
      .set({ providerCallId: e.callKey, updatedAt: tx.clock.now() })
      .where(and(eq(calls.id, placed.id), isNull(calls.providerCallId)))
      .returning();
    if (adopted) return { row: adopted, created: false };
  }
  const now = tx.clock.now();
  const [row] = await tx.db
    .insert(calls)
    .values({ direction: e.direction ?? 'in', fromNumber: '', toNumber: '', provider: e.provider, providerCallId: e.callKey, status: 'ringing', at: e.at, updatedAt: now })
    .returning();
  return { row: row!, created: true };
}

async function update(tx: ServiceContext, id: number, patch: Partial<typeof calls.$inferInsert>): Promise<Call> {
  const [row] = await tx.db
    .update(calls)
    .set({ ...patch, updatedAt: tx.clock.now() })
    .where(eq(calls.id, id))
    .returning();
  return row!;
}

/** Who answers for the call's client: its lead's or deal's responsible, else its counterparty's. */
export async function responsibleFor(tx: ServiceContext, call: Pick<Call, 'leadId' | 'dealId' | 'counterpartyId'>): Promise<number | null> {
  if (call.leadId) {
    const [l] = await tx.db.select({ r: leads.responsibleId }).from(leads).where(eq(leads.id, call.leadId));
    if (l?.r) return l.r;
  }
  if (call.dealId) {
    const [d] = await tx.db.select({ r: deals.responsibleId }).from(deals).where(eq(deals.id, call.dealId));
    if (d?.r) return d.r;
  }
  if (call.counterpartyId) {
    const [c] = await tx.db.select({ r: counterparties.responsibleId }).from(counterparties).where(eq(counterparties.id, call.counterpartyId));
    if (c?.r) return c.r;
  }
  return null;
}

/** The short plain line of an incoming-call notice; the bot builds the full card from callCard. */
async function ringText(tx: ServiceContext, call: Call): Promise<string> {
  const who = await clientName(tx, call);
  const number = call.clientNumber ? formatPhone(call.clientNumber) : 'номер скрыт';
  const [line] = call.lineId ? await tx.db.select({ name: phoneLines.name }).from(phoneLines).where(eq(phoneLines.id, call.lineId)) : [];
  return `📞 Входящий звонок: ${who && who !== number ? `${who}, ` : ''}${number}${line ? ` — линия «${line.name}»` : ''}`;
}
