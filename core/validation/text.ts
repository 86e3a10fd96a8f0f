/**
 * Text as PostgreSQL can store it. A NUL byte is refused by `text` columns and a lone UTF-16
 * surrogate cannot be encoded as UTF-8, so either one in a client's message used to fail the
 * whole insert (a 500 for Viber, a silent loss in Telegram). Both are dropped or replaced here:
 * a message with a stray control byte is still a message worth keeping.
 */
export function cleanText(s: string): string {
  // U+FFFD (the replacement character) says "something was here" where a surrogate was broken
  const wellFormed = s.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '') : wellFormed;
}

/** cleanText for every string inside a JSON-like value (form answers, webhook payloads). */
export function cleanDeep<T>(value: T): T {
  if (typeof value === 'string') return cleanText(value) as T;
  if (Array.isArray(value)) return value.map(cleanDeep) as T;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[cleanText(k)] = cleanDeep(v);
    return out as T;
  }
  return value;
}

/**
 * The first `max` characters of a text that does not fit a field, ending with `note` (which says
 * where the rest is). The cut prefers a line break near the limit and never splits a surrogate
 * pair, which would leave a character PostgreSQL cannot store.
 */
export function cutText(s: string, max: number, note: string): string {
  if (s.length <= max) return s;
  let end = max - note.length - 1;
  const lineBreak = s.lastIndexOf('\n', end);
  if (lineBreak > end - 500 && lineBreak > 0) end = lineBreak;
  else if (/[\ud800-\udbff]/.test(s[end - 1] ?? '')) end -= 1;
  return `${s.slice(0, end).trimEnd()}\n${note}`;
}
