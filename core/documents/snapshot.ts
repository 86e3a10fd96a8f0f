import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, users } from '../db/schema/index.js';
import { asLineInput, dealLineRows } from '../deals/lines.js';
import { needsFix } from '../errors.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import type { Deal } from '../deals/deals.js';
import { formatQuantity, GENERAL_VAT_RATE, lineSums, parseQuantity, totalsOf, type TaxMode, type Totals } from './money.js';
import type { BuyerData, DocumentLine, ManagerContacts } from './types.js';


/**
 * The buyer: the deal's counterparty. A contract and an invoice are made out to a company or a
 * person with requisites, so a deal without a counterparty (a messenger lead's) is told to get one,
 * and a company or ИП without an INN is told to add it.
 */
export async function buyerOf(ctx: ServiceContext, deal: Deal, opts: { needsInn: boolean }): Promise<{ counterpartyId: number; buyer: BuyerData }> {
  if (!deal.counterpartyId) throw needsFix({ entity: 'deal', id: deal.id }, { counterpartyId: `у сделки «${deal.title}» нет контрагента: укажите его в сделке` });
  const cp = await getCounterparty(ctx, deal.counterpartyId);
  if (opts.needsInn && cp.kind !== 'individual' && !cp.inn) {
    throw needsFix({ entity: 'counterparty', id: cp.id }, { inn: `у контрагента «${cp.name}» нет ИНН: укажите его в карточке контрагента` });
  }
  const [contact] = deal.contactId ? await ctx.db.select({ name: contacts.name }).from(contacts).where(eq(contacts.id, deal.contactId)) : [];
  return {
    counterpartyId: cp.id,
    buyer: {
      kind: cp.kind,
      name: cp.name,
      inn: cp.inn,
      kpp: cp.kpp,
      ogrn: cp.ogrn,
      address: cp.address,
      phone: cp.phones[0] ?? null,
      email: cp.emails[0] ?? null,
      contactName: contact?.name ?? null,
    },
  };
}

/**
 * The lines printed: the deal's line items under the seller's tax mode, or, for a deal with an amount
 * and no lines, one line named after the deal at the general rate. A deal with neither is told to add them.
 */
export async function linesOf(ctx: ServiceContext, deal: Deal, mode: TaxMode): Promise<{ lines: DocumentLine[]; totals: Totals }> {
  const rows = await dealLineRows(ctx, deal.id);
  const source = rows.length
    ? rows
    : deal.amountKopecks > 0n
      ? [{ name: deal.title, quantity: '1', unit: 'усл.', priceKopecks: deal.amountKopecks, discountPercent: '0', vatRate: GENERAL_VAT_RATE }]
      : [];
  if (!source.length) throw needsFix({ entity: 'deal', id: deal.id }, { lines: `в сделке «${deal.title}» нет ни товаров и услуг, ни суммы: добавьте позиции` });
  const lines = source.map((s, i): DocumentLine => {
    const sums = lineSums(asLineInput(s), mode);
    return { n: i + 1, name: s.name, quantity: formatQuantity(parseQuantity(s.quantity)!), unit: s.unit, priceKopecks: s.priceKopecks, discountPercent: s.discountPercent, ...sums };
  });
  return { lines, totals: totalsOf(lines) };
}

/** The deal's responsible (or whoever makes the document) as the КП's contact person; users have no phone in the CRM. */
export async function managerOf(ctx: ServiceContext, deal: Deal): Promise<ManagerContacts> {
  const id = deal.responsibleId ?? (ctx.actor.kind === 'user' ? ctx.actor.userId : null);
  const [u] = id ? await ctx.db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, id)) : [];
  return { name: u?.name ?? '', phone: null, email: u?.email ?? null };
}


/** `documents.data`: the snapshot as JSON (bigint as text, images left out: they stay with the organisation). */
export function storedSnapshot(data: object): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(data, (key, v) => (typeof v === 'bigint' ? v.toString() : key === 'images' ? undefined : v)),
  ) as Record<string, unknown>;
}
