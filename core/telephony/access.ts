import { sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { calls, contacts, counterparties, deals, leads } from '../db/schema/index.js';
import { contactScope, counterpartyScope, dealScope, leadScope } from '../access/scope.js';

/**
 * R3 for calls: head, admin and system jobs see every call; a manager sees the calls that are
 * theirs (user_id) and those on a contact, counterparty, lead or deal they can see. An API key or
 * a client reads no calls. Returns a condition on `calls`, or undefined when nothing is hidden.
 */
export function callScope(ctx: ServiceContext): SQL | undefined {
  const a = ctx.actor;
  if (a.kind === 'system' || (a.kind === 'user' && a.role !== 'manager')) return undefined;
  if (a.kind !== 'user') return sql`false`;
  const inScope = (table: SQL, id: SQL, scope: SQL | undefined) => sql`(SELECT ${id} FROM ${table} WHERE ${scope ?? sql`true`})`;
  return sql`(${calls.userId} = ${a.userId}
    OR ${calls.contactId} IN ${inScope(sql`${contacts}`, sql`${contacts.id}`, contactScope(ctx))}
    OR ${calls.counterpartyId} IN ${inScope(sql`${counterparties}`, sql`${counterparties.id}`, counterpartyScope(ctx))}
    OR ${calls.leadId} IN ${inScope(sql`${leads}`, sql`${leads.id}`, leadScope(ctx))}
    OR ${calls.dealId} IN ${inScope(sql`${deals}`, sql`${deals.id}`, dealScope(ctx))})`;
}
