/**
 * The payment QR code printed on an invoice (ГОСТ Р 56042-2014): banking apps read it and fill the transfer
 * in. Header "ST0001" + "2" (the values are UTF-8), then '|'-separated Key=Value requisites, the five
 * mandatory ones first and in this order: Name, PersonalAcc, BankName, BIC, CorrespAcc.
 */

export interface PaymentQrInput {
  payeeName: string;
  account: string;
  bankName: string;
  bik: string;
  corrAccount: string;
  payeeInn: string;
  /** absent for a sole proprietor */
  kpp?: string | null;
  sumKopecks: bigint;
  purpose: string;
}

/**
 * The standard's maximum lengths for the free-text fields; banking apps refuse longer values, so a long
 * name or purpose is cut rather than the code being unreadable for payment.
 */
const MAX = { Name: 160, BankName: 45, Purpose: 210 } as const;

/** '|' separates fields and line breaks end the payload in some readers, so neither may appear in a value. */
function clean(value: string, max?: number): string {
  const v = value.replace(/[|\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
  return max && v.length > max ? v.slice(0, max).trimEnd() : v;
}

export function paymentQrPayload(p: PaymentQrInput): string {
  const fields: [string, string][] = [
    ['Name', clean(p.payeeName, MAX.Name)],
    ['PersonalAcc', clean(p.account)],
    ['BankName', clean(p.bankName, MAX.BankName)],
    ['BIC', clean(p.bik)],
    // the standard writes "0" for a bank without a correspondent account
    ['CorrespAcc', clean(p.corrAccount) || '0'],
    ['PayeeINN', clean(p.payeeInn)],
  ];
  const kpp = p.kpp ? clean(p.kpp) : '';
  if (kpp) fields.push(['KPP', kpp]);
  fields.push(['Sum', (p.sumKopecks < 0n ? 0n : p.sumKopecks).toString()]);
  fields.push(['Purpose', clean(p.purpose, MAX.Purpose)]);
  return ['ST00012', ...fields.map(([k, v]) => `${k}=${v}`)].join('|');
}
