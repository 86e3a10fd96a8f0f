/**
 * A filled snapshot for trying a template out: an admin's uploaded .docx is rendered with it once, so
 * a template that fills but cannot be printed is refused at upload, not when a manager needs the
 * document. Every placeholder has a value here (the seller's КПП, the buyer's contact, a discount, the
 * invoice), so no part of the template is skipped by an empty {{#…}} block.
 */
import { lineSums, totalsOf, type LineInput } from '../money.js';
import type { ContractData, DocumentLine, ProposalData, SellerData } from '../types.js';
import type { TemplateKind } from './placeholders.js';

// a 1×1 PNG: the signature and stamp bookmarks are placed too, as in a real document
const DOT_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

const seller: SellerData = {
  kind: 'legal_entity',
  name: 'Общество с ограниченной ответственностью «Пример»',
  shortName: 'ООО «Пример»',
  inn: '7736207543',
  kpp: '773601001',
  ogrn: '1027700229193',
  legalAddress: '119021, г. Москва, ул. Льва Толстого, д. 16',
  postalAddress: '119021, г. Москва, а/я 15',
  phone: '+74951234567',
  email: 'sales@primer.example',
  city: 'Москва',
  bank: { bankName: 'ПАО Сбербанк', bik: '044525225', corrAccount: '30101810400000000225', account: '40702810938000012345' },
  director: { name: 'Иванов Иван Иванович', position: 'Генеральный директор' },
  directorBasis: 'Устава',
  signerGenitive: 'Генерального директора Иванова Ивана Ивановича',
  accountant: { name: 'Петрова Анна Сергеевна', position: 'Главный бухгалтер' },
  taxMode: 'osn',
  images: { directorSignature: DOT_PNG, stamp: DOT_PNG },
};

const buyer: ContractData['buyer'] = {
  kind: 'legal_entity',
  name: 'ООО «Ромашка»',
  inn: '7707083893',
  kpp: '770701001',
  ogrn: '1027700132195',
  address: '117997, г. Москва, ул. Вавилова, д. 19',
  phone: '+79161234567',
  email: 'buy@romashka.example',
  contactName: 'Смирнов Пётр Алексеевич',
};

const inputs: (LineInput & { name: string; unit: string })[] = [
  { name: 'Кресло офисное «Комфорт»', unit: 'шт.', quantity: '4', priceKopecks: 1_250_000n, discountPercent: '0', vatRate: 22 },
  { name: 'Сборка и доставка', unit: 'усл.', quantity: '1.5', priceKopecks: 300_000n, discountPercent: '12.5', vatRate: 22 },
];

function common() {
  const lines: DocumentLine[] = inputs.map((l, i) => ({
    ...lineSums(l, seller.taxMode),
    n: i + 1,
    name: l.name,
    quantity: l.quantity.replace('.', ','),
    unit: l.unit,
    priceKopecks: l.priceKopecks,
    discountPercent: l.discountPercent,
  }));
  return {
    date: '2026-12-02',
    seller,
    buyer,
    lines,
    totals: totalsOf(lines),
    dealTitle: 'Мебель для нового офиса',
    manager: { name: 'Ольга Кузнецова', phone: '+79035554433', email: 'olga@primer.example' },
  };
}

/** A realistic contract or proposal snapshot: an ООО selling to an ООО, two lines (one with a discount). */
export function sampleData(kind: 'contract'): ContractData;
export function sampleData(kind: 'proposal'): ProposalData;
export function sampleData(kind: TemplateKind): ContractData | ProposalData;
export function sampleData(kind: TemplateKind): ContractData | ProposalData {
  if (kind === 'contract') return { ...common(), number: 17, invoice: { number: 15, date: '2026-12-02' }, payWithinDays: 5 };
  return {
    ...common(),
    version: 2,
    validUntil: '2026-12-31',
    intro: 'Благодарим за интерес к нашей мебели.\nПредлагаем комплект для кабинета руководителя.',
    terms: 'Оплата 100% по счёту. Доставка по Москве бесплатно.',
  };
}
