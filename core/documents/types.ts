/**
 * What the renderers are given: a snapshot of everything printed on a document, taken when it is made
 * and kept with it (`documents.data`), so a document never changes when the deal or the requisites do.
 * Money is kopecks as bigint; dates are 'YYYY-MM-DD'; images are PNG or JPEG bytes.
 */
import type { LineSums, TaxMode, Totals } from './money.js';

export type DocumentKind = 'invoice' | 'contract' | 'proposal';

export interface BankAccount {
  bankName: string;
  bik: string;
  corrAccount: string;
  account: string;
}

export interface Signatory {
  name: string;
  position: string;
}

export interface SellerData {
  kind: 'legal_entity' | 'sole_proprietor';
  /** full name */
  name: string;
  /** as printed in headers; the full name when there is no short one */
  shortName: string;
  inn: string;
  kpp: string | null;
  ogrn: string | null;
  legalAddress: string | null;
  postalAddress: string | null;
  phone: string | null;
  email: string | null;
  city: string | null;
  bank: BankAccount;
  director: Signatory | null;
  directorBasis: string | null;
  /** «в лице кого» in the genitive for a contract's preamble: «Генерального директора Соколова Андрея Викторовича»; absent in older snapshots */
  signerGenitive?: string | null;
  accountant: Signatory | null;
  taxMode: TaxMode;
  images: { logo?: Buffer; directorSignature?: Buffer; accountantSignature?: Buffer; stamp?: Buffer };
}

export interface BuyerData {
  kind: 'legal_entity' | 'individual' | 'sole_proprietor';
  name: string;
  inn: string | null;
  kpp: string | null;
  ogrn: string | null;
  address: string | null;
  phone: string | null;
  email: string | null;
  /** the contact the deal is with: «в лице …» */
  contactName: string | null;
}

export interface DocumentLine extends LineSums {
  /** 1-based */
  n: number;
  name: string;
  /** thousandths as text, e.g. "1,5" (formatQuantity) */
  quantity: string;
  unit: string;
  priceKopecks: bigint;
  discountPercent: string;
}

export interface ManagerContacts {
  name: string;
  phone: string | null;
  email: string | null;
}

interface Common {
  /** the date printed on it */
  date: string;
  /** the deal it is made for: a КП is numbered «<deal>-<version>»; absent in older snapshots */
  dealId?: number;
  seller: SellerData;
  buyer: BuyerData;
  lines: DocumentLine[];
  totals: Totals;
  dealTitle: string;
  manager: ManagerContacts;
}

export interface InvoiceData extends Common {
  /** «Счёт на оплату № 15 от 2 декабря 2026 г.» */
  number: number;
  /** «Оплата по счёту № 15 от 02.12.2026…»: printed and put in the payment QR code */
  purpose: string;
  /** the contract made with it */
  contract: { number: number; date: string } | null;
  /** pay within N banking days, printed under the table */
  payWithinDays: number;
}

export interface ContractData extends Common {
  number: number;
  /** the invoice made with it */
  invoice: { number: number; date: string } | null;
  /** the invoice's «pay within N banking days», printed in the contract's payment terms; 5 when absent */
  payWithinDays?: number;
}

export interface ProposalData extends Common {
  version: number;
  /** «Предложение действительно до …» */
  validUntil: string | null;
  intro: string;
  terms: string;
}

export interface RenderedFiles {
  pdf: Buffer;
  /** contract and proposal only */
  docx?: Buffer;
}
