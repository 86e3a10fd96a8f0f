import { sql, type SQL } from 'drizzle-orm';
import type { Actor, ServiceContext } from '../context.js';
import { forbidden, ServiceError } from '../errors.js';
import { counterparties, contacts, deals, leads, works } from '../db/schema/index.js';

/**
 * R3, access by segment. A manager sees the counterparties of their segments and those they are
 * responsible for, with everything hanging off them, plus leads where they are responsible or a
 * participant. Head, admin and system jobs see all. An API key sees the leads its scope allows
 * (see leadScope); it reads no other records, its lead intake finds contacts and companies as a system job would.
 * Each function returns a SQL condition to AND into a query, or undefined when nothing is hidden.
 */
export function seesAll(actor: Actor): boolean {
  return actor.kind === 'system' || actor.kind === 'apiKey' || (actor.kind === 'user' && actor.role !== 'manager');
}

function managerId(actor: Actor): number | null {
  if (seesAll(actor)) return null;
  if (actor.kind === 'user') return actor.userId;
  // a client on a channel reads nothing through staff verbs
  return -1;
}

const myCounterpartyIds = (uid: number) => sql`(
  SELECT c.id FROM counterparties c
  WHERE c.segment_id IN (SELECT us.segment_id FROM user_segments us WHERE us.user_id = ${uid})
     OR c.responsible_id = ${uid})`;

const myLeadIds = (uid: number) => sql`(
  SELECT l.id FROM leads l WHERE l.responsible_id = ${uid}
  UNION SELECT lp.lead_id FROM lead_participants lp WHERE lp.user_id = ${uid})`;

export function counterpartyScope(ctx: ServiceContext): SQL | undefined {
  const uid = managerId(ctx.actor);
  if (uid === null) return undefined;
  return sql`(${counterparties.segmentId} IN (SELECT us.segment_id FROM user_segments us WHERE us.user_id = ${uid}) OR ${counterparties.responsibleId} = ${uid})`;
}

export function leadScope(ctx: ServiceContext): SQL | undefined {
  // a website key reads back only the leads it created, so one site cannot read another's clients
  // (or the messengers' leads) by counting ids; a `read_all` key, made by an admin, reads every lead.
  // The scope is read from the key's row: the actor carries only the key's id.
  if (ctx.actor.kind === 'apiKey') {
    return sql`(${leads.apiKeyId} = ${ctx.actor.apiKeyId}
      OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = ${ctx.actor.apiKeyId} AND k.scope = 'read_all'))`;
  }
  const uid = managerId(ctx.actor);
  if (uid === null) return undefined;
  return sql`(${leads.responsibleId} = ${uid}
    OR ${leads.id} IN (SELECT lp.lead_id FROM lead_participants lp WHERE lp.user_id = ${uid})
    OR ${leads.counterpartyId} IN ${myCounterpartyIds(uid)})`;
}

export function dealScope(ctx: ServiceContext): SQL | undefined {
  const uid = managerId(ctx.actor);
  if (uid === null) return undefined;
  return sql`(${deals.responsibleId} = ${uid}
    OR ${deals.counterpartyId} IN ${myCounterpartyIds(uid)}
    OR ${deals.leadId} IN ${myLeadIds(uid)})`;
}

export function contactScope(ctx: ServiceContext): SQL | undefined {
  const uid = managerId(ctx.actor);
  if (uid === null) return undefined;
  return sql`(${contacts.counterpartyId} IN ${myCounterpartyIds(uid)}
    OR ${contacts.id} IN (SELECT l.contact_id FROM leads l WHERE l.contact_id IS NOT NULL AND l.id IN ${myLeadIds(uid)})
    OR ${contacts.id} IN (SELECT d.contact_id FROM deals d WHERE d.contact_id IS NOT NULL AND d.responsible_id = ${uid}))`;
}

/**
 * A manager sees their own works and the works hanging on any record they see: the counterparty,
 * a lead, a deal or a contact (a messenger lead's works have no counterparty). The deal and contact
 * conditions repeat dealScope and contactScope over the work's link.
 */
export function workScope(ctx: ServiceContext): SQL | undefined {
  const uid = managerId(ctx.actor);
  if (uid === null) return undefined;
  const cps = myCounterpartyIds(uid);
  const myLeads = myLeadIds(uid);
  return sql`(${works.responsibleId} = ${uid}
    OR ${works.counterpartyId} IN ${cps}
    OR ${works.leadId} IN ${myLeads}
    OR ${works.dealId} IN (SELECT d.id FROM deals d WHERE d.responsible_id = ${uid} OR d.counterparty_id IN ${cps} OR d.lead_id IN ${myLeads})
    OR ${works.contactId} IN (SELECT c.id FROM contacts c WHERE c.counterparty_id IN ${cps}
      OR c.id IN (SELECT l.contact_id FROM leads l WHERE l.contact_id IS NOT NULL AND l.id IN ${myLeads})
      OR c.id IN (SELECT d.contact_id FROM deals d WHERE d.contact_id IS NOT NULL AND d.responsible_id = ${uid})))`;
}

export function requireUser(ctx: ServiceContext): Extract<Actor, { kind: 'user' }> {
  if (ctx.actor.kind !== 'user') throw new ServiceError('unauthenticated', 'Нужно войти в CRM');
  return ctx.actor;
}

/** Setting plans, managing users and reference books. */
export function requireRole(ctx: ServiceContext, ...roles: ('admin' | 'head' | 'manager')[]): void {
  if (ctx.actor.kind === 'system') return;
  if (ctx.actor.kind !== 'user' || !roles.includes(ctx.actor.role)) throw forbidden('Недостаточно прав для этого действия');
}
