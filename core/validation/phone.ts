import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * An extension written after the number: «доб. 12», «доб.12», «добавочный 12», «ext 12», «ext. 12»,
 * «x12», «#12», «вн. 12». Up to 8 digits; what stands before it must be a whole phone number.
 */
const extensionTail = /\s*(?:\(\s*)?(?:доб(?:авочный)?\.?|ext(?:ension)?\.?|вн\.?|x|#)\s*(\d{1,8})\s*\)?\s*$/iu;
/** a marker with no digits (or letters) after it: «доб.», «ext abc» */
const brokenExtension = /(?:доб(?:авочный)?\.?|ext(?:ension)?\.?|#)\s*\D*$/iu;

function numberToE164(raw: string): string | null {
  if (!raw) return null;
  let candidate = raw.replace(/[^\d+]/g, '');
  // 8XXXXXXXXXX and 7XXXXXXXXXX without the plus are Russian trunk/country forms.
  if (/^8\d{10}$/.test(candidate)) candidate = '+7' + candidate.slice(1);
  else if (/^7\d{10}$/.test(candidate)) candidate = '+' + candidate;
  const parsed = parsePhoneNumberFromString(candidate, 'RU');
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

/**
 * A phone as people write it, with an office extension if there is one:
 * «8 (495) 123-45-67 доб. 12» → { e164: '+74951234567', extension: '12' }. The number is E.164
 * (what phones are stored and matched by); the extension is kept apart (phone_extensions). Null
 * when the number is not a valid phone or the extension is unreadable.
 */
export function parsePhoneWithExtension(input: string): { e164: string; extension?: string } | null {
  const raw = input.trim();
  if (!raw) return null;
  const m = extensionTail.exec(raw);
  if (m) {
    const e164 = numberToE164(raw.slice(0, m.index).trim());
    return e164 ? { e164, extension: m[1]! } : null;
  }
  if (brokenExtension.test(raw)) return null;
  const e164 = numberToE164(raw);
  return e164 ? { e164 } : null;
}

/**
 * E.164 for any way a phone is written: "8 (916) 123-45-67", "+7 916 1234567", "79161234567",
 * "9161234567" all meet as +79161234567. Russia is the default country; null when not a valid number.
 * An extension after the number («доб. 12») is dropped: the number alone is what matches.
 */
export function normalizePhone(input: string): string | null {
  return parsePhoneWithExtension(input)?.e164 ?? null;
}

/** Shown to people: +7 916 123-45-67. */
export function formatPhone(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

/** Shown to people and put back in forms: «+7 495 123 45 67 доб. 12». */
export function formatPhoneWithExtension(e164: string, extension?: string | null): string {
  return extension ? `${formatPhone(e164)} доб. ${extension}` : formatPhone(e164);
}

/**
 * A list of phones as a form or a verb's caller gives it, split into the numbers (E.164 where
 * readable; unreadable entries are passed through for the schema to refuse with its message) and
 * their extensions. A bare E.164 entry that is already stored keeps its stored extension
 * (`keep`), so a caller that passes the stored numbers back does not lose them; a number typed
 * in another notation without «доб.» has none.
 */
export function splitPhoneExtensions(phones: unknown, keep: Record<string, string> = {}): { phones: unknown; extensions: Record<string, string> } {
  if (!Array.isArray(phones)) return { phones, extensions: {} };
  const extensions: Record<string, string> = {};
  const out = phones.map((p: unknown) => {
    if (typeof p !== 'string') return p;
    const parsed = parsePhoneWithExtension(p);
    if (!parsed) return p;
    if (parsed.extension) extensions[parsed.e164] ??= parsed.extension;
    else if (p.trim() === parsed.e164 && keep[parsed.e164]) extensions[parsed.e164] ??= keep[parsed.e164]!;
    return parsed.e164;
  });
  return { phones: out, extensions };
}

/** The extensions of the phones a record keeps (an extension of a removed phone goes with it). */
export function extensionsFor(phones: string[], extensions: Record<string, string>): Record<string, string> {
  return Object.fromEntries(phones.filter((p) => extensions[p]).map((p) => [p, extensions[p]!]));
}
