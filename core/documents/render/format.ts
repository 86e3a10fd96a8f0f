/** How documents print dates and money. */

/** '2026-12-02' → «2 декабря 2026 г.» */
export function dateInWords(day: string): string {
  throw new Error(`dateInWords(${day}): being written`);
}

/** '2026-12-02' → «02.12.2026» */
export function dateDots(day: string): string {
  throw new Error(`dateDots(${day}): being written`);
}

/** 120000050n → «1 200 000,50» (no currency sign, narrow no-break spaces between thousands) */
export function money(kopecks: bigint): string {
  throw new Error(`money(${kopecks}): being written`);
}
