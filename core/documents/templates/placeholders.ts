/**
 * The placeholders a contract or commercial proposal template may use, and their values for one
 * snapshot. One table gives both the list the admin sees on the template page and the values, so the
 * two cannot disagree. Names are Russian and dotted ({{продавец.инн}}); the line table is the loop
 * {{#строки}}…{{/строки}} whose items have their own names ({{наименование}}, {{сумма}} …).
 */
import { formatPhone } from '../../validation/phone.js';
import { formatPercent, hasDiscount } from '../money.js';
import { dateDots, dateInWords, money } from '../render/format.js';
import { amountInWords, plural } from '../render/words.js';
import type { ContractData, DocumentLine, ProposalData, SellerData } from '../types.js';

export type TemplateKind = 'contract' | 'proposal';

export interface PlaceholderInfo {
  name: string;
  description: string;
}

type AnyData = ContractData | ProposalData;

interface Placeholder<D> {
  name: string;
  description: string;
  value: (data: D) => string;
}

/** The loop over the table's lines. */
export const LINES_LOOP = 'строки';

const phone = (p: string | null) => (p ? formatPhone(p) : '');

/** «Иванов Иван Иванович» → «Иванов И. И.», as signed under a contract */
export function shortPersonName(full: string): string {
  const [last, ...rest] = full.trim().split(/\s+/);
  if (!last || rest.length === 0) return full.trim();
  return `${last} ${rest.map((p) => `${p[0]!.toUpperCase()}.`).join(' ')}`;
}

/** «в том числе НДС 22% — 1 000,00 руб.», several rates joined; «НДС не облагается» without VAT */
export function vatText(data: AnyData): string {
  const t = data.totals;
  if (t.withoutVat) return 'НДС не облагается';
  return 'в том числе ' + t.vatByRate.map((r) => `НДС ${r.rate}% — ${money(r.vatKopecks)} руб.`).join(', ');
}

/**
 * What the seller acts on when the book names nothing: a company its charter; an ИП the record in
 * ЕГРИП (paper certificates of registration are no longer issued since 2017), with the ОГРНИП when known.
 */
const defaultBasis = (s: SellerData) =>
  s.kind === 'sole_proprietor' ? `записи в ЕГРИП${s.ogrn ? ` (ОГРНИП ${s.ogrn})` : ''}` : 'Устава';

/** The days the contract gives to pay: the invoice's, 5 as the invoice's default. */
const payDays = (d: ContractData) => d.payWithinDays ?? 5;

const sellerAddress = (s: SellerData) => s.legalAddress ?? s.postalAddress ?? '';

const common: Placeholder<AnyData>[] = [
  { name: 'дата', description: 'Дата документа прописью: «2 декабря 2026 г.»', value: (d) => dateInWords(d.date) },
  { name: 'дата_цифрами', description: 'Дата документа цифрами: «02.12.2026»', value: (d) => dateDots(d.date) },
  { name: 'продавец.наименование', description: 'Полное наименование нашей организации', value: (d) => d.seller.name },
  { name: 'продавец.краткое_наименование', description: 'Краткое наименование нашей организации', value: (d) => d.seller.shortName },
  { name: 'продавец.инн', description: 'ИНН нашей организации', value: (d) => d.seller.inn },
  { name: 'продавец.кпп', description: 'КПП нашей организации (у ИП пусто)', value: (d) => d.seller.kpp ?? '' },
  { name: 'продавец.огрн', description: 'ОГРН (у ИП — ОГРНИП) нашей организации', value: (d) => d.seller.ogrn ?? '' },
  {
    name: 'продавец.огрн_название',
    description: '«ОГРН» или «ОГРНИП» — как называется номер у нашей организации',
    value: (d) => (d.seller.kind === 'sole_proprietor' ? 'ОГРНИП' : 'ОГРН'),
  },
  { name: 'продавец.адрес', description: 'Юридический адрес нашей организации', value: (d) => sellerAddress(d.seller) },
  {
    name: 'продавец.почтовый_адрес',
    description: 'Почтовый адрес нашей организации (юридический, если почтовый не указан)',
    value: (d) => d.seller.postalAddress ?? sellerAddress(d.seller),
  },
  { name: 'продавец.телефон', description: 'Телефон нашей организации', value: (d) => phone(d.seller.phone) },
  { name: 'продавец.email', description: 'E-mail нашей организации', value: (d) => d.seller.email ?? '' },
  { name: 'продавец.банк', description: 'Банк нашей организации', value: (d) => d.seller.bank.bankName },
  { name: 'продавец.бик', description: 'БИК банка', value: (d) => d.seller.bank.bik },
  { name: 'продавец.корр_счёт', description: 'Корреспондентский счёт банка', value: (d) => d.seller.bank.corrAccount },
  { name: 'продавец.расч_счёт', description: 'Расчётный счёт нашей организации', value: (d) => d.seller.bank.account },
  { name: 'продавец.руководитель', description: 'ФИО руководителя полностью: «Иванов Иван Иванович»', value: (d) => d.seller.director?.name ?? '' },
  {
    name: 'продавец.руководитель_кратко',
    description: 'Фамилия и инициалы руководителя для подписи: «Иванов И. И.»',
    value: (d) => (d.seller.director ? shortPersonName(d.seller.director.name) : ''),
  },
  {
    name: 'продавец.должность_руководителя',
    description: 'Должность руководителя: «Генеральный директор»',
    value: (d) => d.seller.director?.position ?? (d.seller.kind === 'sole_proprietor' ? 'Индивидуальный предприниматель' : ''),
  },
  {
    name: 'продавец.основание',
    description: 'На основании чего действует руководитель: «Устава» (у ИП — «записи в ЕГРИП (ОГРНИП …)»)',
    value: (d) => d.seller.directorBasis ?? defaultBasis(d.seller),
  },
  { name: 'продавец.главный_бухгалтер', description: 'ФИО главного бухгалтера', value: (d) => d.seller.accountant?.name ?? '' },
  { name: 'продавец.город', description: 'Город нашей организации: «Москва»', value: (d) => (d.seller.city ?? '').replace(/^г\.\s*/i, '') }, // the template prints «г.» itself; the book may hold «г. Москва»
  { name: 'покупатель.наименование', description: 'Наименование или ФИО покупателя', value: (d) => d.buyer.name },
  { name: 'покупатель.инн', description: 'ИНН покупателя', value: (d) => d.buyer.inn ?? '' },
  { name: 'покупатель.кпп', description: 'КПП покупателя', value: (d) => d.buyer.kpp ?? '' },
  { name: 'покупатель.огрн', description: 'ОГРН (ОГРНИП) покупателя', value: (d) => d.buyer.ogrn ?? '' },
  { name: 'покупатель.адрес', description: 'Адрес покупателя', value: (d) => d.buyer.address ?? '' },
  { name: 'покупатель.телефон', description: 'Телефон покупателя', value: (d) => phone(d.buyer.phone) },
  { name: 'покупатель.email', description: 'E-mail покупателя', value: (d) => d.buyer.email ?? '' },
  { name: 'покупатель.представитель', description: 'Контактное лицо покупателя по сделке («в лице …»)', value: (d) => d.buyer.contactName ?? '' },
  {
    name: 'покупатель.представитель_кратко',
    description: 'Фамилия и инициалы представителя покупателя для подписи',
    value: (d) => (d.buyer.contactName ? shortPersonName(d.buyer.contactName) : ''),
  },
  { name: 'сделка.название', description: 'Название сделки', value: (d) => d.dealTitle },
  { name: 'итого', description: 'Итоговая сумма с НДС: «1 200 000,50»', value: (d) => money(d.totals.totalKopecks) },
  {
    name: 'итого_без_ндс',
    description: 'Итоговая сумма без НДС',
    value: (d) => money(d.totals.totalKopecks - d.totals.vatKopecks),
  },
  { name: 'итого_скидка', description: 'Сумма скидки по всем строкам', value: (d) => money(d.totals.discountKopecks) },
  { name: 'ндс', description: 'НДС текстом: «в том числе НДС 22% — 1 000,00 руб.» или «НДС не облагается»', value: vatText },
  { name: 'сумма_ндс', description: 'Сумма НДС числом («0,00» без НДС)', value: (d) => money(d.totals.vatKopecks) },
  { name: 'сумма_прописью', description: 'Итоговая сумма прописью: «Сто двадцать тысяч рублей 00 копеек»', value: (d) => amountInWords(d.totals.totalKopecks) },
  { name: 'всего_наименований', description: 'Число строк в таблице', value: (d) => String(d.lines.length) },
  { name: 'менеджер.имя', description: 'Имя менеджера, ведущего сделку', value: (d) => d.manager.name },
  { name: 'менеджер.телефон', description: 'Телефон менеджера', value: (d) => phone(d.manager.phone) },
  { name: 'менеджер.email', description: 'E-mail менеджера', value: (d) => d.manager.email ?? '' },
];

const contractOnly: Placeholder<ContractData>[] = [
  { name: 'номер', description: 'Номер договора', value: (d) => String(d.number) },
  { name: 'счёт.номер', description: 'Номер счёта, выставленного вместе с договором (пусто, если счёта нет)', value: (d) => (d.invoice ? String(d.invoice.number) : '') },
  { name: 'счёт.дата', description: 'Дата этого счёта: «02.12.2026»', value: (d) => (d.invoice ? dateDots(d.invoice.date) : '') },
  { name: 'срок_оплаты_дней', description: 'За сколько банковских дней оплатить счёт, числом: «5»', value: (d) => String(payDays(d)) },
  {
    name: 'срок_оплаты',
    description: 'Срок оплаты словами с числом: «5 банковских дней» («1 банковского дня»), после «в течение»',
    value: (d) => `${payDays(d)} ${plural(payDays(d), ['банковского дня', 'банковских дней', 'банковских дней'])}`,
  },
];

const proposalOnly: Placeholder<ProposalData>[] = [
  { name: 'номер', description: 'Номер предложения (его версия)', value: (d) => String(d.version) },
  { name: 'версия', description: 'Версия предложения: 1, 2, …', value: (d) => String(d.version) },
  {
    name: 'действительно_до',
    description: 'До какой даты действует предложение: «31 декабря 2026 г.» (пусто, если срок не указан)',
    value: (d) => (d.validUntil ? dateInWords(d.validUntil) : ''),
  },
  { name: 'вступление', description: 'Вступительный текст предложения', value: (d) => d.intro },
  { name: 'условия', description: 'Условия предложения (оплата, сроки, доставка)', value: (d) => d.terms },
];

const lineItem: Placeholder<DocumentLine>[] = [
  { name: 'номер', description: 'Номер строки', value: (l) => String(l.n) },
  { name: 'наименование', description: 'Товар или услуга', value: (l) => l.name },
  { name: 'количество', description: 'Количество: «1,5»', value: (l) => l.quantity },
  { name: 'ед', description: 'Единица измерения: «шт.»', value: (l) => l.unit },
  { name: 'цена', description: 'Цена за единицу с НДС', value: (l) => money(l.priceKopecks) },
  { name: 'скидка', description: 'Скидка в процентах: «10%» (пусто без скидки)', value: (l) => (hasDiscount(l.discountPercent) ? formatPercent(l.discountPercent) : '') },
  { name: 'сумма_скидки', description: 'Скидка по строке в рублях', value: (l) => money(l.discountKopecks) },
  { name: 'сумма', description: 'Сумма по строке с учётом скидки и с НДС', value: (l) => money(l.amountKopecks) },
  { name: 'ставка_ндс', description: 'Ставка НДС: «22%» или «без НДС»', value: (l) => (l.vatRate === null ? 'без НДС' : `${l.vatRate}%`) },
  { name: 'ндс', description: 'НДС по строке («—» без НДС)', value: (l) => (l.vatRate === null ? '—' : money(l.vatKopecks)) },
];

function topLevel(kind: TemplateKind): Placeholder<AnyData>[] {
  const own = (kind === 'contract' ? contractOnly : proposalOnly) as Placeholder<AnyData>[];
  // the kind's own names first: {{номер}} reads first on the template page
  return [...own, ...common];
}

/** What a placeholder looks like: ё and е are the same letter to whoever types the template. */
export const normalizeName = (name: string) => name.trim().replace(/ё/g, 'е').replace(/Ё/g, 'Е');

/** The names a template may use, split by where they are allowed (for checkTemplate). */
export function allowedNames(kind: TemplateKind): { top: Set<string>; loopItem: Set<string> } {
  return {
    top: new Set(topLevel(kind).map((p) => normalizeName(p.name))),
    loopItem: new Set(lineItem.map((p) => normalizeName(p.name))),
  };
}

/** The list shown on the template page: every placeholder with what it prints. */
export function placeholderList(kind: TemplateKind): PlaceholderInfo[] {
  return [
    ...topLevel(kind).map(({ name, description }) => ({ name, description })),
    { name: `#${LINES_LOOP}`, description: 'Начало строки таблицы товаров и услуг: строка таблицы (или абзац) повторяется для каждой позиции' },
    ...lineItem.map(({ name, description }) => ({ name, description: `${description} (внутри {{#${LINES_LOOP}}}…{{/${LINES_LOOP}}})` })),
    { name: `/${LINES_LOOP}`, description: 'Конец повторяемой строки таблицы' },
  ];
}

/** Puts `value` at the dotted `name` inside `into`. */
function setPath(into: Record<string, unknown>, name: string, value: unknown) {
  const parts = normalizeName(name).split('.');
  let at = into;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

/**
 * The values for a template, nested by the dotted names (normalised: ё → е), with the lines under
 * `строки`. Absent values are empty strings, so {{#покупатель.кпп}}…{{/покупатель.кпп}} hides a part.
 */
export function templateValues(kind: 'contract', data: ContractData): Record<string, unknown>;
export function templateValues(kind: 'proposal', data: ProposalData): Record<string, unknown>;
export function templateValues(kind: TemplateKind, data: AnyData): Record<string, unknown>;
export function templateValues(kind: TemplateKind, data: AnyData): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const p of topLevel(kind)) setPath(values, p.name, p.value(data));
  values[LINES_LOOP] = data.lines.map((line) => {
    const item: Record<string, unknown> = {};
    for (const p of lineItem) setPath(item, p.name, p.value(line));
    return item;
  });
  return values;
}
