import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { contactIdentities, contacts, counterparties } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff, recordHistory } from '../shared/audit.js';
import { emailsField, idField, optionalText, phonesField } from '../shared/fields.js';
import { contactScope } from '../access/scope.js';
import { getCounterparty, escapeLike, phonesText } from '../counterparties/counterparties.js';
import { extensionsFor, normalizePhone, parsePhoneWithExtension, splitPhoneExtensions } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';

export type Contact = typeof contacts.$inferSelect;
export type ChannelKind = (typeof contactIdentities.$inferSelect)['channel'];

export const contactInput = z.object({
  name: z.string().trim().min(1, 'укажите имя'),
  position: optionalText,
  phones: phonesField,
  emails: emailsField,
  counterpartyId: idField.nullish(),
  comment: optionalText,
});
export type ContactInput = z.input<typeof contactInput>;

/** The contact schema with «… доб. 12» read: phones as E.164, their extensions apart (see splitPhoneExtensions). */
function parseContact(input: ContactInput, keepExtensions: Record<string, string> = {}) {
  const split = splitPhoneExtensions(input.phones, keepExtensions);
  const data = parseInput(contactInput, { ...input, phones: split.phones as string[] | undefined });
  return { ...data, phoneExtensions: extensionsFor(data.phones, split.extensions) };
}

export async function createContact(ctx: ServiceContext, input: ContactInput): Promise<Contact> {
  const data = parseContact(input);
  // linking to a counterparty needs access to it
  if (data.counterpartyId) await getCounterparty(ctx, data.counterpartyId);
  const now = ctx.clock.now();
  const [row] = await ctx.db.insert(contacts).values({ ...data, createdAt: now, updatedAt: now }).returning();
  await audit(ctx, 'create', 'contact', row!.id, created(data));
  await recordHistory(ctx, 'contact', row!.id, 'created', 'Контакт создан');
  return row!;
}

export async function getContact(ctx: ServiceContext, id: number): Promise<Contact> {
  const scope = contactScope(ctx);
  const [row] = await ctx.db
    .select({ c: contacts, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(contacts)
    .where(eq(contacts.id, id));
  if (!row) throw notFound('Контакт');
  if (row.c.mergedIntoId) return getContact(ctx, row.c.mergedIntoId);
  if (!row.visible) throw forbidden('Этот контакт вам недоступен');
  return row.c;
}

export async function updateContact(ctx: ServiceContext, id: number, patch: Partial<ContactInput>): Promise<Contact> {
  const before = await getContact(ctx, id);
  const data = parseContact(
    {
      name: before.name,
      position: before.position,
      phones: before.phones,
      emails: before.emails,
      counterpartyId: before.counterpartyId,
      comment: before.comment,
      ...patch,
    },
    before.phoneExtensions,
  );
  if (data.counterpartyId && data.counterpartyId !== before.counterpartyId) await getCounterparty(ctx, data.counterpartyId);
  const [after] = await ctx.db.update(contacts).set({ ...data, updatedAt: ctx.clock.now() }).where(eq(contacts.id, before.id)).returning();
  const changes = diff(before as unknown as Record<string, unknown>, data);
  if (Object.keys(changes).length) await audit(ctx, 'update', 'contact', before.id, changes);
  if (changes.phones || changes.phoneExtensions) {
    const summary = `Телефоны: ${phonesText(before.phones, before.phoneExtensions)} → ${phonesText(data.phones, data.phoneExtensions)}`;
    await recordHistory(ctx, 'contact', before.id, 'phones_changed', summary, { from: before.phones, to: data.phones });
  }
  if (changes.emails) {
    await recordHistory(ctx, 'contact', before.id, 'emails_changed', `E-mail: ${before.emails.join(', ') || 'нет'} → ${data.emails.join(', ') || 'нет'}`, changes.emails);
  }
  return after!;
}

/** Adds a phone (any notation, «доб. 12» kept as its extension) to a contact unless it is there. */
export async function addContactPhone(ctx: ServiceContext, contactId: number, phone: string): Promise<Contact> {
  const p = parsePhoneWithExtension(phone);
  if (!p) throw invalid({ phone: 'неверный номер телефона' });
  const c = await getContact(ctx, contactId);
  if (c.phones.includes(p.e164) && (!p.extension || c.phoneExtensions[p.e164] === p.extension)) return c;
  // the stored ones go back as E.164 and keep their extensions; the new one brings its own
  return updateContact(ctx, contactId, { phones: [...c.phones.filter((x) => x !== p.e164), phone] });
}

/** Ties a messenger account to a contact; one account belongs to one contact. */
export async function addIdentity(
  ctx: ServiceContext,
  contactId: number,
  identity: { channel: ChannelKind; externalId: string; displayName?: string | null },
): Promise<void> {
  const data = parseInput(
    z.object({ channel: z.enum(['telegram', 'whatsapp', 'viber']), externalId: z.string().trim().min(1), displayName: optionalText }),
    identity,
  );
  await getContact(ctx, contactId);
  const [existing] = await ctx.db
    .select()
    .from(contactIdentities)
    .where(and(eq(contactIdentities.channel, data.channel), eq(contactIdentities.externalId, data.externalId)));
  if (existing && existing.contactId !== contactId) throw conflict('Этот аккаунт уже привязан к другому контакту');
  if (!existing) await ctx.db.insert(contactIdentities).values({ contactId, ...data, createdAt: ctx.clock.now() });
}

export async function listIdentities(ctx: ServiceContext, contactId: number) {
  await getContact(ctx, contactId);
  return ctx.db.select().from(contactIdentities).where(eq(contactIdentities.contactId, contactId)).orderBy(asc(contactIdentities.id));
}

/** The contact behind a messenger account (no access check: the inbound pipeline uses it). */
export async function findContactByIdentity(ctx: ServiceContext, channel: ChannelKind, externalId: string): Promise<Contact | null> {
  const [row] = await ctx.db
    .select({ c: contacts })
    .from(contactIdentities)
    .innerJoin(contacts, eq(contacts.id, contactIdentities.contactId))
    .where(and(eq(contactIdentities.channel, channel), eq(contactIdentities.externalId, externalId)));
  return row?.c ?? null;
}

/** The oldest live contact with this phone, in any notation. */
export async function findContactByPhone(ctx: ServiceContext, phone: string): Promise<Contact | null> {
  const n = normalizePhone(phone);
  return n ? oldestLiveContactWith(ctx, contacts.phones, n) : null;
}

/** The oldest live contact with this e-mail (any case). */
export async function findContactByEmail(ctx: ServiceContext, email: string): Promise<Contact | null> {
  const n = normalizeEmail(email);
  return n ? oldestLiveContactWith(ctx, contacts.emails, n) : null;
}

async function oldestLiveContactWith(ctx: ServiceContext, column: typeof contacts.phones | typeof contacts.emails, value: string): Promise<Contact | null> {
  const [row] = await ctx.db
    .select()
    .from(contacts)
    .where(and(sql`${column} @> ARRAY[${value}]::text[]`, isNull(contacts.mergedIntoId)))
    .orderBy(asc(contacts.id))
    .limit(1);
  return row ?? null;
}

/** Text search on contacts: part of the name, phone in any notation, e-mail; with `fuzzy`, names by similarity too. One indexed lookup per way, joined by UNION (see counterpartyTextCondition). */
export function contactTextCondition(text: string, opts: { fuzzy: boolean }): SQL {
  const t = text.trim();
  const ways: SQL[] = [sql`SELECT cs.id FROM contacts cs WHERE cs.name ILIKE ${'%' + escapeLike(t) + '%'}`];
  if (opts.fuzzy && t.length >= 4) ways.push(sql`SELECT cs.id FROM contacts cs WHERE cs.name % ${t}`);
  const phone = t.replace(/\D/g, '').length >= 10 ? normalizePhone(t) : null;
  if (phone) ways.push(sql`SELECT cs.id FROM contacts cs WHERE cs.phones @> ARRAY[${phone}]::text[]`);
  const email = t.includes('@') ? normalizeEmail(t) : null;
  if (email) ways.push(sql`SELECT cs.id FROM contacts cs WHERE cs.emails @> ARRAY[${email}]::text[]`);
  return sql`${contacts.id} IN (${sql.join(ways, sql` UNION `)})`;
}

/** The text condition for what the actor may see: similarity only when nothing matches as typed (see counterpartyTextFor). */
export async function contactTextFor(ctx: ServiceContext, text: string): Promise<SQL> {
  const exact = contactTextCondition(text, { fuzzy: false });
  const [hit] = await ctx.db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(exact, isNull(contacts.mergedIntoId), contactScope(ctx)))
    .limit(1);
  return hit ? exact : contactTextCondition(text, { fuzzy: true });
}

export const contactFilterInput = z.object({
  text: z.string().trim().optional(),
  counterpartyId: idField.optional(),
  counterpartyKind: z.enum(['legal_entity', 'individual', 'sole_proprietor']).optional(),
  segmentId: idField.optional(),
  region: z.string().trim().optional(),
});
export type ContactFilter = z.input<typeof contactFilterInput>;

export async function contactFilterConditions(ctx: ServiceContext, filter: ContactFilter): Promise<SQL[]> {
  const f = parseInput(contactFilterInput, filter);
  const conds: (SQL | undefined)[] = [isNull(contacts.mergedIntoId), contactScope(ctx)];
  if (f.text) conds.push(await contactTextFor(ctx, f.text));
  if (f.counterpartyId) conds.push(eq(contacts.counterpartyId, f.counterpartyId));
  const cp: SQL[] = [];
  if (f.counterpartyKind) cp.push(sql`cp.kind = ${f.counterpartyKind}`);
  if (f.segmentId) cp.push(sql`cp.segment_id = ${f.segmentId}`);
  if (f.region) cp.push(sql`lower(cp.region) = lower(${f.region})`);
  if (cp.length) conds.push(sql`${contacts.counterpartyId} IN (SELECT cp.id FROM ${counterparties} cp WHERE ${sql.join(cp, sql` AND `)})`);
  return conds.filter((c): c is SQL => c !== undefined);
}

export async function listContacts(
  ctx: ServiceContext,
  filter: ContactFilter = {},
  opts: { limit?: number; offset?: number; withTotal?: boolean } = {},
): Promise<{ items: Contact[]; total?: number }> {
  const where = and(...(await contactFilterConditions(ctx, filter)));
  const items = await ctx.db
    .select()
    .from(contacts)
    .where(where)
    .orderBy(asc(contacts.name), asc(contacts.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500))
    .offset(opts.offset ?? 0);
  if (!opts.withTotal) return { items };
  const [t] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(contacts).where(where);
  return { items, total: t!.n };
}
