/**
 * Money is kept in kopecks as bigint. Parses "1 234 567,89", "1234567.8", "1000" (roubles) exactly,
 * without going through a float. Returns null for anything else.
 */
export function parseRoubles(input: string | number | bigint): bigint | null {
  if (typeof input === 'bigint') return input * 100n;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return null;
    input = input.toFixed(2);
  }
  const s = input.replace(/[\s\u00a0₽]|руб\.?/gi, '').replace(',', '.');
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const kopecks = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -kopecks : kopecks;
}

/** 123456789n → "1 234 567,89 ₽" */
export function formatKopecks(kopecks: bigint, currency = 'RUB'): string {
  const neg = kopecks < 0n;
  const abs = neg ? -kopecks : kopecks;
  const rub = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  const kop = (abs % 100n).toString().padStart(2, '0');
  const sign = currency === 'RUB' ? '₽' : currency;
  return `${neg ? '-' : ''}${rub},${kop} ${sign}`;
}
