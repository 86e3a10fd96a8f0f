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
import type { BuyerData, ContractData, DocumentLine, ProposalData, SellerData } from '../types.js';

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

/** A blank a party fills in by hand. */
const BLANK = '____________________';

type Gender = 'm' | 'f' | 'n';

/**
 * A company's grammatical gender by its legal form, for «именуемое / именуемая / именуемый»: most
 * forms are «общество» (ООО, АО, ПАО); «организация», «компания» and the like are feminine.
 */
function companyGender(name: string): Gender {
  const form = ` ${name.split(/[«"“]/)[0]!.toLowerCase()}`;
  // the first noun of the form decides: «Общество … Управляющая компания» is still «общество»
  const at = (re: RegExp) => (form.search(re) < 0 ? Infinity : form.search(re));
  const f = at(/\s((ано|нко)(?=\s|$)|[а-яё]*организаци|компани|корпораци|ассоциаци|артель|фирма|коллегия|палата)/);
  const m = at(/\s(кооператив|фонд|союз|концерн)/);
  const n = at(/\s((ооо|ао|пао|зао|нао)(?=\s|$)|[а-яё]*обществ|предприяти|учреждени|товариществ|партнёрств|партнерств|бюро)/);
  const first = Math.min(f, m, n);
  return first === Infinity || first === n ? 'n' : first === f ? 'f' : 'm';
}

/** A person's gender by the patronymic («Олегович» / «Олеговна»), null when there is none to tell. */
function personGender(fullName: string): Gender | null {
  const last = fullName.trim().split(/\s+/).at(-1)?.toLowerCase() ?? '';
  if (/(вна|чна|кызы)$/.test(last)) return 'f';
  if (/(вич|ич|оглы|улы)$/.test(last)) return 'm';
  return null;
}

const SOLE_PROPRIETOR = 'Индивидуальный предприниматель';

/** «ИП Орлов Олег Олегович» and «Орлов Олег Олегович» → «Индивидуальный предприниматель Орлов Олег Олегович» */
function soleProprietorName(name: string): string {
  const bare = personOf(name);
  return bare ? `${SOLE_PROPRIETOR} ${bare}` : SOLE_PROPRIETOR;
}

/** The person behind an ИП's name, without «ИП» / «Индивидуальный предприниматель». */
function personOf(name: string): string {
  return name.trim().replace(/^(индивидуальный\s+предприниматель|ип)(\s+|$)/i, '').trim();
}

/** «именуемое / именуемая / именуемый», «именуемый(-ая)» when the gender is not known. */
const NAMED: Record<Gender, string> = { n: 'именуемое', f: 'именуемая', m: 'именуемый' };
const named = (g: Gender | null) => (g ? NAMED[g] : 'именуемый(-ая)');
const actingPerson = (g: Gender | null) => (g === 'f' ? 'действующая' : 'действующий');

/** An ИП acts on the record in ЕГРИП: «Индивидуальный предприниматель …, действующий на основании …, именуемый в дальнейшем «role»» */
function soleProprietorPreamble(name: string, basis: string | null, role: string): string {
  const g = personGender(personOf(name));
  // an ИП with an unknown patronymic is written in the masculine, as the forms do
  const acting = basis ? `, ${actingPerson(g)} на основании ${basis}` : '';
  return `${soleProprietorName(name)}${acting}, ${named(g ?? 'm')} в дальнейшем «${role}»`;
}

/**
 * The seller's part of a contract's preamble, as a lawyer writes it: «ООО «…», именуемое в дальнейшем
 * «Поставщик», в лице Генерального директора Соколова Андрея Викторовича, действующего на основании
 * Устава»; an ИП acts himself on the record in ЕГРИП. Without the genitive from the book, the position
 * and name are put as they are (no declension is guessed).
 */
export function sellerPreamble(s: SellerData): string {
  const basis = s.directorBasis ?? defaultBasis(s);
  if (s.kind === 'sole_proprietor') {
    // the registered name, unless it is abbreviated («ИП Орлов О. О.») and the book has the full one
    const name = personOf(s.name).includes('.') && s.director ? s.director.name : s.name;
    return soleProprietorPreamble(name, basis, 'Поставщик');
  }
  const who = s.signerGenitive?.trim() || (s.director ? `${s.director.position.toLowerCase()} ${s.director.name}` : BLANK);
  return `${s.name}, ${named(companyGender(s.name))} в дальнейшем «Поставщик», в лице ${who}, действующего на основании ${basis}`;
}

/**
 * The buyer's part: a company «в лице представителя …» (blanks to fill in by hand when the deal has
 * no contact), an ИП himself, a private person by name; «именуемый(-ая)» when the gender is not known.
 */
export function buyerPreamble(b: BuyerData): string {
  if (b.kind === 'sole_proprietor') return soleProprietorPreamble(b.name, b.ogrn ? `записи в ЕГРИП (ОГРНИП ${b.ogrn})` : null, 'Покупатель');
  if (b.kind === 'individual') return `${b.name}, ${named(personGender(b.name))} в дальнейшем «Покупатель»`;
  const who = b.contactName ? `представителя ${b.contactName}` : BLANK;
  return `${b.name}, ${named(companyGender(b.name))} в дальнейшем «Покупатель», в лице ${who}, действующего на основании ${BLANK}`;
}

/** Who signs for the buyer, «Смирнов П. А.»: a company's contact, an ИП or a person themselves. */
const buyerSigner = (b: BuyerData) => {
  const person = b.kind === 'legal_entity' ? b.contactName : b.kind === 'sole_proprietor' ? personOf(b.name) : b.name;
  return person ? shortPersonName(person) : '';
};

/** A section flag: a non-empty value shows {{#…}}…{{/…}}, an empty one hides it. */
const flag = (on: boolean) => (on ? 'да' : '');

/** «12-3»: the deal and the version, so two clients' first proposals are not both «№ 1». */
const proposalNumber = (d: ProposalData) => (d.dealId ? `${d.dealId}-${d.version}` : String(d.version));

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
  {
    name: 'продавец.преамбула',
    description:
      'Наша сторона в преамбуле договора: «ООО «…», именуемое в дальнейшем «Поставщик», в лице Генерального директора …, действующего на основании Устава» (у ИП — «Индивидуальный предприниматель …, действующий на основании записи в ЕГРИП (ОГРНИП …), именуемый в дальнейшем «Поставщик»»)',
    value: (d) => sellerPreamble(d.seller),
  },
  {
    name: 'продавец.в_лице',
    description: 'В лице кого подписывает руководитель, в родительном падеже: «Генерального директора Соколова Андрея Викторовича» (пусто, если не заполнено)',
    value: (d) => d.seller.signerGenitive ?? '',
  },
  {
    name: 'продавец.юрлицо',
    description: 'Непусто у организации, пусто у ИП: {{#продавец.юрлицо}}М.П.{{/продавец.юрлицо}}',
    value: (d) => flag(d.seller.kind === 'legal_entity'),
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
  {
    name: 'покупатель.преамбула',
    description:
      'Сторона покупателя в преамбуле договора: «ООО «…», именуемое в дальнейшем «Покупатель», в лице представителя …» (у ИП — «Индивидуальный предприниматель …, именуемый в дальнейшем «Покупатель»», у физического лица — «…, именуемый(-ая) в дальнейшем «Покупатель»»)',
    value: (d) => buyerPreamble(d.buyer),
  },
  {
    name: 'покупатель.подписант_кратко',
    description: 'Кто подписывает за покупателя, фамилия и инициалы: представитель организации, сам ИП или физическое лицо',
    value: (d) => buyerSigner(d.buyer),
  },
  {
    name: 'покупатель.юрлицо',
    description: 'Непусто, если покупатель — организация: {{#покупатель.юрлицо}}М.П.{{/покупатель.юрлицо}}',
    value: (d) => flag(d.buyer.kind === 'legal_entity'),
  },
  {
    name: 'покупатель.ип',
    description: 'Непусто, если покупатель — индивидуальный предприниматель',
    value: (d) => flag(d.buyer.kind === 'sole_proprietor'),
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
  { name: 'номер', description: 'Номер предложения: «12-3» — сделка и версия (как {{номер_кп}})', value: proposalNumber },
  { name: 'номер_кп', description: 'Номер предложения: «12-3» — номер сделки и версия предложения по ней', value: proposalNumber },
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
