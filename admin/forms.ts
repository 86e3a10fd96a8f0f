/** Reading url-encoded forms and query strings: every value arrives as a string or a list of strings. */
export type FormBody = Record<string, string | string[] | undefined>;

export const body = (req: { body?: unknown }): FormBody => (req.body && typeof req.body === 'object' ? (req.body as FormBody) : {});
export const query = (req: { query?: unknown }): FormBody => (req.query && typeof req.query === 'object' ? (req.query as FormBody) : {});

/** One trimmed value ('' when absent). */
export function str(form: FormBody, key: string): string {
  const v = form[key];
  return (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();
}

/** Every value of a repeated field (checkboxes), without blanks. */
export function strs(form: FormBody, key: string): string[] {
  const v = form[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((s) => s.trim()).filter(Boolean);
}

/** A record number as PostgreSQL's integer holds it (1 … 2 147 483 647), or undefined: a longer one would fail the query. */
const recordNumber = (s: string): number | undefined => {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n <= 2_147_483_647 ? n : undefined;
};

/** A positive integer, or undefined. */
export const int = (form: FormBody, key: string): number | undefined => recordNumber(str(form, key));

/** Every record number of a repeated field; anything else is skipped. */
export const ints = (form: FormBody, key: string): number[] => strs(form, key).flatMap((s) => recordNumber(s) ?? []);

/** A checkbox: present means on. */
export const bool = (form: FormBody, key: string): boolean => ['on', '1', 'true', 'yes'].includes(str(form, key));

/** A path parameter as a positive integer, or a 404 for anything else. */
export function idParam(params: unknown, key = 'id'): number {
  return recordNumber((params as Record<string, string>)[key] ?? '') ?? -1;
}

/** undefined instead of '' so that optional verb inputs stay unset */
export const opt = (s: string): string | undefined => (s === '' ? undefined : s);

/** A textarea or field of several phones or e-mails: one per line, or separated by , or ; */
export const splitList = (s: string) =>
  s
    .split(/[\n,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/** Field errors keyed as the form names them (phones.1 → phones). */
export function formErrors(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k.split('.')[0]!] ??= v;
  return out;
}
