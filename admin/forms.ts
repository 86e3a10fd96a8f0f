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

/** A positive integer, or undefined. */
export function int(form: FormBody, key: string): number | undefined {
  const s = str(form, key);
  if (!/^\d{1,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 ? n : undefined;
}

export const ints = (form: FormBody, key: string): number[] => strs(form, key).filter((s) => /^\d{1,15}$/.test(s)).map(Number);

/** A checkbox: present means on. */
export const bool = (form: FormBody, key: string): boolean => ['on', '1', 'true', 'yes'].includes(str(form, key));

/** A path parameter as a positive integer, or a 404 for anything else. */
export function idParam(params: unknown, key = 'id'): number {
  const v = (params as Record<string, string>)[key] ?? '';
  if (!/^\d{1,9}$/.test(v)) return -1;
  return Number(v);
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
