import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { actorTimeZone, actorUserId, inTransaction, type ServiceContext } from '../context.js';
import { documentFiles, documents, documentTemplates } from '../db/schema/index.js';
import { lockDeal } from '../deals/lock.js';
import { sellerFor } from '../organizations/seller.js';
import { parseInput } from '../shared/input.js';
import { audit, recordHistory } from '../shared/audit.js';
import { dayField, idField } from '../shared/fields.js';
import { formatKopecks } from '../validation/money.js';
import { dateInZone } from '../validation/time.js';
import { nextNumber } from './numbering.js';
import { renderContract } from './render/contract.js';
import { dateDots, money } from './render/format.js';
import { renderInvoicePdf } from './render/invoice-pdf.js';
import { renderProposal } from './render/proposal.js';
import { buyerOf, linesOf, managerOf, storedSnapshot } from './snapshot.js';
import { moveOnDocumentEvent } from './stage-moves.js';
import type { Totals } from './money.js';
import type { ContractData, DocumentKind, InvoiceData, ProposalData, RenderedFiles } from './types.js';
import { proposalDefaults } from './proposal-texts.js';

export type DocumentRow = typeof documents.$inferSelect;

/** Days to pay an invoice, printed under its table. */
const PAY_WITHIN_DAYS = 5;


/** An admin's own .docx for the kind, or null for the built-in one. */
async function customTemplate(ctx: ServiceContext, kind: 'contract' | 'proposal'): Promise<Buffer | null> {
  const [t] = await ctx.db.select({ docx: documentTemplates.docx }).from(documentTemplates).where(eq(documentTemplates.kind, kind));
  return t?.docx ?? null;
}


const fileName = (title: string, ext: 'pdf' | 'docx') => `${title.replace(/[\\/:*?"<>|]+/g, ' ').trim()}.${ext}`;

async function store(
  tx: ServiceContext,
  row: Omit<typeof documents.$inferInsert, 'createdBy' | 'createdAt'>,
  title: string,
  files: RenderedFiles,
): Promise<DocumentRow> {
  const [doc] = await tx.db
    .insert(documents)
    .values({ ...row, createdBy: actorUserId(tx.actor), createdAt: tx.clock.now() })
    .returning();
  await tx.db.insert(documentFiles).values([
    { documentId: doc!.id, format: 'pdf', fileName: fileName(title, 'pdf'), data: files.pdf },
    ...(files.docx ? [{ documentId: doc!.id, format: 'docx' as const, fileName: fileName(title, 'docx'), data: files.docx }] : []),
  ]);
  return doc!;
}

export const invoiceInput = z.object({
  organizationId: idField.nullish(),
  /** the date printed; today in the actor's zone when not given */
  date: dayField.nullish(),
});

/**
 * R22: one action on a deal makes «Счёт на оплату» and «Договор». Both are numbered within the
 * seller's year, rendered and stored in one transaction with the deal locked, so a failure leaves
 * no number used and no half of the pair; the deal's history says what was made, and the deal
 * moves to the stage the stage book ties to an issued invoice.
 */
export async function makeInvoiceAndContract(
  ctx: ServiceContext,
  dealId: number,
  input: z.input<typeof invoiceInput> = {},
): Promise<{ invoice: DocumentRow; contract: DocumentRow }> {
  const data = parseInput(invoiceInput, input);
  const date = data.date ?? dateInZone(ctx.clock.now(), actorTimeZone(ctx.actor));
  const year = Number(date.slice(0, 4));
  return inTransaction(ctx, async (tx) => {
    const deal = await lockDeal(tx, dealId);
    const { counterpartyId, buyer } = await buyerOf(tx, deal, { needsInn: true });
    const { organizationId, seller: s } = await sellerFor(tx, data.organizationId);
    const { lines, totals } = await linesOf(tx, deal, s.taxMode);
    const manager = await managerOf(tx, deal);
    // always the contract's counter first, then the invoice's: two transactions taking the same two
    // row locks in the same order wait for each other instead of deadlocking
    const contractNo = await nextNumber(tx, organizationId, 'contract', year);
    const invoiceNo = await nextNumber(tx, organizationId, 'invoice', year);
    const common = { date, seller: s, buyer, lines, totals, dealId: deal.id, dealTitle: deal.title, manager };
    const contractData: ContractData = { ...common, number: contractNo, invoice: { number: invoiceNo, date }, payWithinDays: PAY_WITHIN_DAYS };
    const invoiceData: InvoiceData = {
      ...common,
      number: invoiceNo,
      contract: { number: contractNo, date },
      payWithinDays: PAY_WITHIN_DAYS,
      purpose: `Оплата по счёту № ${invoiceNo} от ${dateDots(date)} по договору № ${contractNo} от ${dateDots(date)}. ${purposeVat(totals)}`,
    };
    const [invoiceFiles, contractFiles] = await Promise.all([
      renderInvoicePdf(invoiceData).then((pdf: Buffer) => ({ pdf })),
      renderContract(contractData, await customTemplate(tx, 'contract')),
    ]);
    const base = { dealId: deal.id, counterpartyId, organizationId, year, docDate: date, totalKopecks: totals.totalKopecks, vatKopecks: totals.vatKopecks };
    const contract = await store(tx, { ...base, kind: 'contract', number: contractNo, data: storedSnapshot(contractData) }, documentTitle({ kind: 'contract', dealId: deal.id, number: contractNo, docDate: date }), contractFiles);
    const invoice = await store(
      tx,
      { ...base, kind: 'invoice', number: invoiceNo, pairedId: contract.id, data: storedSnapshot(invoiceData) },
      documentTitle({ kind: 'invoice', dealId: deal.id, number: invoiceNo, docDate: date }),
      invoiceFiles,
    );
    await tx.db.update(documents).set({ pairedId: invoice.id }).where(eq(documents.id, contract.id));
    await recordHistory(
      tx,
      'deal',
      deal.id,
      'documents_made',
      `Выставлен счёт № ${invoiceNo} на ${formatKopecks(totals.totalKopecks)} и договор № ${contractNo} от ${dateDots(date)} (${s.shortName})`,
      { invoiceId: invoice.id, contractId: contract.id },
    );
    await audit(tx, 'make_invoice_and_contract', 'deal', deal.id, { invoice: { from: null, to: invoiceNo }, contract: { from: null, to: contractNo } });
    await moveOnDocumentEvent(tx, deal, 'invoice_made');
    return { invoice, contract: { ...contract, pairedId: invoice.id } };
  });
}

/**
 * The VAT part of a payment purpose, in the characters a payment order allows (no «—», «₽» or
 * no-break spaces, which banks replace or refuse): «В т.ч. НДС 22% 216 393,53 руб.», «Без налога (НДС)».
 */
function purposeVat(totals: Totals): string {
  if (totals.withoutVat) return 'Без налога (НДС)';
  return 'В т.ч. ' + totals.vatByRate.map((v) => `НДС ${v.rate}% ${money(v.vatKopecks)} руб.`).join(', ');
}

/** A КП is valid for two weeks unless the manager says otherwise. */
const PROPOSAL_VALID_DAYS = 14;
export const defaultValidUntil = (ctx: ServiceContext): string =>
  dateInZone(new Date(ctx.clock.now().getTime() + PROPOSAL_VALID_DAYS * 86_400_000), actorTimeZone(ctx.actor));

export const proposalInput = z.object({
  organizationId: idField.nullish(),
  intro: z.string().trim().max(20_000, 'слишком длинное вступление').optional(),
  terms: z.string().trim().max(20_000, 'слишком длинные условия').optional(),
  /** «Предложение действительно до» */
  validUntil: dayField.nullish(),
});

/**
 * R21: an individual commercial proposal for a deal, from the КП template: the intro and terms
 * (the template's defaults unless the manager wrote their own), the deal's lines, the validity date
 * and the manager's contacts. Each one is a new version of the deal's КП; earlier ones are kept.
 */
export async function makeProposal(ctx: ServiceContext, dealId: number, input: z.input<typeof proposalInput> = {}): Promise<DocumentRow> {
  const data = parseInput(proposalInput, input);
  const date = dateInZone(ctx.clock.now(), actorTimeZone(ctx.actor));
  return inTransaction(ctx, async (tx) => {
    const deal = await lockDeal(tx, dealId);
    const { counterpartyId, buyer } = await buyerOf(tx, deal, { needsInn: false });
    const { organizationId, seller: s } = await sellerFor(tx, data.organizationId);
    const { lines, totals } = await linesOf(tx, deal, s.taxMode);
    const defaults = await proposalDefaults(tx);
    const [{ v }] = (await tx.db
      .select({ v: sql<number>`coalesce(max(${documents.version}), 0)::int + 1` })
      .from(documents)
      .where(and(eq(documents.dealId, deal.id), eq(documents.kind, 'proposal')))) as [{ v: number }];
    const version = Number(v);
    const proposal: ProposalData = {
      date,
      seller: s,
      buyer,
      lines,
      totals,
      dealId: deal.id,
      dealTitle: deal.title,
      // users keep no phone of their own: the КП gives the company's
      manager: { ...(await managerOf(tx, deal)), phone: s.phone },
      version,
      validUntil: data.validUntil ?? defaultValidUntil(tx),
      intro: data.intro || defaults.intro,
      terms: data.terms || defaults.terms,
    };
    const files = await renderProposal(proposal, await customTemplate(tx, 'proposal'));
    const doc = await store(
      tx,
      { kind: 'proposal', dealId: deal.id, counterpartyId, organizationId, year: Number(date.slice(0, 4)), version, docDate: date, totalKopecks: totals.totalKopecks, vatKopecks: totals.vatKopecks, data: storedSnapshot(proposal) },
      documentTitle({ kind: 'proposal', dealId: deal.id, version, docDate: date }),
      files,
    );
    await recordHistory(tx, 'deal', deal.id, 'proposal_made', `Коммерческое предложение № ${deal.id}-${version} на ${formatKopecks(totals.totalKopecks)}`, { documentId: doc.id });
    await audit(tx, 'make_proposal', 'deal', deal.id, { proposal: { from: null, to: version } });
    await moveOnDocumentEvent(tx, deal, 'proposal_made');
    return doc;
  });
}

/** «Счёт № 5 от 02.12.2026», «Договор № 5 от 02.12.2026», «КП № 17-2 от 02.12.2026» (deal 17, version 2, as printed) */
export function documentTitle(d: { kind: DocumentKind; dealId: number; number?: number | null; version?: number | null; docDate: string }): string {
  const on = `от ${dateDots(d.docDate)}`;
  if (d.kind === 'invoice') return `Счёт № ${d.number} ${on}`;
  if (d.kind === 'contract') return `Договор № ${d.number} ${on}`;
  return `КП № ${d.dealId}-${d.version} ${on}`;
}
