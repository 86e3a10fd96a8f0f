/** Checksums of Russian tax and registration numbers (ФНС algorithms). */

const digits = (s: string) => [...s].map(Number);

function innCheck(d: number[], weights: number[]): number {
  const sum = weights.reduce((acc, w, i) => acc + w * d[i]!, 0);
  return (sum % 11) % 10;
}

/** INN: 10 digits for organisations, 12 for individuals and sole proprietors. */
export function isValidInn(inn: string): boolean {
  if (!/^\d{10}$|^\d{12}$/.test(inn)) return false;
  const d = digits(inn);
  if (inn.length === 10) return innCheck(d, [2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[9];
  return (
    innCheck(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[10] && innCheck(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[11]
  );
}

/** OGRN (13 digits, organisations) or OGRNIP (15 digits, sole proprietors). */
export function isValidOgrn(ogrn: string): boolean {
  if (/^\d{13}$/.test(ogrn)) {
    const check = Number(BigInt(ogrn.slice(0, 12)) % 11n) % 10;
    return check === Number(ogrn[12]);
  }
  if (/^\d{15}$/.test(ogrn)) {
    const check = Number(BigInt(ogrn.slice(0, 14)) % 13n) % 10;
    return check === Number(ogrn[14]);
  }
  return false;
}

/** KPP: 9 characters, the 5th and 6th may be letters (A-Z) per the FNS format. */
export const isValidKpp = (kpp: string) => /^\d{4}[\dA-Z]{2}\d{3}$/.test(kpp);

export type CounterpartyKind = 'legal_entity' | 'individual' | 'sole_proprietor';

export const innLengthFor = (kind: CounterpartyKind) => (kind === 'legal_entity' ? 10 : 12);
export const ogrnLengthFor = (kind: CounterpartyKind) => (kind === 'legal_entity' ? 13 : 15);
