import { parseCounterparty, type CounterpartyKind } from '../counterparties/counterparties.js';
import { isServiceError } from '../errors.js';
import { normalizePhone } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';

/** The counterparty fields a CSV column can fill, with the labels people see. */
export const importFields = {
  name: 'Наименование / ФИО',
  inn: 'ИНН',
  kpp: 'КПП',
  ogrn: 'ОГРН / ОГРНИП',
  address: 'Адрес',
  region: 'Регион',
  industry: 'Отрасль',
  headcount: 'Численность',
  capital: 'Уставный капитал, ₽',
  phones: 'Телефон',
  emails: 'E-mail',
  comment: 'Комментарий',
  contactName: 'Контактное лицо',
  contactPosition: 'Должность контакта',
} as const;

export type ImportField = keyof typeof importFields;
export type ImportMapping = (ImportField | null)[];

export const isImportField = (v: unknown): v is ImportField => typeof v === 'string' && Object.hasOwn(importFields, v);

/** Fields that several columns may fill (a second phone column adds a phone). */
const multiFields = new Set<ImportField>(['phones', 'emails', 'address', 'comment']);

/**
 * Header words → field, tried in this order: a column named «Телефон контактного лица» is a
 * phone, «Почтовый адрес» an address, «Адрес эл. почты» an e-mail.
 */
const rules: [ImportField, (words: string[]) => boolean][] = [
  ['inn', (w) => w.includes('инн') || w.includes('inn')],
  ['kpp', (w) => w.includes('кпп') || w.includes('kpp')],
  ['ogrn', (w) => w.some((x) => x.startsWith('огрн') || x.startsWith('ogrn'))],
  ['phones', (w) => w.some((x) => x.startsWith('телефон') || x === 'тел' || x.startsWith('phone') || x === 'tel' || x.startsWith('мобильн') || x === 'mobile' || x.startsWith('сотов'))],
  [
    'emails',
    (w) => w.some((x) => x === 'email' || x === 'mail' || x === 'емейл' || x === 'емэйл' || x === 'эл' || (x.startsWith('почт') && !x.startsWith('почтов'))) || w.join(' ').includes('e mail'),
  ],
  ['contactPosition', (w) => w.includes('должность') || w.includes('position')],
  ['contactName', (w) => (w.some((x) => x.startsWith('контактн')) && w.includes('лицо')) || w.includes('contact') || w.includes('представитель')],
  ['headcount', (w) => w.some((x) => x.startsWith('численн') || x.startsWith('сотрудник') || x === 'штат' || x === 'employees' || x === 'headcount' || x === 'персонал')],
  ['capital', (w) => w.some((x) => x.startsWith('капитал') || x === 'capital')],
  ['industry', (w) => w.some((x) => x.startsWith('отрасл') || x === 'сфера' || x === 'деятельности' || x === 'industry' || x === 'оквэд')],
  ['region', (w) => w.some((x) => x === 'регион' || x === 'область' || x === 'субъект' || x === 'region' || x === 'город' || x === 'city')],
  ['address', (w) => w.some((x) => x.startsWith('адрес') || x === 'address')],
  ['comment', (w) => w.some((x) => x.startsWith('комментар') || x.startsWith('примечан') || x === 'comment' || x === 'note' || x === 'notes' || x === 'описание')],
  [
    'name',
    (w) =>
      w.some((x) =>
        ['наименование', 'название', 'организация', 'организации', 'компания', 'контрагент', 'клиент', 'фио', 'имя', 'name', 'company', 'organization', 'organisation'].includes(x),
      ),
  ],
];

const words = (header: string) =>
  header
    .toLowerCase()
    .replace(/ё/g, 'е')
    .split(/[^a-zа-я0-9]+/)
    .filter(Boolean);

/** Guesses, for each column, the field it holds from its header (Russian or English). */
export function guessMapping(headers: string[]): ImportMapping {
  const taken = new Set<ImportField>();
  return headers.map((h) => {
    const w = words(h);
    const rule = rules.find(([, test]) => test(w));
    if (!rule) return null;
    const field = rule[0];
    if (taken.has(field) && !multiFields.has(field)) return null;
    taken.add(field);
    return field;
  });
}

/** A staged row's typed values: what the counterparty would be. */
export interface StagedValues {
  name: string | null;
  inn: string | null;
  kpp: string | null;
  ogrn: string | null;
  address: string | null;
  region: string | null;
  industry: string | null;
  headcount: number | null;
  capitalKopecks: string | null;
  phones: string[];
  emails: string[];
  comment: string | null;
  contactName: string | null;
  contactPosition: string | null;
  problems: Record<string, string>;
}

const splitList = (v: string, sep: RegExp) =>
  v
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Turns one CSV record into counterparty values with the same checks as a form (INN/OGRN
 * checksums, E.164 phones, e-mails, a name). Problems are reported per field; the values are
 * still filled as far as they read, so the staging list shows what the row holds.
 */
export function validateRow(kind: CounterpartyKind, cells: string[], mapping: ImportMapping): StagedValues {
  const text: Partial<Record<ImportField, string>> = {};
  const phones: string[] = [];
  const emails: string[] = [];
  mapping.forEach((field, i) => {
    const v = (cells[i] ?? '').trim();
    if (!field || !v) return;
    if (field === 'phones') phones.push(...splitList(v, /[,;\n]+/));
    else if (field === 'emails') emails.push(...splitList(v, /[,;\s]+/));
    else text[field] = text[field] && multiFields.has(field) ? `${text[field]}, ${v}` : (text[field] ?? v);
  });
  const headcountText = text.headcount?.replace(/[\s\u00a0]/g, '');
  const badHeadcount = headcountText !== undefined && !/^\d{1,9}$/.test(headcountText);
  const input = {
    kind,
    name: text.name ?? '',
    inn: text.inn?.replace(/\s/g, ''),
    kpp: text.kpp?.replace(/\s/g, '').toUpperCase(),
    ogrn: text.ogrn?.replace(/\s/g, ''),
    address: text.address,
    region: text.region,
    industry: text.industry,
    headcount: badHeadcount ? undefined : headcountText,
    capital: text.capital,
    phones,
    emails,
    comment: text.comment,
  };
  const problems: Record<string, string> = {};
  let parsed: ReturnType<typeof parseCounterparty> | null = null;
  try {
    parsed = parseCounterparty(input);
  } catch (e) {
    if (!isServiceError(e)) throw e;
    // phones.2 → phones: one message per field is enough for a person
    for (const [k, msg] of Object.entries(e.fields)) problems[k.split('.')[0]!] ??= msg;
  }
  if (badHeadcount) problems.headcount = 'численность: целое число сотрудников';
  if (problems.capital) problems.capital = `уставный капитал: ${problems.capital}`;
  const headcount = parsed?.headcount ?? (input.headcount ? Number(input.headcount) : null);
  return {
    name: input.name || null,
    inn: input.inn || null,
    kpp: input.kpp || null,
    ogrn: input.ogrn || null,
    address: input.address ?? null,
    region: input.region ?? null,
    industry: input.industry ?? null,
    headcount,
    capitalKopecks: parsed?.capital != null ? parsed.capital.toString() : null,
    phones: parsed?.phones ?? unique(phones.map(normalizePhone)),
    emails: parsed?.emails ?? unique(emails.map(normalizeEmail)),
    comment: input.comment ?? null,
    contactName: text.contactName ?? null,
    contactPosition: text.contactPosition ?? null,
    problems,
  };
}

const unique = (list: (string | null)[]) => [...new Set(list.filter((x): x is string => !!x))];
