import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { contactMailingTypes, contacts, counterparties, mailingTypes } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit } from '../shared/audit.js';
import { contactScope, requireRole } from '../access/scope.js';
import { contactFilterConditions, type ContactFilter } from '../contacts/contacts.js';
import { contactWithCounterparty } from './contact-list.js';

export type MailingType = typeof mailingTypes.$inferSelect;

const typeInput = z.object({
  name: z.string().trim().min(1, 'укажите название').max(200),
  description: z
    .string()
    .trim()
    .max(2000)
    .transform((s) => s || null)
    .nullish(),
});

/** Contacts of a type that the actor may see (R3 applies to mailing lists too). */
function visibleMembers(ctx: ServiceContext, typeId: SQL | number): SQL {
  const scope = contactScope(ctx);
  return sql`(SELECT count(*)::int FROM ${contactMailingTypes} cmt JOIN ${contacts} ON ${contacts.id} = cmt.contact_id
    WHERE cmt.mailing_type_id = ${typeId} AND ${contacts.mergedIntoId} IS NULL ${scope ? sql`AND ${scope}` : sql``})`;
}

/** The reference book «Тип рассылки», each with the number of its contacts the actor may see. */
export async function listMailingTypes(ctx: ServiceContext): Promise<(MailingType & { contacts: number })[]> {
  return ctx.db
    .select({
      id: mailingTypes.id,
      name: mailingTypes.name,
      description: mailingTypes.description,
      createdAt: mailingTypes.createdAt,
      contacts: sql<number>`${visibleMembers(ctx, sql`${mailingTypes.id}`)}`,
    })
    .from(mailingTypes)
    .orderBy(asc(mailingTypes.name));
}

export async function getMailingType(ctx: ServiceContext, id: number): Promise<MailingType & { contacts: number }> {
  const [row] = await ctx.db
    .select({
      id: mailingTypes.id,
      name: mailingTypes.name,
      description: mailingTypes.description,
      createdAt: mailingTypes.createdAt,
      contacts: sql<number>`${visibleMembers(ctx, id)}`,
    })
    .from(mailingTypes)
    .where(eq(mailingTypes.id, id));
  if (!row) throw notFound('Тип рассылки');
  return row;
}

export async function createMailingType(ctx: ServiceContext, input: z.input<typeof typeInput>): Promise<MailingType> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(typeInput, input);
  const [row] = await ctx.db
    .insert(mailingTypes)
    .values({ name: data.name, description: data.description ?? null, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`Тип рассылки «${data.name}» уже есть`);
  return row;
}

export async function updateMailingType(ctx: ServiceContext, id: number, input: z.input<typeof typeInput>): Promise<MailingType> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(typeInput, input);
  await getMailingType(ctx, id);
  const [dup] = await ctx.db.select({ id: mailingTypes.id }).from(mailingTypes).where(eq(mailingTypes.name, data.name));
  if (dup && dup.id !== id) throw conflict(`Тип рассылки «${data.name}» уже есть`);
  const [row] = await ctx.db.update(mailingTypes).set({ name: data.name, description: data.description ?? null }).where(eq(mailingTypes.id, id)).returning();
  return row!;
}

/** Refused while contacts are on the list: removing them first is a deliberate step. */
export async function deleteMailingType(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  await getMailingType(ctx, id);
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(contactMailingTypes).where(eq(contactMailingTypes.mailingTypeId, id));
  if (used!.n > 0) throw conflict(`Тип рассылки назначен контактам: ${used!.n}. Сначала снимите его с контактов`);
  await ctx.db.delete(mailingTypes).where(eq(mailingTypes.id, id));
}

/** How many contacts the filter matches for the actor: shown before a bulk assignment is confirmed. */
export async function countContacts(ctx: ServiceContext, filter: ContactFilter = {}): Promise<number> {
  const [r] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(contacts).where(and(...(await contactFilterConditions(ctx, filter))));
  return r!.n;
}

/**
 * «Назначить тип рассылки» (R19): to the given contacts, or to every contact the filter matches,
 * in one statement. Only contacts the actor may see are touched; contacts already on the list
 * stay as they are. Returns how many were added.
 */
export async function assignMailingType(ctx: ServiceContext, typeId: number, target: { ids: number[] } | { filter: ContactFilter }): Promise<number> {
  await getMailingType(ctx, typeId);
  const conds = 'ids' in target ? [...(await contactFilterConditions(ctx, {})), inArray(contacts.id, checkIds(target.ids))] : await contactFilterConditions(ctx, target.filter);
  const now = ctx.clock.now();
  const added = await ctx.db
    .insert(contactMailingTypes)
    .select(
      ctx.db
        .select({ contactId: contacts.id, mailingTypeId: sql<number>`${typeId}::int`.as('mailing_type_id'), assignedAt: sql<Date>`${now.toISOString()}::timestamptz`.as('assigned_at') })
        .from(contacts)
        .where(and(...conds)),
    )
    .onConflictDoNothing()
    .returning({ id: contactMailingTypes.contactId });
  await audit(ctx, 'assign_mailing_type', 'mailing_type', typeId, { contacts: { from: null, to: added.length } });
  return added.length;
}

/** Takes contacts off a list: the given ones, or all the actor may see. */
export async function removeFromMailingType(ctx: ServiceContext, typeId: number, target: { ids: number[] } | 'all'): Promise<number> {
  await getMailingType(ctx, typeId);
  const scope = contactScope(ctx);
  const ids = target === 'all' ? undefined : checkIds(target.ids);
  const removed = await ctx.db
    .delete(contactMailingTypes)
    .where(
      and(
        eq(contactMailingTypes.mailingTypeId, typeId),
        ids ? inArray(contactMailingTypes.contactId, ids) : undefined,
        scope ? sql`${contactMailingTypes.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${scope})` : undefined,
      ),
    )
    .returning({ id: contactMailingTypes.contactId });
  await audit(ctx, 'remove_mailing_type', 'mailing_type', typeId, { contacts: { from: removed.length, to: null } });
  return removed.length;
}

function checkIds(ids: number[]): number[] {
  const list = [...new Set(ids)];
  if (!list.length) throw invalid({ ids: 'выберите контакты' }, 'Выберите хотя бы один контакт');
  if (!list.every((n) => Number.isSafeInteger(n) && n > 0)) throw invalid({ ids: 'неверный номер контакта' });
  return list;
}

export interface MailingContactRow {
  id: number;
  name: string;
  position: string | null;
  phones: string[];
  phoneExtensions: Record<string, string>;
  emails: string[];
  counterpartyId: number | null;
  counterpartyName: string | null;
  counterpartyInn: string | null;
  region: string | null;
}

/** A page of a mailing type's contacts that the actor may see, by contact id (keyset: cheap at any depth). */
export async function listMailingTypeContacts(
  ctx: ServiceContext,
  typeId: number,
  opts: { afterId?: number; limit?: number } = {},
): Promise<MailingContactRow[]> {
  await getMailingType(ctx, typeId);
  const scope = contactScope(ctx);
  return ctx.db
    .select({
      ...contactWithCounterparty,
      counterpartyInn: counterparties.inn,
      region: counterparties.region,
    })
    .from(contactMailingTypes)
    .innerJoin(contacts, eq(contacts.id, contactMailingTypes.contactId))
    .leftJoin(counterparties, eq(counterparties.id, contacts.counterpartyId))
    .where(and(eq(contactMailingTypes.mailingTypeId, typeId), sql`${contacts.mergedIntoId} IS NULL`, gt(contacts.id, opts.afterId ?? 0), scope))
    .orderBy(asc(contacts.id))
    .limit(Math.min(Math.max(opts.limit ?? 100, 1), 5000));
}

/** The mailing types a contact is on. */
export async function contactMailingTypeIds(ctx: ServiceContext, contactId: number): Promise<number[]> {
  const rows = await ctx.db
    .select({ id: contactMailingTypes.mailingTypeId })
    .from(contactMailingTypes)
    .where(eq(contactMailingTypes.contactId, contactId));
  return rows.map((r) => r.id);
}
