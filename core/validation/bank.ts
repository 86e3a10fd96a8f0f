/**
 * Bank requisites checked by the Central Bank's control key: a mistyped digit in a BIK or an account
 * is caught before it is printed on an invoice and a client pays into nowhere.
 */

/** BIK of a Russian bank: 9 digits, starting with 04 (the country code). */
export const isValidBik = (bik: string): boolean => /^04\d{7}$/.test(bik);

const WEIGHTS = [7, 1, 3];

/** The weighted sum (weights 7, 1, 3 repeated) of 23 digits ends in 0. */
function keyMatches(digits23: string): boolean {
  let sum = 0;
  for (let i = 0; i < 23; i++) sum += (Number(digits23[i]) * WEIGHTS[i % 3]!) % 10;
  return sum % 10 === 0;
}

/** A settlement account (р/с): 20 digits, keyed with the BIK's last 3 digits. */
export function isValidSettlementAccount(bik: string, account: string): boolean {
  if (!isValidBik(bik) || !/^\d{20}$/.test(account)) return false;
  return keyMatches(bik.slice(-3) + account);
}

/** A correspondent account (к/с): 20 digits, keyed with '0' and the BIK's 5th–6th digits. */
export function isValidCorrAccount(bik: string, corrAccount: string): boolean {
  if (!isValidBik(bik) || !/^\d{20}$/.test(corrAccount)) return false;
  return keyMatches('0' + bik.slice(4, 6) + corrAccount);
}
