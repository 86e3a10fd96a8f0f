/**
 * The total in words, as printed under an invoice's table: «Один миллион двести тысяч рублей 50 копеек».
 * Roubles in words (capitalised), kopecks as two digits with the right form of «копейка».
 */
export function amountInWords(kopecks: bigint): string {
  const negative = kopecks < 0n;
  const abs = negative ? -kopecks : kopecks;
  const roubles = abs / 100n;
  const kop = abs % 100n;
  const words = `${negative ? 'минус ' : ''}${numberInWords(roubles, 'masculine')}`;
  const text = `${words} ${plural(roubles, ['рубль', 'рубля', 'рублей'])} ${kop.toString().padStart(2, '0')} ${plural(kop, ['копейка', 'копейки', 'копеек'])}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Russian plural form: plural(21, ['рубль', 'рубля', 'рублей']) → 'рубль' */
export function plural(n: bigint | number, forms: [string, string, string]): string {
  let v = BigInt(n);
  if (v < 0n) v = -v;
  const lastTwo = v % 100n;
  const last = v % 10n;
  if (lastTwo >= 11n && lastTwo <= 14n) return forms[2];
  if (last === 1n) return forms[0];
  if (last >= 2n && last <= 4n) return forms[1];
  return forms[2];
}

export type Gender = 'masculine' | 'feminine';

const ONES: Record<Gender, string[]> = {
  masculine: ['', 'один', 'два', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'],
  feminine: ['', 'одна', 'две', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'],
};
const TEENS = ['десять', 'одиннадцать', 'двенадцать', 'тринадцать', 'четырнадцать', 'пятнадцать', 'шестнадцать', 'семнадцать', 'восемнадцать', 'девятнадцать'];
const TENS = ['', '', 'двадцать', 'тридцать', 'сорок', 'пятьдесят', 'шестьдесят', 'семьдесят', 'восемьдесят', 'девяносто'];
const HUNDREDS = ['', 'сто', 'двести', 'триста', 'четыреста', 'пятьсот', 'шестьсот', 'семьсот', 'восемьсот', 'девятьсот'];

/** Thousands are feminine («одна тысяча», «две тысячи»), the larger scales masculine. */
const SCALES: { gender: Gender; forms: [string, string, string] }[] = [
  { gender: 'feminine', forms: ['тысяча', 'тысячи', 'тысяч'] },
  { gender: 'masculine', forms: ['миллион', 'миллиона', 'миллионов'] },
  { gender: 'masculine', forms: ['миллиард', 'миллиарда', 'миллиардов'] },
  { gender: 'masculine', forms: ['триллион', 'триллиона', 'триллионов'] },
  { gender: 'masculine', forms: ['квадриллион', 'квадриллиона', 'квадриллионов'] },
];

function triad(n: number, gender: Gender): string[] {
  const out: string[] = [];
  const h = Math.floor(n / 100);
  const t = Math.floor((n % 100) / 10);
  const o = n % 10;
  if (h) out.push(HUNDREDS[h]!);
  if (t === 1) out.push(TEENS[o]!);
  else {
    if (t) out.push(TENS[t]!);
    if (o) out.push(ONES[gender][o]!);
  }
  return out;
}

/** A non-negative integer in words, lower case: 21n → «двадцать один» (units of the given gender) */
export function numberInWords(n: bigint, gender: Gender = 'masculine'): string {
  if (n === 0n) return 'ноль';
  const groups: number[] = [];
  for (let v = n; v > 0n; v /= 1000n) groups.push(Number(v % 1000n));
  if (groups.length > SCALES.length + 1) throw new Error(`numberInWords: ${n} is too large`);
  const words: string[] = [];
  for (let i = groups.length - 1; i >= 0; i--) {
    const g = groups[i]!;
    if (!g) continue;
    if (i === 0) words.push(...triad(g, gender));
    else {
      const scale = SCALES[i - 1]!;
      words.push(...triad(g, scale.gender), plural(g, scale.forms));
    }
  }
  return words.join(' ');
}
