import { and, asc, isNull, sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties } from '../db/schema/index.js';
import { contactScope, counterpartyScope } from '../access/scope.js';
import { formatPhone, normalizePhone } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';

export interface PossibleDuplicate {
  kind: 'counterparty' | 'contact';
  /** 0 when the actor may not see the record */
  id: number;
  /** '' when the actor may not see the record: it is only said to exist */
  name: string;
  /** what matched, as people read it: «+7 916 123 45 67» or «ivan@firm.ru» */
  matched: string;
  /** whether the actor may open it (a link); otherwise it is in another manager's segment */
  visible: boolean;
}

export interface PossibleDuplicatesQuery {
  phones?: string[];
  emails?: string[];
  /** the record being edited, and its own people (a company and its contact share a phone) */
  excludeCounterpartyId?: number;
  excludeContactId?: number;
}

const LIMIT = 10;

/**
 * R8 for a person typing in a client: live counterparties and contacts that already have one of
 * these phones (any notation, «доб.» ignored) or e-mails (any case), as the import checks its rows.
 * A record the actor may not see is reported as existing without its name (as the INN check
 * does), so a manager learns the client is taken without learning whose it is. One indexed
 * lookup per table (the GIN indexes on phones and emails). Unreadable values are skipped: the
 * save that follows reports them.
 */
export async function findPossibleDuplicates(ctx: ServiceContext, q: PossibleDuplicatesQuery): Promise<PossibleDuplicate[]> {
  const phones = [...new Set((q.phones ?? []).map(normalizePhone).filter((p): p is string => !!p))];
  const emails = [...new Set((q.emails ?? []).map(normalizeEmail).filter((e): e is string => !!e))];
  if (!phones.length && !emails.length) return [];
  const arr = (list: string[]) => sql`ARRAY[${sql.join(list.map((v) => sql`${v}`), sql`, `)}]::text[]`;
  const matchOf = (phonesCol: SQL, emailsCol: SQL) => {
    const ways: SQL[] = [];
    if (phones.length) ways.push(sql`${phonesCol} && ${arr(phones)}`);
    if (emails.length) ways.push(sql`${emailsCol} && ${arr(emails)}`);
    return sql`(${sql.join(ways, sql` OR `)})`;
  };
  const visible = (scope: SQL | undefined) => (scope ? sql<boolean>`${scope}` : sql<boolean>`true`);
  const cpScope = counterpartyScope(ctx);
  const ctScope = contactScope(ctx);
  const [cps, cts] = await Promise.all([
    ctx.db
      .select({ id: counterparties.id, name: counterparties.name, phones: counterparties.phones, emails: counterparties.emails, visible: visible(cpScope) })
      .from(counterparties)
      .where(
        and(
          matchOf(sql`${counterparties.phones}`, sql`${counterparties.emails}`),
          isNull(counterparties.mergedIntoId),
          q.excludeCounterpartyId ? sql`${counterparties.id} <> ${q.excludeCounterpartyId}` : undefined,
        ),
      )
      .orderBy(asc(counterparties.id))
      .limit(LIMIT),
    ctx.db
      .select({ id: contacts.id, name: contacts.name, phones: contacts.phones, emails: contacts.emails, visible: visible(ctScope) })
      .from(contacts)
      .where(
        and(
          matchOf(sql`${contacts.phones}`, sql`${contacts.emails}`),
          isNull(contacts.mergedIntoId),
          q.excludeContactId ? sql`${contacts.id} <> ${q.excludeContactId}` : undefined,
          q.excludeCounterpartyId ? sql`${contacts.counterpartyId} IS DISTINCT FROM ${q.excludeCounterpartyId}` : undefined,
        ),
      )
      .orderBy(asc(contacts.id))
      .limit(LIMIT),
  ]);
  const matched = (r: { phones: string[]; emails: string[] }) =>
    [...r.phones.filter((p) => phones.includes(p)).map(formatPhone), ...r.emails.filter((e) => emails.includes(e))].join(', ');
  const row = (kind: PossibleDuplicate['kind']) => (r: { id: number; name: string; phones: string[]; emails: string[]; visible: boolean }): PossibleDuplicate => {
    const seen = r.visible === true || String(r.visible) === 'true';
    return { kind, id: seen ? r.id : 0, name: seen ? r.name : '', matched: matched(r), visible: seen };
  };
  return [...cps.map(row('counterparty')), ...cts.map(row('contact'))];
}
