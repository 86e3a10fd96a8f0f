import { and, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { contacts, conversations, counterparties, deals, leads } from '../db/schema/index.js';
import { contactScope, counterpartyScope, dealScope, leadScope } from '../access/scope.js';
import { getContact, type Contact } from '../contacts/contacts.js';
import { counterpartyNames, getCounterparty, type Counterparty } from '../counterparties/counterparties.js';
import { execRows } from '../mail/rows.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { formatPhone } from '../validation/phone.js';
import { mergeContacts, mergeCounterparties } from './merge.js';

/**
 * «Возможные дубликаты»: live records the actor may see that are probably one person or one
 * company typed in twice (an import, a WhatsApp message from a known client, a colleague who did
 * not search first). Each group comes with why it was found; merging stays a person's decision.
 *
 * One statement per page: every live record yields its keys (each phone, each e-mail, the name,
 * the INN), keys shared by two or more records become matches, and matches with the same members
 * fold into one group with all their reasons. That is a sequential scan per kind of key and one
 * hash aggregate over all keys: the GIN indexes on phones/emails serve lookups of one value, not a
 * global GROUP BY, so the cost grows with the table (about 0.7 s for 100,000 records on PostgreSQL,
 * 3 s for 500,000 on a busy 2-core machine). Paging repeats it: the offset only skips groups.
 */

export type DuplicateReason =
  | { kind: 'phone'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'inn'; value: string }
  /** contacts: the same name (any case) at the same counterparty; counterparties: the same name (any case) */
  | { kind: 'name'; value: string };

export interface DuplicateGroup<M> {
  members: M[];
  reasons: DuplicateReason[];
  /** the member to keep by default: the one with most linked records, then most details, then the oldest */
  suggestedId: number;
}

export interface DuplicatePage<M> {
  groups: DuplicateGroup<M>[];
  hasMore: boolean;
}

export type ContactDuplicate = Contact & { counterpartyName: string | null; leads: number; deals: number; conversations: number };
export type CounterpartyDuplicate = Counterparty & { contacts: number; leads: number; deals: number };

/** «один телефон +7 916 123-45-67», «один e-mail …», «один ИНН …» */
export function duplicateReasonText(r: DuplicateReason, entity: 'contact' | 'counterparty'): string {
  switch (r.kind) {
    case 'phone':
      return `один телефон ${formatPhone(r.value)}`;
    case 'email':
      return `один e-mail ${r.value}`;
    case 'inn':
      return `один ИНН ${r.value}`;
    case 'name':
      return entity === 'contact' ? 'одно имя у одного контрагента' : 'одно название';
  }
}

const pageInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  offset: z.number().int().min(0).max(100_000).default(0),
});

interface MatchRow {
  ids: number[] | string;
  reasons: DuplicateReason[] | string;
}

/** Matches of the keys a page of groups is made of: same members → one group, newest duplicates first. */
async function groupPage(ctx: ServiceContext, keys: SQL, extraMatchFilter: SQL | undefined, limit: number, offset: number) {
  const rows = await execRows<MatchRow>(
    ctx,
    // the values seen more than once come from a cheap hash count over all keys; only their few
    // rows are then sorted into member lists (array_agg over every key would sort the whole table)
    sql`WITH keys AS MATERIALIZED (${keys}),
      repeated AS (
        SELECT k.kind, k.value, k.extra FROM keys k WHERE k.value <> '' GROUP BY k.kind, k.value, k.extra HAVING count(*) > 1),
      matches AS (
        SELECT k.kind, k.value, array_agg(DISTINCT k.id ORDER BY k.id) AS ids
        FROM keys k JOIN repeated r ON r.kind = k.kind AND r.value = k.value AND r.extra = k.extra
        GROUP BY k.kind, k.value, k.extra HAVING count(DISTINCT k.id) > 1)
      SELECT m.ids, json_agg(DISTINCT jsonb_build_object('kind', m.kind, 'value', m.value)) AS reasons
      FROM matches m ${extraMatchFilter ? sql`WHERE ${extraMatchFilter}` : sql``}
      GROUP BY m.ids
      ORDER BY m.ids[cardinality(m.ids)] DESC, m.ids
      LIMIT ${limit + 1} OFFSET ${offset}`,
  );
  const parsed = rows.map((r) => ({
    // postgres-js returns int[] as numbers; PGlite may return the text form
    ids: (typeof r.ids === 'string' ? r.ids.replace(/[{}]/g, '').split(',') : r.ids).map(Number),
    reasons: (typeof r.reasons === 'string' ? JSON.parse(r.reasons) : r.reasons) as DuplicateReason[],
  }));
  return { rows: parsed.slice(0, limit), hasMore: parsed.length > limit };
}

const reasonOrder: DuplicateReason['kind'][] = ['inn', 'phone', 'email', 'name'];
const sortReasons = (rs: DuplicateReason[]) =>
  [...rs].sort((a, b) => reasonOrder.indexOf(a.kind) - reasonOrder.indexOf(b.kind) || a.value.localeCompare(b.value));

/**
 * How many records hang off each member. Raw SQL on purpose: inside a one-table select drizzle
 * drops table names from columns, and a correlated subquery would compare its table with itself.
 */
async function linkCounts<K extends string>(ctx: ServiceContext, ids: number[], counts: Record<K, SQL>): Promise<Map<number, Record<K, number>>> {
  const columns = (Object.entries(counts) as [K, SQL][]).map(([name, count]) => sql`(${count}) AS ${sql.identifier(name)}`);
  const rows = await execRows<Record<string, number | string>>(
    ctx,
    sql`SELECT m.id, ${sql.join(columns, sql`, `)} FROM unnest(${`{${ids.join(',')}}`}::int[]) AS m(id)`,
  );
  return new Map(rows.map((r) => [Number(r.id), Object.fromEntries(Object.keys(counts).map((k) => [k, Number(r[k])])) as Record<K, number>]));
}

/** a scope condition to append, or nothing */
const andScope = (scope: SQL | undefined) => (scope ? sql` AND ${scope}` : sql``);

function suggest<M extends { id: number }>(members: M[], links: (m: M) => number, details: (m: M) => number): number {
  return [...members].sort((a, b) => links(b) - links(a) || details(b) - details(a) || a.id - b.id)[0]!.id;
}

/** Contacts that share a phone, an e-mail, or a name at the same counterparty. */
export async function findDuplicateContacts(ctx: ServiceContext, page: { limit?: number; offset?: number } = {}): Promise<DuplicatePage<ContactDuplicate>> {
  const { limit, offset } = parseInput(pageInput, page);
  const scope = contactScope(ctx);
  const live = sql`${contacts.mergedIntoId} IS NULL${andScope(scope)}`;
  const keys = sql`
    SELECT 'phone' AS kind, unnest(${contacts.phones}) AS value, '' AS extra, ${contacts.id} AS id FROM ${contacts} WHERE ${live}
    UNION ALL SELECT 'email', unnest(${contacts.emails}), '', ${contacts.id} FROM ${contacts} WHERE ${live}
    UNION ALL SELECT 'name', lower(btrim(${contacts.name})), ${contacts.counterpartyId}::text, ${contacts.id} FROM ${contacts}
      WHERE ${contacts.counterpartyId} IS NOT NULL AND ${live}`;
  const found = await groupPage(ctx, keys, undefined, limit, offset);
  const ids = [...new Set(found.rows.flatMap((g) => g.ids))];
  if (!ids.length) return { groups: [], hasMore: false };

  const [rows, counts] = await Promise.all([
    ctx.db.select().from(contacts).where(and(inArray(contacts.id, ids), isNull(contacts.mergedIntoId), scope)),
    linkCounts(ctx, ids, {
      leads: sql`SELECT count(*)::int FROM ${leads} WHERE ${leads.contactId} = m.id${andScope(leadScope(ctx))}`,
      deals: sql`SELECT count(*)::int FROM ${deals} WHERE ${deals.contactId} = m.id${andScope(dealScope(ctx))}`,
      conversations: sql`SELECT count(*)::int FROM ${conversations} WHERE ${conversations.contactId} = m.id`,
    }),
  ]);
  const names = await counterpartyNames(ctx, rows.map((r) => r.counterpartyId));
  const byId = new Map(
    rows.map((r) => [
      r.id,
      { ...r, counterpartyName: r.counterpartyId ? (names[r.counterpartyId] ?? null) : null, leads: 0, deals: 0, conversations: 0, ...counts.get(r.id) },
    ]),
  );
  const groups = found.rows
    .map((g) => ({ members: g.ids.map((id) => byId.get(id)).filter((m): m is ContactDuplicate => !!m), reasons: sortReasons(g.reasons) }))
    .filter((g) => g.members.length > 1)
    .map((g) => ({
      ...g,
      suggestedId: suggest(
        g.members,
        (m) => m.leads + m.deals + m.conversations,
        (m) => m.phones.length + m.emails.length + (m.position ? 1 : 0) + (m.counterpartyId ? 1 : 0) + (m.comment ? 1 : 0),
      ),
    }));
  return { groups, hasMore: found.hasMore };
}

/**
 * Counterparties that share an INN (and KPP), a phone, an e-mail or a name. One INN with different
 * KPPs is a company and its branches, not a duplicate: such records never land in one group, and
 * neither do two different INNs (two companies that share an accountant's phone). A record without
 * a KPP does meet each KPP of its INN: it is usually the same company typed in without it.
 */
export async function findDuplicateCounterparties(ctx: ServiceContext, page: { limit?: number; offset?: number } = {}): Promise<DuplicatePage<CounterpartyDuplicate>> {
  const { limit, offset } = parseInput(pageInput, page);
  const scope = counterpartyScope(ctx);
  const live = sql`${counterparties.mergedIntoId} IS NULL${andScope(scope)}`;
  const keys = sql`
    SELECT 'phone' AS kind, unnest(${counterparties.phones}) AS value, '' AS extra, ${counterparties.id} AS id FROM ${counterparties} WHERE ${live}
    UNION ALL SELECT 'email', unnest(${counterparties.emails}), '', ${counterparties.id} FROM ${counterparties} WHERE ${live}
    UNION ALL SELECT 'name', lower(btrim(${counterparties.name})), '', ${counterparties.id} FROM ${counterparties} WHERE ${live}
    UNION ALL SELECT 'inn', ${counterparties.inn}, coalesce(${counterparties.kpp}, ''), ${counterparties.id} FROM ${counterparties}
      WHERE ${counterparties.inn} IS NOT NULL AND ${live}
    UNION ALL SELECT DISTINCT 'inn', ${counterparties.inn}, branch.kpp, ${counterparties.id}
    FROM ${counterparties} JOIN counterparties branch ON branch.inn = ${counterparties.inn} AND branch.kpp IS NOT NULL AND branch.merged_into_id IS NULL
    WHERE ${counterparties.inn} IS NOT NULL AND ${counterparties.kpp} IS NULL AND ${live}`;
  // members of one group must be able to be one company: at most one INN and one KPP among them
  const compatible = sql`(SELECT count(DISTINCT x.inn) <= 1 AND count(DISTINCT x.kpp) <= 1 FROM counterparties x WHERE x.id = ANY(m.ids))`;
  const found = await groupPage(ctx, keys, compatible, limit, offset);
  const ids = [...new Set(found.rows.flatMap((g) => g.ids))];
  if (!ids.length) return { groups: [], hasMore: false };

  const [rows, counts] = await Promise.all([
    ctx.db.select().from(counterparties).where(and(inArray(counterparties.id, ids), isNull(counterparties.mergedIntoId), scope)),
    linkCounts(ctx, ids, {
      contacts: sql`SELECT count(*)::int FROM ${contacts} WHERE ${contacts.counterpartyId} = m.id AND ${contacts.mergedIntoId} IS NULL`,
      leads: sql`SELECT count(*)::int FROM ${leads} WHERE ${leads.counterpartyId} = m.id${andScope(leadScope(ctx))}`,
      deals: sql`SELECT count(*)::int FROM ${deals} WHERE ${deals.counterpartyId} = m.id${andScope(dealScope(ctx))}`,
    }),
  ]);
  const byId = new Map(rows.map((r) => [r.id, { ...r, contacts: 0, leads: 0, deals: 0, ...counts.get(r.id) }]));
  const groups = found.rows
    .map((g) => ({ members: g.ids.map((id) => byId.get(id)).filter((m): m is CounterpartyDuplicate => !!m), reasons: sortReasons(g.reasons) }))
    .filter((g) => g.members.length > 1)
    .map((g) => ({
      ...g,
      suggestedId: suggest(
        g.members,
        (m) => m.contacts + m.leads + m.deals,
        (m) =>
          [m.inn, m.kpp, m.ogrn, m.address, m.region, m.industry, m.headcount, m.capitalKopecks, m.segmentId, m.responsibleId].filter((v) => v !== null).length +
          m.phones.length +
          m.emails.length,
      ),
    }));
  return { groups, hasMore: found.hasMore };
}

const mergeInput = z.object({
  survivorId: idField,
  duplicateIds: z.array(idField).min(1, 'отметьте, что объединить'),
});

/**
 * «Объединить» a group: every duplicate into the survivor, all or nothing (one transaction; the
 * merge verbs check the actor's access to each record). Returns the survivor and the names of
 * the records merged into it.
 */
export async function mergeContactsInto(ctx: ServiceContext, survivorId: number, duplicateIds: number[]) {
  const input = parseInput(mergeInput, { survivorId, duplicateIds: duplicateIds.filter((id) => id !== survivorId) });
  return inTransaction(ctx, async (tx) => {
    const merged: { id: number; name: string }[] = [];
    for (const id of new Set(input.duplicateIds)) {
      const dup = await getContact(tx, id);
      await mergeContacts(tx, input.survivorId, id);
      merged.push({ id, name: dup.name });
    }
    return { survivor: await getContact(tx, input.survivorId), merged };
  });
}

export async function mergeCounterpartiesInto(ctx: ServiceContext, survivorId: number, duplicateIds: number[]) {
  const input = parseInput(mergeInput, { survivorId, duplicateIds: duplicateIds.filter((id) => id !== survivorId) });
  return inTransaction(ctx, async (tx) => {
    const merged: { id: number; name: string }[] = [];
    for (const id of new Set(input.duplicateIds)) {
      const dup = await getCounterparty(tx, id);
      await mergeCounterparties(tx, input.survivorId, id);
      merged.push({ id, name: dup.name });
    }
    return { survivor: await getCounterparty(tx, input.survivorId), merged };
  });
}
