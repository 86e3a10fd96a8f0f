import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * E.164 for any way a phone is written: "8 (916) 123-45-67", "+7 916 1234567", "79161234567",
 * "9161234567" all meet as +79161234567. Russia is the default country; null when not a valid number.
 */
export function normalizePhone(input: string): string | null {
  const raw = input.trim();
  if (!raw) return null;
  let candidate = raw.replace(/[^\d+]/g, '');
  // 8XXXXXXXXXX and 7XXXXXXXXXX without the plus are Russian trunk/country forms.
  if (/^8\d{10}$/.test(candidate)) candidate = '+7' + candidate.slice(1);
  else if (/^7\d{10}$/.test(candidate)) candidate = '+' + candidate;
  const parsed = parsePhoneNumberFromString(candidate, 'RU');
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

/** Shown to people: +7 916 123-45-67. */
export function formatPhone(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}
