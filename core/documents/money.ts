/**
 * Line and document sums, exact in kopecks (bigint). Prices include VAT, as Russian price lists and
 * invoices do, so the VAT is «в том числе»: gross × rate / (100 + rate), rounded half up to the kopeck.
 * The document's VAT is the sum of its lines' VAT, so the table and the totals always agree.
 */

export type TaxMode = 'osn' | 'usn_no_vat' | 'usn_vat5' | 'usn_vat7';

/** The VAT rates a line may carry under ОСН (null: «без НДС»). */
export const vatRates = [22, 10, 0] as const;
/** ОСН's general rate from 1 January 2026. */
export const GENERAL_VAT_RATE = 22;

export const taxModeLabels: Record<TaxMode, string> = {
  osn: 'ОСН, НДС 22%',
  usn_no_vat: 'УСН, без НДС',
  usn_vat5: 'УСН, НДС 5%',
  usn_vat7: 'УСН, НДС 7%',
};

/** УСН's reduced VAT rates, by mode. */
const usnVatRates: Record<'usn_vat5' | 'usn_vat7', number> = { usn_vat5: 5, usn_vat7: 7 };

/**
 * The rate printed on a line. ОСН keeps the line's own rate. УСН with VAT charges its reduced rate
 * (5% or 7%) instead of the general one, but a line «без НДС» (null: an exempt service) stays exempt
 * and a 0% line (export) stays at 0%: the reduced rate replaces only a positive rate. УСН без НДС
 * prints every line «без НДС».
 */
export function effectiveVatRate(mode: TaxMode, lineRate: number | null | undefined): number | null {
  if (mode === 'usn_no_vat') return null;
  if (mode === 'osn' || lineRate === null || lineRate === undefined || lineRate === 0) return lineRate ?? null;
  return usnVatRates[mode];
}

/** a / b rounded half up, for non-negative a and positive b */
const divRound = (a: bigint, b: bigint): bigint => (a * 2n + b) / (b * 2n);

/** "1.5" → 1500n thousandths; null when not a non-negative number with at most 3 decimals */
export function parseQuantity(input: string | number): bigint | null {
  const s = String(input).trim().replace(/\s/g, '').replace(',', '.');
  const m = /^(\d{1,11})(?:\.(\d{1,3}))?$/.exec(s);
  if (!m) return null;
  return BigInt(m[1]!) * 1000n + BigInt((m[2] ?? '').padEnd(3, '0'));
}

/** "12.5" → 1250n hundredths of a percent; null outside 0..100 or with more than 2 decimals */
export function parsePercent(input: string | number): bigint | null {
  const s = String(input).trim().replace(/\s|%/g, '').replace(',', '.');
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const v = BigInt(m[1]!) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
  return v > 10000n ? null : v;
}

/**
 * A discount as every screen and document prints it: "12.50" → «12,5%», "10.00" → «10%», "0" → «0%»
 * (comma decimal, no trailing zeros, no space before the sign). A caller that hides a zero discount
 * checks the percent itself.
 */
export function formatPercent(discountPercent: string): string {
  const hundredths = parsePercent(discountPercent);
  if (hundredths === null) return `${discountPercent.trim().replace('.', ',')}%`;
  const frac = (hundredths % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  return `${hundredths / 100n}${frac ? `,${frac}` : ''}%`;
}

/** A line has a discount: its percent is above zero. */
export const hasDiscount = (discountPercent: string) => (parsePercent(discountPercent) ?? 0n) > 0n;

/** 1500n → "1,5"; 2000n → "2" (as printed in a table) */
export function formatQuantity(milli: bigint): string {
  const whole = milli / 1000n;
  const frac = (milli % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole},${frac}` : whole.toString();
}

export interface LineInput {
  quantity: string;
  priceKopecks: bigint;
  discountPercent: string;
  vatRate: number | null;
}

export interface LineSums {
  /** quantity × price, before the discount */
  grossKopecks: bigint;
  discountKopecks: bigint;
  /** what the client pays for the line, VAT included */
  amountKopecks: bigint;
  /** the rate printed, after the seller's tax mode; null: «без НДС» */
  vatRate: number | null;
  /** VAT included in the amount */
  vatKopecks: bigint;
}

export function lineSums(line: LineInput, mode: TaxMode = 'osn'): LineSums {
  const qty = parseQuantity(line.quantity);
  const pct = parsePercent(line.discountPercent);
  if (qty === null || pct === null) throw new Error(`lineSums: bad quantity ${line.quantity} or discount ${line.discountPercent}`);
  const grossKopecks = divRound(qty * line.priceKopecks, 1000n);
  const amountKopecks = divRound(qty * line.priceKopecks * (10000n - pct), 1000n * 10000n);
  const vatRate = effectiveVatRate(mode, line.vatRate);
  return { grossKopecks, discountKopecks: grossKopecks - amountKopecks, amountKopecks, vatRate, vatKopecks: includedVat(amountKopecks, vatRate) };
}

/** «в том числе НДС»: gross × rate / (100 + rate), rounded half up to the kopeck */
export function includedVat(grossKopecks: bigint, rate: number | null): bigint {
  if (!rate) return 0n;
  const r = BigInt(rate);
  return divRound(grossKopecks * r, 100n + r);
}

export interface Totals {
  totalKopecks: bigint;
  discountKopecks: bigint;
  vatKopecks: bigint;
  /** VAT per rate (0% included), highest rate first; empty when every line is «без НДС» */
  vatByRate: { rate: number; vatKopecks: bigint }[];
  /** every line is «без НДС» */
  withoutVat: boolean;
}

export function totalsOf(lines: LineSums[]): Totals {
  const byRate = new Map<number, bigint>();
  let total = 0n;
  let discount = 0n;
  let vat = 0n;
  for (const l of lines) {
    total += l.amountKopecks;
    discount += l.discountKopecks;
    vat += l.vatKopecks;
    if (l.vatRate !== null) byRate.set(l.vatRate, (byRate.get(l.vatRate) ?? 0n) + l.vatKopecks);
  }
  const vatByRate = [...byRate].sort((a, b) => b[0] - a[0]).map(([rate, vatKopecks]) => ({ rate, vatKopecks }));
  return { totalKopecks: total, discountKopecks: discount, vatKopecks: vat, vatByRate, withoutVat: lines.every((l) => l.vatRate === null) };
}
