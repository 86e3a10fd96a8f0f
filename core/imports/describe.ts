import type { ImportRow } from './stage.js';

const dupFieldLabels: Record<string, string> = {
  inn: 'тем же ИНН',
  phone: 'тем же телефоном',
  email: 'тем же e-mail',
  contact_phone: 'контактом с тем же телефоном',
  contact_email: 'контактом с тем же e-mail',
};

const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/** Why a staged row cannot simply be created, in Russian: its problems, then its duplicate marks. */
export function rowProblemTexts(row: Pick<ImportRow, 'problems' | 'hasProblems' | 'dupCounterpartyId' | 'dupField' | 'dupRowNo'>): string[] {
  const out = Object.values(row.problems).map(capitalize);
  if (!row.hasProblems && row.dupCounterpartyId) {
    out.push(`Дубликат: в базе уже есть контрагент №${row.dupCounterpartyId} с ${dupFieldLabels[row.dupField ?? ''] ?? 'теми же данными'}`);
  }
  if (!row.hasProblems && row.dupRowNo) out.push(`Дубликат строки ${row.dupRowNo} этого файла`);
  return out;
}
