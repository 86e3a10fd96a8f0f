import { createHash } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../../context.js';
import { apiIdempotencyKeys, campaigns, contacts, counterparties, leads } from '../../db/schema/index.js';
import { conflict, notFound, ServiceError } from '../../errors.js';
import { parseInput } from '../../shared/input.js';
import { audit, created, recordHistory } from '../../shared/audit.js';
import { findContactByPhone, type Contact } from '../../contacts/contacts.js';
import { createCounterparty } from '../../counterparties/counterparties.js';
import { leadScope } from '../../access/scope.js';
import { createLead, type Lead } from '../leads.js';
import { openLeadOrDeal, recordRepeatRequest, repeatRecorded } from '../open-request.js';
import { formatPhone, normalizePhone } from '../../validation/phone.js';
import { normalizeEmail } from '../../validation/email.js';
import type { LeadTracking } from '../../db/schema/leads.js';
import { isUniqueViolation } from '../../shared/db-errors.js';

const text = (max: number) =>
  z
    .string('ожидается строка')
    .trim()
    .max(max, `не длиннее ${max} символов`)
    .transform((s) => (s === '' ? undefined : s))
    .optional();

/** A lead from the website API, a Tilda form or a social network's lead form (R9, R14–R16). */
export const webLeadInput = z
  .object({
    name: text(300),
    phone: text(50),
    email: text(320),
    company: text(500),
    comment: text(10_000),
    page_url: text(2000),
    utm_source: text(200),
    utm_medium: text(200),
    utm_campaign: text(200),
    utm_content: text(500),
    utm_term: text(500),
    yclid: text(200),
    gclid: text(200),
    fbclid: text(500),
    network: text(100),
    external_id: text(200),
  })
  .superRefine((v, ctx) => {
    if (v.phone && !normalizePhone(v.phone)) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'неверный номер телефона' });
    if (v.email && !normalizeEmail(v.email)) ctx.addIssue({ code: 'custom', path: ['email'], message: 'неверный e-mail' });
    if (!v.phone && !v.email) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'укажите телефон или e-mail' });
  });
export type WebLeadInput = z.input<typeof webLeadInput>;

export interface WebLeadOptions {
  source: 'website' | 'social';
  /** who sent it, the start of the lead's title: «Заявка с сайта», «Tilda: Лендинг», «VK» */
  sourceLabel: string;
  /** overrides `external_id` (webhooks scope theirs by source: `tilda:3:<tranid>`) */
  externalId?: string | undefined;
  /** the website API's `Idempotency-Key`, remembered per API key with a hash of the request */
  idempotency?: { apiKeyId: number; key: string } | undefined;
}

/**
 * The same `Idempotency-Key` again with other fields: a different request, refused rather than
 * answered with the first one's lead (the website API answers 422, as the IETF Idempotency-Key draft asks).
 */
export class IdempotencyKeyReused extends ServiceError {
  constructor() {
    super('invalid', 'Этот Idempotency-Key уже использован с другими данными заявки: для новой заявки нужен новый ключ', {
      'idempotency-key': 'уже использован с другими данными заявки',
    });
  }
}

/** An API key's external ids carry its prefix: another key (or a webhook) sending the same id reaches another lead. */
const apiExternalIdPrefix = (apiKeyId: number) => `api:${apiKeyId}:`;

/** The request as parsed, keys in order: the same fields in another order or spacing are the same request. */
const requestHash = (d: Record<string, unknown>): string =>
  createHash('sha256')
    .update(JSON.stringify(Object.keys(d).sort().map((k) => [k, d[k] ?? null])))
    .digest('hex');

/**
 * Creates the lead a form or the website API submitted: the contact is found by phone, then
 * e-mail, or created; `company` finds or creates the counterparty; the campaign comes from the UTM
 * tags; routing picks the responsible, who is told in Telegram. A client who already has an open
 * lead or deal gets no second lead: the request is added to it (`repeat: true`). The same external
 * id or idempotency key again returns the first lead (`created: false`) and changes nothing; the same
 * idempotency key with other fields is refused (IdempotencyKeyReused). A website API key's lead
 * remembers the key, and its external ids are its own (stored as `api:<key id>:<external_id>`).
 */
export interface WebLeadResult {
  lead: Lead;
  /** a new lead was opened */
  created: boolean;
  /** the client has an open lead or deal: the request was added to it as «Повторное обращение» */
  repeat: boolean;
}

export async function submitWebLead(ctx: ServiceContext, input: WebLeadInput, opts: WebLeadOptions): Promise<WebLeadResult> {
  const d = parseInput(webLeadInput, input);
  // the website API's lead belongs to its key: the key's external ids are its own, and it reads the lead back
  const apiKeyId = ctx.actor.kind === 'apiKey' ? ctx.actor.apiKeyId : null;
  const externalId = opts.externalId ?? (apiKeyId && d.external_id ? `${apiExternalIdPrefix(apiKeyId)}${d.external_id}` : d.external_id);
  const attempt = () =>
    inTransaction(ctx, async (tx) => {
      if (opts.idempotency) {
        const hash = requestHash(d);
        // a concurrent request with the same key waits here until the first commits
        const claimed = await tx.db
          .insert(apiIdempotencyKeys)
          .values({ apiKeyId: opts.idempotency.apiKeyId, key: opts.idempotency.key, requestHash: hash, createdAt: tx.clock.now() })
          .onConflictDoNothing()
          .returning();
        if (!claimed.length) {
          const [row] = await tx.db
            .select({ leadId: apiIdempotencyKeys.leadId, requestHash: apiIdempotencyKeys.requestHash })
            .from(apiIdempotencyKeys)
            .where(and(eq(apiIdempotencyKeys.apiKeyId, opts.idempotency.apiKeyId), eq(apiIdempotencyKeys.key, opts.idempotency.key)));
          // keys taken before hashes were kept (null) cannot be compared: they answer as before
          if (row?.requestHash && row.requestHash !== hash) throw new IdempotencyKeyReused();
          if (!row?.leadId) throw conflict('Запрос с этим Idempotency-Key ещё выполняется');
          return { lead: await leadRow(tx, row.leadId), created: false, repeat: false };
        }
      }
      const remember = async (leadId: number) => {
        if (!opts.idempotency) return;
        await tx.db
          .update(apiIdempotencyKeys)
          .set({ leadId })
          .where(and(eq(apiIdempotencyKeys.apiKeyId, opts.idempotency.apiKeyId), eq(apiIdempotencyKeys.key, opts.idempotency.key)));
      };
      if (externalId) {
        const [dup] = await tx.db.select().from(leads).where(eq(leads.externalId, externalId));
        if (dup) {
          await remember(dup.id);
          return { lead: dup, created: false, repeat: false };
        }
      }

      const phone = d.phone ? normalizePhone(d.phone) : null;
      const email = d.email ? normalizeEmail(d.email) : null;
      // the same keys as the messenger pipeline: one person writing and filling a form at once is one contact
      if (phone) await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`inbound:phone:${phone}`}, 0))`);
      if (email) await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`inbound:email:${email}`}, 0))`);
      let contact = await findOrCreateContact(tx, d.name, phone, email);
      let counterpartyId = contact.counterpartyId;
      if (!counterpartyId && d.company) {
        counterpartyId = await findOrCreateCounterparty(tx, d.company, phone, email);
        [contact] = (await tx.db.update(contacts).set({ counterpartyId, updatedAt: tx.clock.now() }).where(eq(contacts.id, contact.id)).returning()) as [Contact];
      }

      // the same client asking again while their lead or deal is open: one record, one manager
      const open = await openLeadOrDeal(tx, contact.id);
      const repeatOf = open.lead?.id ?? open.deal?.leadId ?? null;
      if (repeatOf) {
        const entity = open.lead ? { type: 'lead' as const, id: open.lead.id } : { type: 'deal' as const, id: open.deal!.id };
        if (!externalId || !(await repeatRecorded(tx, entity, externalId))) {
          await recordRepeatRequest(tx, open, { sourceLabel: opts.sourceLabel, contactName: contact.name, comment: d.comment, externalId });
        }
        await remember(repeatOf);
        return { lead: await leadRow(tx, repeatOf), created: false, repeat: true };
      }

      const tracking: LeadTracking = {};
      for (const k of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'yclid', 'gclid', 'fbclid', 'page_url', 'network'] as const) {
        if (d[k]) tracking[k] = d[k];
      }
      let lead = await createLead(tx, {
        title: `${opts.sourceLabel}: ${d.company ?? contact.name}`,
        source: opts.source,
        tracking,
        contactId: contact.id,
        counterpartyId,
        comment: d.comment ?? null,
        externalId: externalId ?? null,
      });
      if (apiKeyId) [lead] = (await tx.db.update(leads).set({ apiKeyId }).where(eq(leads.id, lead.id)).returning()) as [Lead];
      await remember(lead.id);
      // createLead routes the lead and tells the responsible in Telegram (kind new_lead)
      return { lead, created: true, repeat: false };
    });
  try {
    return await attempt();
  } catch (err) {
    // two deliveries of one external id at once: the second lost the insert, so the first exists now
    if (externalId && isUniqueViolation(err)) {
      const [dup] = await ctx.db.select().from(leads).where(eq(leads.externalId, externalId));
      if (dup) return { lead: dup, created: false, repeat: false };
    }
    throw err;
  }
}


async function leadRow(ctx: ServiceContext, id: number): Promise<Lead> {
  const [row] = await ctx.db.select().from(leads).where(eq(leads.id, id));
  if (!row) throw notFound('Лид');
  return row;
}

async function findOrCreateContact(tx: ServiceContext, name: string | undefined, phone: string | null, email: string | null): Promise<Contact> {
  let found = phone ? await findContactByPhone(tx, phone) : null;
  if (!found && email) {
    [found = null] = await tx.db
      .select()
      .from(contacts)
      .where(and(sql`${contacts.emails} @> ARRAY[${email}]::text[]`, isNull(contacts.mergedIntoId)))
      .orderBy(contacts.id)
      .limit(1);
  }
  const now = tx.clock.now();
  if (found) {
    const phones = phone && !found.phones.includes(phone) ? [...found.phones, phone] : found.phones;
    const emails = email && !found.emails.includes(email) ? [...found.emails, email] : found.emails;
    if (phones === found.phones && emails === found.emails) return found;
    const [after] = await tx.db.update(contacts).set({ phones, emails, updatedAt: now }).where(eq(contacts.id, found.id)).returning();
    await audit(tx, 'update', 'contact', found.id, { phones: { from: found.phones, to: phones }, emails: { from: found.emails, to: emails } });
    return after!;
  }
  const contactName = name ?? (phone ? formatPhone(phone) : email!);
  const [row] = await tx.db
    .insert(contacts)
    .values({ name: contactName, phones: phone ? [phone] : [], emails: email ? [email] : [], createdAt: now, updatedAt: now })
    .returning();
  await audit(tx, 'create', 'contact', row!.id, created({ name: contactName, phones: row!.phones, emails: row!.emails }));
  await recordHistory(tx, 'contact', row!.id, 'created', 'Контакт создан из заявки');
  return row!;
}

async function findOrCreateCounterparty(tx: ServiceContext, company: string, phone: string | null, email: string | null): Promise<number> {
  const [found] = await tx.db
    .select({ id: counterparties.id })
    .from(counterparties)
    .where(and(sql`lower(${counterparties.name}) = lower(${company})`, isNull(counterparties.mergedIntoId)))
    .orderBy(counterparties.id)
    .limit(1);
  if (found) return found.id;
  const cp = await createCounterparty(tx, { kind: 'legal_entity', name: company, phones: phone ? [phone] : [], emails: email ? [email] : [] });
  return cp.id;
}

/** The API shows an external id as its sender sent it, without the key's prefix. */
function shownExternalId(lead: Lead): string | null {
  const prefix = lead.apiKeyId ? apiExternalIdPrefix(lead.apiKeyId) : null;
  return prefix && lead.externalId?.startsWith(prefix) ? lead.externalId.slice(prefix.length) : lead.externalId;
}

export interface LeadCard {
  id: number;
  title: string;
  status: Lead['status'];
  source: Lead['source'];
  external_id: string | null;
  comment: string | null;
  created_at: string;
  responsible_id: number | null;
  contact: { id: number; name: string; phones: string[]; emails: string[] } | null;
  counterparty: { id: number; name: string } | null;
  campaign: { id: number; name: string; utm_source: string; utm_medium: string; utm_campaign: string } | null;
  tracking: LeadTracking;
}

/**
 * The lead as the website API shows it: with its contact, counterparty, campaign and UTM tags.
 * A lead the actor may not read is «not found», like one that does not exist, so ids cannot be probed.
 */
export async function getLeadCard(ctx: ServiceContext, id: number): Promise<LeadCard> {
  const card = await findLeadCard(ctx, id);
  if (!card) throw notFound('Лид');
  return card;
}

/** The lead's card, or null when there is no such lead or the actor may not read it. */
export async function findLeadCard(ctx: ServiceContext, id: number): Promise<LeadCard | null> {
  const [lead] = await ctx.db.select().from(leads).where(and(eq(leads.id, id), leadScope(ctx)));
  if (!lead) return null;
  const [contact] = lead.contactId
    ? await ctx.db.select({ id: contacts.id, name: contacts.name, phones: contacts.phones, emails: contacts.emails }).from(contacts).where(eq(contacts.id, lead.contactId))
    : [];
  const [cp] = lead.counterpartyId
    ? await ctx.db.select({ id: counterparties.id, name: counterparties.name }).from(counterparties).where(eq(counterparties.id, lead.counterpartyId))
    : [];
  const [campaign] = lead.campaignId ? await ctx.db.select().from(campaigns).where(eq(campaigns.id, lead.campaignId)) : [];
  return {
    id: lead.id,
    title: lead.title,
    status: lead.status,
    source: lead.source,
    external_id: shownExternalId(lead),
    comment: lead.comment,
    created_at: lead.createdAt.toISOString(),
    responsible_id: lead.responsibleId,
    contact: contact ?? null,
    counterparty: cp ?? null,
    campaign: campaign
      ? { id: campaign.id, name: campaign.name, utm_source: campaign.utmSource, utm_medium: campaign.utmMedium, utm_campaign: campaign.utmCampaign }
      : null,
    tracking: lead.tracking,
  };
}
