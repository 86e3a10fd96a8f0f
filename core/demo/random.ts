/**
 * Deterministic randomness and generators of plausible Russian requisites for the demo data set.
 * Nothing here touches the database.
 */

/** mulberry32: a tiny seeded PRNG, good enough for demo data and identical on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** [0, 1) */
  float(): number {
    return this.next();
  }

  /** an integer in [min, max], both inclusive */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** one of the keys, with probability proportional to its weight */
  weighted<T>(pairs: readonly (readonly [T, number])[]): T {
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [v, w] of pairs) {
      r -= w;
      if (r < 0) return v;
    }
    return pairs[pairs.length - 1]![0];
  }

  /** a shuffled copy (Fisher–Yates) */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** n distinct items (or all of them when there are fewer) */
  sample<T>(items: readonly T[], n: number): T[] {
    return this.shuffle(items).slice(0, n);
  }

  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Requisites with valid check digits (the algorithms of core/validation/russian-ids.ts).

const checkDigit = (digits: string, weights: readonly number[]): number =>
  (weights.reduce((sum, w, i) => sum + w * Number(digits[i]), 0) % 11) % 10;

const INN10_WEIGHTS = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN11_WEIGHTS = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

/** Two digits of the tax office inside the region, 01–46. */
const taxOffice = (rnd: Random) => String(rnd.int(1, 46)).padStart(2, '0');

/** INN of an organisation: region (2) + tax office (2) + number (5) + check digit. */
export function legalEntityInn(rnd: Random, regionCode: string): string {
  const base = regionCode + taxOffice(rnd) + rnd.digits(5);
  return base + checkDigit(base, INN10_WEIGHTS);
}

/** INN of a person or sole proprietor: region (2) + tax office (2) + number (6) + two check digits. */
export function personInn(rnd: Random, regionCode: string): string {
  const base = regionCode + taxOffice(rnd) + rnd.digits(6);
  const eleven = base + checkDigit(base, INN11_WEIGHTS);
  return eleven + checkDigit(eleven, INN12_WEIGHTS);
}

/** OGRN: sign 1 or 5, year (2), region (2), record number (7), check = (first 12 mod 11) mod 10. */
export function ogrn(rnd: Random, regionCode: string, year: number): string {
  const base = rnd.pick(['1', '1', '1', '5']) + String(year % 100).padStart(2, '0') + regionCode + rnd.digits(7);
  return base + String(Number(BigInt(base) % 11n) % 10);
}

/** OGRNIP: sign 3, year (2), region (2), record number (9), check = (first 14 mod 13) mod 10. */
export function ogrnip(rnd: Random, regionCode: string, year: number): string {
  const base = '3' + String(year % 100).padStart(2, '0') + regionCode + rnd.digits(9);
  return base + String(Number(BigInt(base) % 13n) % 10);
}

/** KPP: the tax office code from the INN, reason 01 (registered at its seat), number 001. */
export function kppFor(inn: string, largeTaxpayer = false): string {
  return largeTaxpayer ? `${inn.slice(0, 2)}50${'01'}001` : `${inn.slice(0, 4)}01001`;
}

// ---------------------------------------------------------------------------------------------
// Phones, in the many notations people type them.

/** 10 national digits (9161234567) written one of the ways found in real exports. */
export function writePhone(rnd: Random, national: string): string {
  const c = national.slice(0, 3);
  const a = national.slice(3, 6);
  const b = national.slice(6, 8);
  const d = national.slice(8, 10);
  return rnd.pick([
    `8 (${c}) ${a}-${b}-${d}`,
    `+7 ${c} ${a}-${b}-${d}`,
    `+7${national}`,
    `8-${c}-${a}-${b}-${d}`,
    `7 ${c} ${a}${b}${d}`,
    `(${c}) ${a} ${b} ${d}`,
    `8${national}`,
    `+7 (${c}) ${a}-${b}-${d}`,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Transliteration for e-mail addresses and domains.

const TRANSLIT: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'y', к: 'k', л: 'l', м: 'm',
  н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch',
  ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya',
};

/** Latin lower-case letters, digits and the hyphen only. */
export function translit(s: string): string {
  return [...s.toLowerCase()]
    .map((ch) => TRANSLIT[ch] ?? ch)
    .join('')
    .replace(/[^a-z0-9-]/g, '');
}
