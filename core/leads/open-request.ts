import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { conversations, deals, leadParticipants, leads } from '../db/schema/index.js';
import { audit, recordHistory } from '../shared/audit.js';
import { notify } from '../notifications/notify.js';
import { reachableOrFallback } from '../notifications/reach.js';

/** `told`: those of the responsible and participants the bot can tell (active, Telegram linked); unknown for a lead made just now */
export type OpenLead = Pick<typeof leads.$inferSelect, 'id' | 'title' | 'responsibleId'> & { participants: number[]; told?: number[] };
export type OpenDeal = Pick<typeof deals.$inferSelect, 'id' | 'title' | 'responsibleId' | 'leadId'> & { told?: number[] };

/** Who of a record's people the bot can tell, as a column of the same query (every client message asks). */
const toldAmong = (who: ReturnType<typeof sql>) => sql<number[]>`array(SELECT u.id FROM users u WHERE u.active AND u.telegram_id IS NOT NULL AND ${who})`;

/** What a client's new request belongs to: their open lead, else their open deal. */
export async function openLeadOrDeal(tx: ServiceContext, contactId: number): Promise<{ lead: OpenLead | null; deal: OpenDeal | null }> {
  const [lead] = await tx.db
    .select({
      id: leads.id,
      title: leads.title,
      responsibleId: leads.responsibleId,
      participants: sql<number[]>`array(SELECT lp.user_id FROM lead_participants lp WHERE lp.lead_id = ${leads.id})`,
      told: toldAmong(sql`(u.id = ${leads.responsibleId} OR u.id IN (SELECT lp.user_id FROM lead_participants lp WHERE lp.lead_id = ${leads.id}))`),
    })
    .from(leads)
    .where(and(eq(leads.contactId, contactId), inArray(leads.status, ['new', 'in_progress'])))
    .orderBy(asc(leads.id))
    .limit(1);
  if (lead) return { lead: { ...lead, participants: lead.participants.map(Number), told: lead.told.map(Number) }, deal: null };
  const [deal] = await tx.db
    .select({ id: deals.id, title: deals.title, responsibleId: deals.responsibleId, leadId: deals.leadId, told: toldAmong(sql`u.id = ${deals.responsibleId}`) })
    .from(deals)
    .where(and(eq(deals.contactId, contactId), isNull(deals.closedAt)))
    .orderBy(desc(deals.id))
    .limit(1);
  return { lead: null, deal: deal ? { ...deal, told: deal.told.map(Number) } : null };
}

/** The people a request on this lead or deal is for, as far as the bot can tell them; else the heads. */
export async function requestRecipients(tx: ServiceContext, open: { lead: OpenLead | null; deal: OpenDeal | null }): Promise<number[]> {
  const known = open.lead ? open.lead.told : open.deal?.told;
  if (known?.length) return known;
  const ids = new Set<number>();
  if (open.lead) {
    if (open.lead.responsibleId) ids.add(open.lead.responsibleId);
    for (const p of open.lead.participants) ids.add(p);
  } else if (open.deal?.responsibleId) {
    ids.add(open.deal.responsibleId);
  }
  return reachableOrFallback(tx, [...ids]);
}

/**
 * A client with an open lead or deal asks again (another form, another channel): the request
 * joins that record as «Повторное обращение» in its history, and its people are told, instead
 * of a second lead with a second manager.
 */
export async function recordRepeatRequest(
  tx: ServiceContext,
  open: { lead: OpenLead | null; deal: OpenDeal | null },
  request: { sourceLabel: string; contactName: string; comment?: string | null | undefined; externalId?: string | null | undefined },
): Promise<void> {
  const entity = open.lead ? ({ type: 'lead', id: open.lead.id, title: open.lead.title, word: 'Лид' } as const) : ({ type: 'deal', id: open.deal!.id, title: open.deal!.title, word: 'Сделка' } as const);
  const summary = `Повторное обращение: ${request.sourceLabel}${request.comment ? ` — ${request.comment.slice(0, 500)}` : ''}`;
  await recordHistory(tx, entity.type, entity.id, 'repeat_request', summary, { source: request.sourceLabel, externalId: request.externalId ?? null });
  const text = [
    `${request.contactName} обратился снова: ${request.sourceLabel}`,
    `${entity.word} №${entity.id}: ${entity.title}`,
    ...(request.comment ? [`«${request.comment.slice(0, 1000)}»`] : []),
  ].join('\n');
  const at = tx.clock.now().getTime();
  await notify(
    tx,
    (await requestRecipients(tx, open)).map((userId) => ({
      kind: 'repeat_request' as const,
      userId,
      text,
      ...(open.lead ? { leadId: open.lead.id } : { dealId: open.deal!.id }),
      dedupeKey: `${entity.type}:${entity.id}:repeat:${request.externalId ?? at}`,
    })),
  );
}

/** Whether this submission (by its external id) was already recorded as a repeat request on the lead or deal. */
export async function repeatRecorded(tx: ServiceContext, entity: { type: 'lead' | 'deal'; id: number }, externalId: string): Promise<boolean> {
  const rows = await tx.db.execute(
    sql`SELECT 1 FROM history_events WHERE entity_type = ${entity.type} AND entity_id = ${entity.id} AND kind = 'repeat_request' AND data->>'externalId' = ${externalId} LIMIT 1`,
  );
  const list = Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows;
  return list.length > 0;
}

/**
 * One open lead per client: when merging shows a person had several, the oldest keeps going and
 * the others are closed into it (their chats and participants move), each with a history entry.
 */
export async function consolidateOpenLeads(tx: ServiceContext, contactId: number): Promise<void> {
  const open = await tx.db
    .select({ id: leads.id, title: leads.title, status: leads.status })
    .from(leads)
    .where(and(eq(leads.contactId, contactId), inArray(leads.status, ['new', 'in_progress'])))
    .orderBy(asc(leads.id));
  if (open.length < 2) return;
  const [keep, ...rest] = open as [(typeof open)[number], ...typeof open];
  const now = tx.clock.now();
  for (const dup of rest) {
    await tx.db.update(conversations).set({ leadId: keep.id }).where(eq(conversations.leadId, dup.id));
    await tx.db.execute(
      sql`INSERT INTO lead_participants (lead_id, user_id) SELECT ${keep.id}, user_id FROM lead_participants WHERE lead_id = ${dup.id} ON CONFLICT DO NOTHING`,
    );
    await tx.db.delete(leadParticipants).where(eq(leadParticipants.leadId, dup.id));
    await tx.db.update(leads).set({ status: 'closed', closedAt: now, updatedAt: now }).where(eq(leads.id, dup.id));
    await audit(tx, 'merge', 'lead', keep.id, { mergedLeadId: { from: dup.id, to: keep.id }, status: { from: dup.status, to: 'closed' } });
    await recordHistory(tx, 'lead', dup.id, 'merged', `Лид закрыт: тот же клиент, обращение продолжено в лиде №${keep.id}`, { into: keep.id });
    await recordHistory(tx, 'lead', keep.id, 'repeat_request', `Повторное обращение: объединён лид №${dup.id} «${dup.title}»`, { merged: dup.id });
  }
}
