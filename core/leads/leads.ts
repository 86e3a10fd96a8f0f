import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { contacts, counterparties, dealStages, deals, leadParticipants, leads, users } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, recordHistory } from '../shared/audit.js';
import { idField, kopecksField, optionalText } from '../shared/fields.js';
import { leadScope } from '../access/scope.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { findCampaign, findOrCreateCampaign } from './campaigns.js';
import { usableLossReason } from '../deals/loss-reasons.js';
import { cleanText } from '../validation/text.js';
import { pickResponsible } from './routing.js';
import { notify } from '../notifications/notify.js';
import { reachableOrFallback } from '../notifications/reach.js';
import type { LeadTracking } from '../db/schema/leads.js';
import { leadSourceLabels, leadStatusLabel } from './labels.js';

export type Lead = typeof leads.$inferSelect;

export type LeadSource = Lead['source'];
export type LeadStatus = Lead['status'];
export const leadSources = ['manual', 'website', 'telegram', 'whatsapp', 'viber', 'social', 'phone', 'email', 'import'] as const;

const trackingInput = z
  .object({
    utm_source: z.string().max(200).optional(),
    utm_medium: z.string().max(200).optional(),
    utm_campaign: z.string().max(200).optional(),
    utm_content: z.string().max(500).optional(),
    utm_term: z.string().max(500).optional(),
    yclid: z.string().max(200).optional(),
    gclid: z.string().max(200).optional(),
    fbclid: z.string().max(500).optional(),
    page_url: z.string().max(2000).optional(),
    network: z.string().max(100).optional(),
  })
  .default({});

export const leadInput = z.object({
  title: z.string().trim().min(1, 'укажите название лида').max(500),
  source: z.enum(leadSources, 'неизвестный источник'),
  tracking: trackingInput,
  counterpartyId: idField.nullish(),
  contactId: idField.nullish(),
  responsibleId: idField.nullish(),
  comment: optionalText,
  externalId: optionalText,
});
export type LeadInput = z.input<typeof leadInput>;

/**
 * Creates a lead. The campaign is found or created from the UTM tags (R15). Without an explicit
 * responsible: a manager creating it takes it, otherwise routing picks one. The same externalId
 * twice returns the first lead.
 */
export async function createLead(ctx: ServiceContext, input: LeadInput, opts: { announce?: boolean } = {}): Promise<Lead> {
  const data = parseInput(leadInput, input);
  return inTransaction(ctx, async (tx) => {
    if (data.externalId) {
      const [dup] = await tx.db.select().from(leads).where(eq(leads.externalId, data.externalId));
      if (dup) return dup;
    }
    if (data.counterpartyId) await getCounterparty(tx, data.counterpartyId);
    if (data.contactId) {
      const c = await getContact(tx, data.contactId);
      data.counterpartyId ??= c.counterpartyId;
    }
    if (data.responsibleId) await requireActiveUser(tx, data.responsibleId, 'responsibleId');
    const campaign = await findOrCreateCampaign(tx, data.tracking as LeadTracking);
    const responsibleId =
      data.responsibleId ??
      (tx.actor.kind === 'user' && tx.actor.role === 'manager' ? tx.actor.userId : await pickResponsible(tx, data.counterpartyId));
    const now = tx.clock.now();
    const [lead] = await tx.db
      .insert(leads)
      .values({
        title: data.title,
        source: data.source,
        tracking: data.tracking as LeadTracking,
        campaignId: campaign?.id ?? null,
        counterpartyId: data.counterpartyId ?? null,
        contactId: data.contactId ?? null,
        responsibleId,
        comment: data.comment ?? null,
        externalId: data.externalId ?? null,
        createdBy: tx.actor.kind === 'user' ? tx.actor.userId : null,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await audit(tx, 'create', 'lead', lead!.id, created({ title: lead!.title, source: lead!.source, responsibleId }));
    await recordHistory(tx, 'lead', lead!.id, 'created', `Лид создан (источник: ${leadSourceLabels[lead!.source]})`, { campaignId: campaign?.id ?? null });
    // nobody needs to be told about a lead they just typed in themselves; a caller that tells the
    // responsible in its own words (an incoming call's card) announces it itself
    if (opts.announce !== false && !(tx.actor.kind === 'user' && tx.actor.userId === responsibleId)) await announceNewLead(tx, lead!, campaign?.name ?? null);
    return lead!;
  });
}

/**
 * «Новый лид» to its responsible; a lead always reaches a person: when the responsible cannot be told,
 * the heads (or admins) are, with the reason.
 */
export async function announceNewLead(tx: ServiceContext, lead: Lead, campaignName: string | null): Promise<void> {
  const responsibleId = lead.responsibleId;
  const recipients = await reachableOrFallback(tx, responsibleId ? [responsibleId] : []);
  const whyFallback = responsibleId && recipients.includes(responsibleId) ? null : await unreachableReason(tx, responsibleId);
  const text = [
    `Новый лид №${lead.id}: ${lead.title}`,
    `Источник: ${leadSourceLabels[lead.source]}${campaignName ? `, кампания: ${campaignName}` : ''}`,
    ...(lead.comment ? [lead.comment] : []),
    ...(whyFallback ? [`⚠️ ${whyFallback}`] : []),
  ].join('\n');
  await notify(
    tx,
    recipients.map((userId) => ({ kind: 'new_lead' as const, userId, leadId: lead.id, text, dedupeKey: `lead:${lead.id}:new` })),
  );
}

/** Why a lead's responsible will not hear of it, said to whoever is told instead. */
async function unreachableReason(ctx: ServiceContext, responsibleId: number | null): Promise<string> {
  if (!responsibleId) return 'Ответственный не назначен: возьмите лид или назначьте менеджера.';
  const [u] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, responsibleId));
  return `Ответственный ${u?.name ?? `№${responsibleId}`} не подключил Telegram и не узнает о лиде: ответьте клиенту или назначьте другого.`;
}

async function requireActiveUser(ctx: ServiceContext, userId: number, field: string) {
  const [u] = await ctx.db.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, userId));
  if (!u || !u.active) throw invalid({ [field]: 'нет такого активного пользователя' });
}

export async function getLead(ctx: ServiceContext, id: number): Promise<Lead> {
  const scope = leadScope(ctx);
  const [row] = await ctx.db
    .select({ l: leads, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(leads)
    .where(eq(leads.id, id));
  if (!row) throw notFound('Лид');
  if (!row.visible) throw forbidden('Этот лид вам недоступен');
  return row.l;
}

export const leadFilterInput = z.object({
  status: z.union([z.enum(['new', 'in_progress', 'converted', 'closed']), z.literal('open')]).optional(),
  source: z.enum(leadSources).optional(),
  responsibleId: idField.optional(),
  /** leads where this user is responsible or a participant */
  mineFor: idField.optional(),
  campaignId: idField.optional(),
  counterpartyId: idField.optional(),
  contactId: idField.optional(),
  /** open leads whose client wrote last: nobody has answered yet */
  awaitingReply: z.boolean().optional(),
});
export type LeadFilter = z.input<typeof leadFilterInput>;

export async function listLeads(
  ctx: ServiceContext,
  filter: LeadFilter = {},
  opts: { limit?: number; offset?: number; withTotal?: boolean } = {},
): Promise<{ items: Lead[]; total?: number }> {
  const f = parseInput(leadFilterInput, filter);
  const conds: (SQL | undefined)[] = [leadScope(ctx)];
  if (f.status === 'open') conds.push(inArray(leads.status, ['new', 'in_progress']));
  else if (f.status) conds.push(eq(leads.status, f.status));
  if (f.source) conds.push(eq(leads.source, f.source));
  if (f.responsibleId) conds.push(eq(leads.responsibleId, f.responsibleId));
  if (f.mineFor) {
    conds.push(sql`(${leads.responsibleId} = ${f.mineFor} OR ${leads.id} IN (SELECT lead_id FROM lead_participants WHERE user_id = ${f.mineFor}))`);
  }
  if (f.campaignId) conds.push(eq(leads.campaignId, f.campaignId));
  if (f.counterpartyId) conds.push(eq(leads.counterpartyId, f.counterpartyId));
  if (f.contactId) conds.push(eq(leads.contactId, f.contactId));
  if (f.awaitingReply) conds.push(inArray(leads.status, ['new', 'in_progress']), sql`${lastDirection(sql`${leads.id}`)} = 'in'`);
  const where = and(...conds);
  const items = await ctx.db
    .select()
    .from(leads)
    .where(where)
    .orderBy(desc(leads.createdAt), desc(leads.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500))
    .offset(opts.offset ?? 0);
  if (!opts.withTotal) return { items };
  const [t] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(leads).where(where);
  return { items, total: t!.n };
}

/** The direction of the newest message in a lead's conversations ('in': the client wrote last). */
const lastDirection = (leadId: SQL) =>
  sql`(SELECT m.direction FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE cv.lead_id = ${leadId} ORDER BY m.at DESC, m.id DESC LIMIT 1)`;

/** Of these leads, the open ones whose client is waiting for an answer (for the panel's «ждёт ответа»). */
export async function leadsAwaitingReply(ctx: ServiceContext, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const rows = await ctx.db
    .select({ id: leads.id })
    .from(leads)
    .where(and(inArray(leads.id, ids), inArray(leads.status, ['new', 'in_progress']), sql`${lastDirection(sql`${leads.id}`)} = 'in'`));
  return new Set(rows.map((r) => r.id));
}

const isOpen = (l: Lead) => l.status === 'new' || l.status === 'in_progress';

/** Assigns the lead; a manager may only take it for themselves. */
export async function assignLead(ctx: ServiceContext, leadId: number, userId: number): Promise<Lead> {
  const lead = await getLead(ctx, leadId);
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager' && ctx.actor.userId !== userId) {
    throw forbidden('Менеджер может взять лид только на себя');
  }
  if (!isOpen(lead)) throw conflict('Лид уже закрыт');
  await requireActiveUser(ctx, userId, 'userId');
  if (lead.responsibleId === userId && lead.status === 'in_progress') return lead;
  const [after] = await ctx.db
    .update(leads)
    .set({ responsibleId: userId, status: 'in_progress', updatedAt: ctx.clock.now() })
    .where(eq(leads.id, leadId))
    .returning();
  await audit(ctx, 'assign', 'lead', leadId, { responsibleId: { from: lead.responsibleId, to: userId }, status: { from: lead.status, to: 'in_progress' } });
  await recordHistory(ctx, 'lead', leadId, 'assigned', 'Назначен ответственный', { from: lead.responsibleId, to: userId });
  if (lead.responsibleId !== userId && !(ctx.actor.kind === 'user' && ctx.actor.userId === userId)) {
    await notify(ctx, { kind: 'lead_assigned', userId, leadId, text: `Вам назначен лид №${leadId}: ${lead.title}`, dedupeKey: `lead:${leadId}:assigned:${userId}:${ctx.clock.now().getTime()}` });
  }
  return after!;
}

/** «Взять лид»: the acting manager becomes responsible. */
export async function takeLead(ctx: ServiceContext, leadId: number): Promise<Lead> {
  if (ctx.actor.kind !== 'user') throw forbidden();
  return assignLead(ctx, leadId, ctx.actor.userId);
}

/** R9a: a participant gets access to this one lead. */
export async function addLeadParticipant(ctx: ServiceContext, leadId: number, userId: number): Promise<void> {
  await getLead(ctx, leadId);
  await requireActiveUser(ctx, userId, 'userId');
  const inserted = await ctx.db.insert(leadParticipants).values({ leadId, userId }).onConflictDoNothing().returning();
  if (inserted.length) {
    await audit(ctx, 'add_participant', 'lead', leadId, { participant: { from: null, to: userId } });
    await recordHistory(ctx, 'lead', leadId, 'participant_added', 'Добавлен участник', { userId });
  }
}

export async function removeLeadParticipant(ctx: ServiceContext, leadId: number, userId: number): Promise<void> {
  await getLead(ctx, leadId);
  const removed = await ctx.db
    .delete(leadParticipants)
    .where(and(eq(leadParticipants.leadId, leadId), eq(leadParticipants.userId, userId)))
    .returning();
  if (removed.length) {
    await audit(ctx, 'remove_participant', 'lead', leadId, { participant: { from: userId, to: null } });
    await recordHistory(ctx, 'lead', leadId, 'participant_removed', 'Участник удалён', { userId });
  }
}

export async function listLeadParticipants(ctx: ServiceContext, leadId: number) {
  await getLead(ctx, leadId);
  return ctx.db
    .select({ id: users.id, name: users.name, email: users.email })
    .from(leadParticipants)
    .innerJoin(users, eq(users.id, leadParticipants.userId))
    .where(eq(leadParticipants.leadId, leadId))
    .orderBy(asc(users.name));
}

/** «Лид закрыт: Дорого — клиент ушёл к другому» */
export async function closeLead(ctx: ServiceContext, leadId: number, input?: string | { lossReasonId?: number | null; comment?: string | null }): Promise<Lead> {
  // the string form (bots, demo) is the manager's words; the object form adds a reason from «Причины отказа»
  const given = typeof input === 'string' ? { comment: input } : (input ?? {});
  const comment = given.comment ? cleanText(given.comment).trim() || null : null;
  if (typeof input === 'object' && !given.lossReasonId && !comment) throw invalid({ lossReasonId: 'укажите причину отказа или комментарий' });
  if (comment && comment.length > 2000) throw invalid({ comment: 'комментарий длиннее 2000 знаков' });
  return inTransaction(ctx, async (tx) => {
    const lead = await getLead(tx, leadId);
    if (!isOpen(lead)) throw conflict(lead.status === 'converted' ? 'Лид уже переведён в сделку' : 'Лид уже закрыт');
    const reason = given.lossReasonId ? await usableLossReason(tx, given.lossReasonId) : null;
    const now = tx.clock.now();
    const [after] = await tx.db
      .update(leads)
      .set({ status: 'closed', closedAt: now, updatedAt: now, lossReasonId: reason?.id ?? null, closeComment: comment })
      .where(eq(leads.id, leadId))
      .returning();
    await audit(tx, 'close', 'lead', leadId, {
      status: { from: lead.status, to: 'closed' },
      ...(reason ? { lossReasonId: { from: lead.lossReasonId, to: reason.id } } : {}),
      ...(comment ? { closeComment: { from: lead.closeComment, to: comment } } : {}),
    });
    const why = [reason?.name, comment].filter(Boolean).join(' — ');
    await recordHistory(tx, 'lead', leadId, 'status_changed', why ? `Лид закрыт: ${why}` : 'Лид закрыт', { from: lead.status, to: 'closed', lossReasonId: reason?.id ?? null });
    return after!;
  });
}

/** «Взять в работу»: a new lead becomes «В работе» (already in work: nothing changes). */
export async function setLeadInProgress(ctx: ServiceContext, leadId: number): Promise<Lead> {
  const lead = await getLead(ctx, leadId);
  if (!isOpen(lead)) throw conflict(lead.status === 'converted' ? 'Лид уже переведён в сделку' : 'Лид закрыт');
  if (lead.status === 'in_progress') return lead;
  const [after] = await ctx.db.update(leads).set({ status: 'in_progress', updatedAt: ctx.clock.now() }).where(eq(leads.id, leadId)).returning();
  await audit(ctx, 'update', 'lead', leadId, { status: { from: lead.status, to: 'in_progress' } });
  await recordHistory(ctx, 'lead', leadId, 'status_changed', `Статус: ${leadStatusLabel[lead.status]} → ${leadStatusLabel.in_progress}`, { from: lead.status, to: 'in_progress' });
  return after!;
}

const leadPatchInput = z.object({
  title: z.string('укажите название лида').trim().min(1, 'укажите название лида').max(500, 'название длиннее 500 знаков').optional(),
  source: z.enum(leadSources, 'неизвестный источник').optional(),
  campaignId: idField.nullable().optional(),
  comment: z.string().trim().max(4000, 'комментарий длиннее 4000 знаков').nullable().optional(),
  counterpartyId: idField.nullable().optional(),
  contactId: idField.nullable().optional(),
});
export type LeadPatch = z.input<typeof leadPatchInput>;

/** «Название», «Источник»…: a value in a history line, or «—» when empty. */
const shown = (v: string | null | undefined) => (v ? `«${v.length > 100 ? `${v.slice(0, 99)}…` : v}»` : '—');

/**
 * Edits a lead's title, source, campaign, comment and client. Only the given fields change; the
 * history says what changed from what, with names. An attached counterparty must be one the actor
 * sees; the contact must belong to it (a contact without a company, e.g. from a messenger, joins it).
 */
export async function updateLead(ctx: ServiceContext, leadId: number, patch: LeadPatch): Promise<Lead> {
  const data = parseInput(leadPatchInput, patch);
  return inTransaction(ctx, async (tx) => {
    const lead = await getLead(tx, leadId);
    const set: Partial<typeof leads.$inferInsert> = {};
    const lines: string[] = [];
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const change = <K extends keyof Lead>(key: K, to: Lead[K], line: string) => {
      if (lead[key] === to) return;
      (set as Record<string, unknown>)[key] = to;
      changes[key] = { from: lead[key], to };
      lines.push(line);
    };

    if (data.title !== undefined) change('title', cleanText(data.title), `название ${shown(lead.title)} → ${shown(cleanText(data.title))}`);
    if (data.source !== undefined) change('source', data.source, `источник: ${leadSourceLabels[lead.source]} → ${leadSourceLabels[data.source]}`);
    if (data.campaignId !== undefined && data.campaignId !== lead.campaignId) {
      const to = data.campaignId === null ? null : await findCampaign(tx, data.campaignId);
      if (data.campaignId !== null && !to) throw invalid({ campaignId: 'нет такой рекламной кампании' });
      const from = lead.campaignId ? await findCampaign(tx, lead.campaignId) : null;
      change('campaignId', to?.id ?? null, `кампания: ${shown(from?.name)} → ${shown(to?.name)}`);
    }
    if (data.comment !== undefined) {
      const to = data.comment ? cleanText(data.comment) : null;
      change('comment', to, `комментарий: ${shown(lead.comment)} → ${shown(to)}`);
    }

    // the client: a counterparty the actor sees, and a contact of it
    let counterpartyId = data.counterpartyId !== undefined ? data.counterpartyId : lead.counterpartyId;
    const contactId = data.contactId !== undefined ? data.contactId : lead.contactId;
    const counterparty = counterpartyId && counterpartyId !== lead.counterpartyId ? await getCounterparty(tx, counterpartyId) : null;
    let contactJoins: { id: number; name: string } | null = null;
    if (contactId && (contactId !== lead.contactId || counterpartyId !== lead.counterpartyId)) {
      const contact = await getContact(tx, contactId);
      if (!counterpartyId && contact.counterpartyId && data.counterpartyId === undefined) counterpartyId = contact.counterpartyId;
      if (counterpartyId && contact.counterpartyId && contact.counterpartyId !== counterpartyId) {
        throw invalid({ contactId: `контакт «${contact.name}» относится к другому контрагенту` });
      }
      if (counterpartyId && !contact.counterpartyId) contactJoins = { id: contact.id, name: contact.name };
    }
    const cpNames = await counterpartyNamesOf(tx, [lead.counterpartyId, counterpartyId]);
    const cpName = (id: number | null) => (id ? (cpNames.get(id) ?? `№${id}`) : null);
    if (counterpartyId !== lead.counterpartyId) {
      change('counterpartyId', counterpartyId, `контрагент: ${shown(cpName(lead.counterpartyId))} → ${shown(counterparty?.name ?? cpName(counterpartyId))}`);
    }
    if (contactId !== lead.contactId) {
      const names = await contactNamesOf(tx, [lead.contactId, contactId]);
      change('contactId', contactId, `контакт: ${shown(lead.contactId ? names.get(lead.contactId) : null)} → ${shown(contactId ? names.get(contactId) : null)}`);
    }
    if (!lines.length) return lead;

    const [after] = await tx.db.update(leads).set({ ...set, updatedAt: tx.clock.now() }).where(eq(leads.id, leadId)).returning();
    await audit(tx, 'update', 'lead', leadId, changes);
    await recordHistory(tx, 'lead', leadId, 'updated', `Лид изменён: ${lines.join('; ')}`, {});
    if (contactJoins && counterpartyId) {
      // a person known only from a messenger now belongs to the company the lead was attached to
      await tx.db.update(contacts).set({ counterpartyId, updatedAt: tx.clock.now() }).where(eq(contacts.id, contactJoins.id));
      await audit(tx, 'update', 'contact', contactJoins.id, { counterpartyId: { from: null, to: counterpartyId } });
      await recordHistory(tx, 'contact', contactJoins.id, 'updated', `Контрагент: — → ${shown(cpName(counterpartyId))} (вместе с лидом №${leadId})`, {});
    }
    return after!;
  });
}

async function counterpartyNamesOf(ctx: ServiceContext, ids: (number | null)[]): Promise<Map<number, string>> {
  const list = ids.filter((x): x is number => !!x);
  if (!list.length) return new Map();
  const rows = await ctx.db.select({ id: counterparties.id, name: counterparties.name }).from(counterparties).where(inArray(counterparties.id, list));
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function contactNamesOf(ctx: ServiceContext, ids: (number | null)[]): Promise<Map<number, string>> {
  const list = ids.filter((x): x is number => !!x);
  if (!list.length) return new Map();
  const rows = await ctx.db.select({ id: contacts.id, name: contacts.name }).from(contacts).where(inArray(contacts.id, list));
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * R10: one transaction creates the deal from the lead and marks the lead converted. Converting
 * twice is a conflict; any failure leaves neither a deal nor a converted lead.
 */
export async function convertLeadToDeal(
  ctx: ServiceContext,
  leadId: number,
  input: { title?: string; amount?: string | number | bigint; stageId?: number } = {},
) {
  const data = parseInput(
    z.object({ title: z.string().trim().min(1).optional(), amount: kopecksField.optional(), stageId: idField.optional() }),
    input,
  );
  return inTransaction(ctx, async (tx) => {
    await getLead(tx, leadId);
    // lock the row so that two conversions at once cannot both pass the status check
    const [lead] = await tx.db.select().from(leads).where(eq(leads.id, leadId)).for('update');
    if (lead!.status === 'converted') throw conflict('Лид уже переведён в сделку');
    if (lead!.status === 'closed') throw conflict('Лид закрыт: откройте его, чтобы перевести в сделку');
    const [stage] = data.stageId
      ? await tx.db.select().from(dealStages).where(eq(dealStages.id, data.stageId))
      : await tx.db.select().from(dealStages).orderBy(asc(dealStages.sortOrder)).limit(1);
    if (!stage) throw invalid({ stageId: 'нет такой стадии' });
    let counterpartyId = lead!.counterpartyId;
    if (!counterpartyId && lead!.contactId) {
      const [c] = await tx.db.select({ cp: contacts.counterpartyId }).from(contacts).where(eq(contacts.id, lead!.contactId));
      counterpartyId = c?.cp ?? null;
    }
    const now = tx.clock.now();
    const [lead2] = await tx.db.update(leads).set({ status: 'converted', closedAt: now, updatedAt: now }).where(eq(leads.id, leadId)).returning();
    const [deal] = await tx.db
      .insert(deals)
      .values({
        title: data.title ?? lead!.title,
        amountKopecks: data.amount ?? 0n,
        stageId: stage.id,
        counterpartyId,
        contactId: lead!.contactId,
        leadId,
        responsibleId: lead!.responsibleId ?? (tx.actor.kind === 'user' ? tx.actor.userId : null),
        comment: lead!.comment,
        createdBy: tx.actor.kind === 'user' ? tx.actor.userId : null,
        createdAt: now,
        updatedAt: now,
        closedAt: stage.isWon || stage.isLost ? now : null,
      })
      .returning();
    await audit(tx, 'convert', 'lead', leadId, { status: { from: lead!.status, to: 'converted' }, dealId: { from: null, to: deal!.id } });
    await audit(tx, 'create', 'deal', deal!.id, created({ title: deal!.title, leadId, amountKopecks: deal!.amountKopecks }));
    await recordHistory(tx, 'lead', leadId, 'converted', `Лид переведён в сделку №${deal!.id}`, { dealId: deal!.id });
    await recordHistory(tx, 'deal', deal!.id, 'created', `Сделка создана из лида №${leadId}`, { leadId });
    return { lead: lead2!, deal: deal! };
  });
}
