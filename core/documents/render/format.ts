/** How documents print dates and money. */

const MONTHS_GENITIVE = ['января', 'февраля', 'марта', 'апреля', 'мая', 'июня', 'июля', 'августа', 'сентября', 'октября', 'ноября', 'декабря'];

function parts(day: string): { y: string; m: number; d: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  if (!m) throw new Error(`not a date: ${day}`);
  return { y: m[1]!, m: Number(m[2]), d: Number(m[3]) };
}

/** '2026-12-02' → «2 декабря 2026 г.» */
export function dateInWords(day: string): string {
  const { y, m, d } = parts(day);
  return `${d} ${MONTHS_GENITIVE[m - 1]} ${y} г.`;
}

/** '2026-12-02' → «02.12.2026» */
export function dateDots(day: string): string {
  const { y, m, d } = parts(day);
  return `${String(d).padStart(2, '0')}.${String(m).padStart(2, '0')}.${y}`;
}

/** 120000050n → «1 200 000,50» (no currency sign, plain spaces between thousands) */
export function money(kopecks: bigint): string {
  const negative = kopecks < 0n;
  const abs = negative ? -kopecks : kopecks;
  const roubles = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${negative ? '-' : ''}${roubles},${(abs % 100n).toString().padStart(2, '0')}`;
}
