/**
 * The total in words, as printed under an invoice's table: «Один миллион двести тысяч рублей 50 копеек».
 * Roubles in words (capitalised), kopecks as two digits with the right form of «копейка».
 */
export function amountInWords(kopecks: bigint): string {
  throw new Error(`amountInWords(${kopecks}): being written`);
}

/** Russian plural form: plural(21, ['рубль', 'рубля', 'рублей']) → 'рубль' */
export function plural(n: bigint | number, forms: [string, string, string]): string {
  throw new Error(`plural(${n}, ${forms[0]}): being written`);
}
