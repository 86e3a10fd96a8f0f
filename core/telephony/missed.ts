import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { calls, contacts, counterparties, users } from '../db/schema/index.js';
import { actionByName } from '../works/actions.js';
import { createWork } from '../works/works.js';
import { isServiceError } from '../errors.js';
import { notify } from '../notifications/notify.js';
import { formatPhone } from '../validation/phone.js';
import { formatInZone } from '../validation/time.js';
import type { Call } from './calls.js';

/**
 * A client who called and was not answered is waiting: the callback should happen while they still
 * remember why they called and have not turned to another supplier. The missed-call card tells the
 * person at once; the work is due 45 minutes after the call, so its usual reminder (30 minutes before
 * the deadline, core/works/reminders.ts) nudges once more a quarter of an hour later if it is still
 * open, instead of a second message at the same moment as the card.
 */
const CALL_BACK_WITHIN_MS = 45 * 60_000;

/** The action a call back is planned with (seeded by migrations/0002), here and in the bot. */
export const CALL_ACTION = 'Позвонить';

/**
 * A missed incoming call → a work «Позвонить» for whoever answers for the client (the open lead's
 * or deal's responsible, else the counterparty's), else for the user the call rang for, linked to
 * the call's lead/deal/contact; made once per call (calls.follow_up_work_id), in the event's
 * transaction. The person is told (kind missed_call) after commit.
 */
export async function followUpMissedCall(tx: ServiceContext, call: Call, responsibleId: number | null, timeZone: string): Promise<void> {
  if (call.followUpWorkId) return;
  const userId = (await activeUser(tx, responsibleId)) ?? (await activeUser(tx, call.userId));
  const number = call.clientNumber ? formatPhone(call.clientNumber) : 'номер скрыт';
  const who = await clientName(tx, call);
  const endedAt = call.endedAt ?? tx.clock.now();
  let workId: number | null = null;
  const linked = call.leadId || call.dealId || call.contactId || call.counterpartyId;
  const action = await actionByName(tx, CALL_ACTION);
  if (userId && linked && action) {
    // one record, the most specific: the client's others follow from it (a deal's work is on its contact's timeline too)
    const link = call.dealId ? { dealId: call.dealId } : call.leadId ? { leadId: call.leadId } : call.contactId ? { contactId: call.contactId } : { counterpartyId: call.counterpartyId };
    try {
      const work = await createWork(tx, {
        actionId: action.id,
        deadline: new Date(endedAt.getTime() + CALL_BACK_WITHIN_MS),
        comment: `Перезвонить: пропущенный звонок ${number} в ${formatInZone(call.at, timeZone)}`,
        responsibleId: userId,
        ...link,
      });
      workId = work.id;
      await tx.db.update(calls).set({ followUpWorkId: work.id }).where(eq(calls.id, call.id));
    } catch (err) {
      // createWork refuses before it writes; the call is still recorded and the person still told
      if (!isServiceError(err)) throw err;
      tx.log.warn({ callId: call.id, err: err.message }, 'telephony: no follow-up work for a missed call');
    }
  }
  if (!userId) return;
  const text = [
    `Пропущенный звонок: ${who ? `${who}, ` : ''}${number}`,
    workId ? `Работа «${CALL_ACTION}» №${workId} — перезвоните как можно скорее` : 'Перезвоните клиенту',
  ].join('\n');
  await notify(tx, {
    kind: 'missed_call',
    userId,
    callId: call.id,
    text,
    ...(workId ? { workId } : {}),
    ...(call.leadId ? { leadId: call.leadId } : {}),
    ...(call.dealId ? { dealId: call.dealId } : {}),
    dedupeKey: `call:${call.id}:missed`,
  });
}

async function activeUser(tx: ServiceContext, userId: number | null): Promise<number | null> {
  if (!userId) return null;
  const [u] = await tx.db.select({ active: users.active }).from(users).where(eq(users.id, userId));
  return u?.active ? userId : null;
}

/** «Иван Петров (ООО «Ромашка»)», the contact alone or the company alone; null when we know nobody. */
export async function clientName(tx: ServiceContext, call: Pick<Call, 'contactId' | 'counterpartyId'>): Promise<string | null> {
  const [c] = call.contactId ? await tx.db.select({ name: contacts.name }).from(contacts).where(eq(contacts.id, call.contactId)) : [];
  const [cp] = call.counterpartyId ? await tx.db.select({ name: counterparties.name }).from(counterparties).where(eq(counterparties.id, call.counterpartyId)) : [];
  if (c && cp) return `${c.name} (${cp.name})`;
  return c?.name ?? cp?.name ?? null;
}
