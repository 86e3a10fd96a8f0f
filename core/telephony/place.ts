import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { calls, phoneLines, userExtensions } from '../db/schema/index.js';
import { conflict, invalid, ServiceError } from '../errors.js';
import { requireUser } from '../access/scope.js';
import { getContact } from '../contacts/contacts.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getDeal } from '../deals/deals.js';
import { getLead } from '../leads/leads.js';
import { sendSignal } from '../shared/signals.js';
import { normalizePhone } from '../validation/phone.js';
import { findCallClient } from './client.js';
import { phoneProviderLabels } from './labels.js';
import { extensionOf } from './lines.js';
import { lockKeys } from '../shared/locks.js';
import { callKeyLock } from './types.js';
import { getCall } from './read.js';
import { TelephonyError, type PhoneProvider, type TelephonyClients } from './types.js';
import type { Call, CallLine, PlaceCallInput } from './calls.js';

const notConfigured = (p: PhoneProvider) =>
  new ServiceError('unavailable', `Телефония ${phoneProviderLabels[p]} не настроена: администратору нужно указать её ключи в настройках CRM`);
const noExtension = (p: PhoneProvider) =>
  invalid({ lineId: `у вас нет внутреннего номера в ${phoneProviderLabels[p]}: его задаёт администратор на странице «Пользователи»` });

/** The lines the actor can call from: active, of a configured provider, where they have an extension. */
export async function callLinesFor(ctx: ServiceContext, clients: TelephonyClients): Promise<CallLine[]> {
  const me = requireUser(ctx);
  const rows = await ctx.db
    .select({ id: phoneLines.id, provider: phoneLines.provider, number: phoneLines.number, name: phoneLines.name })
    .from(phoneLines)
    .innerJoin(userExtensions, and(eq(userExtensions.provider, phoneLines.provider), eq(userExtensions.userId, me.userId)))
    .where(eq(phoneLines.active, true))
    .orderBy(asc(phoneLines.name), asc(phoneLines.id));
  return rows.filter((l) => !!clients[l.provider]);
}

/** The line a call goes out from: the one asked for, or the only one the actor can use; each refusal says what to do. */
async function chooseLine(ctx: ServiceContext, clients: TelephonyClients, lineId: number | null | undefined) {
  if (lineId) {
    const [line] = await ctx.db.select().from(phoneLines).where(eq(phoneLines.id, lineId));
    if (!line || !line.active) throw invalid({ lineId: 'нет такой линии' });
    return line;
  }
  const usable = await callLinesFor(ctx, clients);
  if (usable.length === 1) {
    const [line] = await ctx.db.select().from(phoneLines).where(eq(phoneLines.id, usable[0]!.id));
    return line!;
  }
  if (usable.length > 1) throw invalid({ lineId: 'выберите линию' });
  // none usable: say why, the most fundamental reason first
  const active = await ctx.db.select().from(phoneLines).where(eq(phoneLines.active, true)).orderBy(asc(phoneLines.id));
  if (!active.length) throw invalid({ lineId: 'нет ни одной линии: администратор добавляет номера в «Линии»' });
  const configured = active.filter((l) => !!clients[l.provider]);
  if (!configured.length) throw notConfigured(active[0]!.provider);
  throw noExtension(configured[0]!.provider);
}

/**
 * Click-to-call: the actor's phone rings, then the client is dialled from the line. The call row is
 * written first (with our command id, which the provider's events find it by), then the provider
 * is asked; a refusal marks the row failed and comes back as a ServiceError with its reason.
 */
export async function placeCall(ctx: ServiceContext, clients: TelephonyClients, input: PlaceCallInput): Promise<Call> {
  const me = requireUser(ctx);
  const number = typeof input.number === 'string' ? normalizePhone(input.number) : null;
  if (!number) throw invalid({ number: 'номер телефона не распознан' });
  const line = await chooseLine(ctx, clients, input.lineId);
  const client = clients[line.provider];
  if (!client) throw notConfigured(line.provider);
  const extension = await extensionOf(ctx, me.userId, line.provider);
  if (!extension) throw noExtension(line.provider);

  // the records the call is made from, read through the actor's access; else whoever has this number
  const contact = input.contactId ? await getContact(ctx, input.contactId) : null;
  const counterparty = input.counterpartyId ? await getCounterparty(ctx, input.counterpartyId) : null;
  const lead = input.leadId ? await getLead(ctx, input.leadId) : null;
  const deal = input.dealId ? await getDeal(ctx, input.dealId) : null;
  const links =
    contact || counterparty || lead || deal
      ? {
          contactId: contact?.id ?? lead?.contactId ?? deal?.contactId ?? null,
          counterpartyId: counterparty?.id ?? contact?.counterpartyId ?? lead?.counterpartyId ?? deal?.counterpartyId ?? null,
          leadId: lead?.id ?? null,
          dealId: deal?.id ?? null,
        }
      : await findCallClient(ctx, number, { createUnknown: false });

  const commandId = randomUUID();
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(calls)
    .values({
      direction: 'out',
      fromNumber: line.number,
      toNumber: number,
      clientNumber: number,
      contactId: links.contactId,
      counterpartyId: links.counterpartyId,
      leadId: links.leadId,
      dealId: links.dealId,
      userId: me.userId,
      provider: line.provider,
      lineId: line.id,
      commandId,
      status: 'ringing',
      at: now,
      updatedAt: now,
    })
    .returning();
  const call = row!;

  let callKey: string | undefined;
  try {
    ({ callKey } = await client.placeCall({ extension, toNumber: number, lineNumber: line.number, commandId }));
  } catch (err) {
    const reason = err instanceof TelephonyError ? err.message : `${phoneProviderLabels[line.provider]} не отвечает, попробуйте позже`;
    if (!(err instanceof TelephonyError)) ctx.log.error({ err, callId: call.id }, 'telephony: placing a call failed');
    const t = ctx.clock.now();
    await ctx.db.update(calls).set({ status: 'failed', endedAt: t, disconnectReason: reason.slice(0, 200), updatedAt: t }).where(eq(calls.id, call.id));
    throw err instanceof TelephonyError && !err.retryable ? new ServiceError('invalid', reason) : new ServiceError('unavailable', reason);
  }
  if (callKey) return adoptCallKey(ctx, call.id, line.provider, callKey);
  return (await ctx.db.select().from(calls).where(eq(calls.id, call.id)))[0]!;
}

/**
 * The provider answered with its call key (Kazoo): the row gets it, unless an event for that key
 * came first and made its own row, which then takes this row's click (user, links, command id) and
 * this one goes.
 */
async function adoptCallKey(ctx: ServiceContext, callId: number, provider: PhoneProvider, callKey: string): Promise<Call> {
  return inTransaction(ctx, async (tx) => {
    await lockKeys(tx, callKeyLock(provider, callKey));
    const [mine] = await tx.db.select().from(calls).where(eq(calls.id, callId));
    if (!mine || mine.providerCallId) return mine!;
    const [other] = await tx.db.select().from(calls).where(and(eq(calls.provider, provider), eq(calls.providerCallId, callKey)));
    if (!other) {
      const [row] = await tx.db.update(calls).set({ providerCallId: callKey, updatedAt: tx.clock.now() }).where(eq(calls.id, callId)).returning();
      return row!;
    }
    await tx.db.delete(calls).where(eq(calls.id, callId));
    const [row] = await tx.db
      .update(calls)
      .set({
        commandId: mine.commandId,
        userId: other.userId ?? mine.userId,
        lineId: other.lineId ?? mine.lineId,
        contactId: mine.contactId ?? other.contactId,
        counterpartyId: mine.counterpartyId ?? other.counterpartyId,
        leadId: mine.leadId ?? other.leadId,
        dealId: mine.dealId ?? other.dealId,
        direction: 'out',
        fromNumber: other.fromNumber || mine.fromNumber,
        toNumber: other.toNumber || mine.toNumber,
        clientNumber: other.clientNumber ?? mine.clientNumber,
        at: mine.at < other.at ? mine.at : other.at,
        updatedAt: tx.clock.now(),
      })
      .where(eq(calls.id, other.id))
      .returning();
    return row!;
  });
}

/**
 * «Принять»: the actor takes a ringing incoming call; where the provider can route a ringing call
 * and the actor has an extension there, the call is sent to their phone. Someone else having taken
 * it is a conflict; taking one's own call again changes nothing.
 */
export async function claimCall(ctx: ServiceContext, clients: TelephonyClients, callId: number): Promise<Call> {
  const me = requireUser(ctx);
  await getCall(ctx, callId);
  const call = await inTransaction(ctx, async (tx) => {
    const [c] = await tx.db.select().from(calls).where(eq(calls.id, callId));
    if (c!.provider && c!.providerCallId) await lockKeys(tx, callKeyLock(c!.provider, c!.providerCallId));
    const [row] = await tx.db.select().from(calls).where(eq(calls.id, callId));
    if (row!.endedAt || (row!.status !== 'ringing' && row!.status !== 'talking')) throw conflict('Звонок уже завершён');
    const byOther = row!.userId && row!.userId !== me.userId && (row!.claimedAt || row!.status === 'talking');
    if (byOther) throw conflict('Звонок уже принял другой сотрудник');
    if (row!.userId === me.userId && row!.claimedAt) return row!;
    const [after] = await tx.db
      .update(calls)
      .set({ userId: me.userId, claimedAt: tx.clock.now(), updatedAt: tx.clock.now() })
      .where(eq(calls.id, callId))
      .returning();
    await sendSignal(tx, 'crm_calls', { kind: 'claimed', callId, userId: me.userId });
    return after!;
  });
  const client = call.provider ? clients[call.provider] : undefined;
  if (client?.routeCall && call.legId && call.status === 'ringing') {
    const extension = await extensionOf(ctx, me.userId, call.provider!);
    if (extension) {
      try {
        await client.routeCall({ legId: call.legId, extension, commandId: randomUUID() });
      } catch (err) {
        if (!(err instanceof TelephonyError)) ctx.log.error({ err, callId }, 'telephony: routing a call failed');
        const reason = err instanceof TelephonyError ? err.message : `${phoneProviderLabels[call.provider!]} не отвечает`;
        throw new ServiceError('unavailable', `Звонок закреплён за вами, но перевести его на ваш телефон не удалось: ${reason}`);
      }
    }
  }
  return call;
}
