import { sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { execRows as rows } from './rows.js';

export interface RecordMatch {
  address: string;
  contactId: number | null;
  counterpartyId: number | null;
  leadId: number | null;
  dealId: number | null;
  /** who answers for the record: the lead's, else the deal's, else the counterparty's responsible */
  responsibleId: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const list = (values: (string | number)[]): SQL => sql.join(values.map((v) => sql`${v}`), sql`, `);
const texts = (values: string[]): SQL => sql`ARRAY[${list(values)}]::text[]`;
const ints = (values: number[]): SQL => sql`ARRAY[${list(values)}]::int[]`;

interface Open {
  id: number;
  responsible_id: number | null;
  contact_id: number | null;
  counterparty_id: number | null;
}

/**
 * Ties letters to records by address (R17): a contact with the address (and its counterparty),
 * else a counterparty with it; then the newest open lead and deal of that contact, else of that
 * counterparty. Our own addresses (mailboxes, staff) never count. Lookups go a batch of
 * addresses at a time and are cached for one import run, so ten thousand letters from a hundred
 * clients cost a handful of queries. Each call takes the context to query with, so it can run
 * inside the caller's transaction.
 */
export class AddressMatcher {
  private readonly cache = new Map<string, RecordMatch | null>();
  private own: Set<string> | undefined;

  /** mailbox and staff addresses: a letter between colleagues is tied to nobody */
  async ownAddresses(ctx: ServiceContext): Promise<Set<string>> {
    if (!this.own) {
      const found = await rows<{ a: string }>(
        ctx,
        sql`SELECT lower(email) AS a FROM mailboxes UNION SELECT lower(login) FROM mailboxes UNION SELECT lower(email) FROM users`,
      );
      this.own = new Set(found.map((r) => r.a));
    }
    return this.own;
  }

  /** the first of `addresses` (in order of preference) that belongs to a record */
  async match(ctx: ServiceContext, addresses: string[]): Promise<RecordMatch | null> {
    const own = await this.ownAddresses(ctx);
    const wanted = addresses.filter((a) => a && !own.has(a));
    await this.prefetch(ctx, wanted);
    for (const a of wanted) {
      const m = this.cache.get(a);
      if (m) return m;
    }
    return null;
  }

  remember(address: string, match: RecordMatch): void {
    this.cache.set(address, match);
  }

  /** looks up every address not yet known, in a few queries */
  async prefetch(ctx: ServiceContext, addresses: string[]): Promise<void> {
    const own = await this.ownAddresses(ctx);
    const unknown = [...new Set(addresses)].filter((a) => a && !own.has(a) && !this.cache.has(a));
    if (!unknown.length) return;
    const found = new Map<string, { contactId: number | null; counterpartyId: number | null }>();
    const byContact = await rows<{ a: string; id: number; counterparty_id: number | null }>(
      ctx,
      sql`SELECT DISTINCT ON (a) a, c.id, c.counterparty_id
          FROM contacts c CROSS JOIN LATERAL unnest(c.emails) a
          WHERE c.emails && ${texts(unknown)} AND a = ANY(${texts(unknown)}) AND c.merged_into_id IS NULL
          ORDER BY a, c.id`,
    );
    for (const r of byContact) found.set(r.a, { contactId: Number(r.id), counterpartyId: num(r.counterparty_id) });
    const rest = unknown.filter((a) => !found.has(a));
    if (rest.length) {
      const byCompany = await rows<{ a: string; id: number }>(
        ctx,
        sql`SELECT DISTINCT ON (a) a, c.id
            FROM counterparties c CROSS JOIN LATERAL unnest(c.emails) a
            WHERE c.emails && ${texts(rest)} AND a = ANY(${texts(rest)}) AND c.merged_into_id IS NULL
            ORDER BY a, c.id`,
      );
      for (const r of byCompany) found.set(r.a, { contactId: null, counterpartyId: Number(r.id) });
    }
    for (const a of unknown) if (!found.has(a)) this.cache.set(a, null);
    if (!found.size) return;

    const contactIds = [...new Set([...found.values()].map((f) => f.contactId).filter((x): x is number => x !== null))];
    const companyIds = [...new Set([...found.values()].map((f) => f.counterpartyId).filter((x): x is number => x !== null))];
    const owners = sql`(contact_id = ANY(${ints(contactIds.length ? contactIds : [0])}) OR counterparty_id = ANY(${ints(companyIds.length ? companyIds : [0])}))`;
    const openLeads = await rows<Open>(
      ctx,
      sql`SELECT id, responsible_id, contact_id, counterparty_id FROM leads
          WHERE status IN ('new', 'in_progress') AND ${owners} ORDER BY created_at DESC, id DESC`,
    );
    const openDeals = await rows<Open>(
      ctx,
      sql`SELECT id, responsible_id, contact_id, counterparty_id FROM deals
          WHERE closed_at IS NULL AND ${owners} ORDER BY created_at DESC, id DESC`,
    );
    const companyResponsible = new Map<number, number | null>();
    if (companyIds.length) {
      for (const r of await rows<{ id: number; responsible_id: number | null }>(
        ctx,
        sql`SELECT id, responsible_id FROM counterparties WHERE id = ANY(${ints(companyIds)})`,
      )) {
        companyResponsible.set(Number(r.id), num(r.responsible_id));
      }
    }
    // newest first: the contact's own, else one of its counterparty
    const pick = (open: Open[], f: { contactId: number | null; counterpartyId: number | null }) =>
      (f.contactId !== null ? open.find((o) => num(o.contact_id) === f.contactId) : undefined) ??
      (f.counterpartyId !== null ? open.find((o) => num(o.counterparty_id) === f.counterpartyId) : undefined);
    for (const [address, f] of found) {
      const lead = pick(openLeads, f);
      const deal = pick(openDeals, f);
      this.cache.set(address, {
        address,
        ...f,
        leadId: num(lead?.id),
        dealId: num(deal?.id),
        responsibleId:
          num(lead?.responsible_id) ?? num(deal?.responsible_id) ?? (f.counterpartyId !== null ? (companyResponsible.get(f.counterpartyId) ?? null) : null),
      });
    }
  }
}
