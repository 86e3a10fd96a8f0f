import type { WebLeadInput } from '../../core/leads/intake/web-leads.js';
import { cutText } from '../../core/validation/text.js';
import { leadSubmission } from './schemas.js';

/**
 * Form builders name fields as the site's author chose: Tilda's defaults are Name, Phone, Email,
 * Comments, but «Телефон» or «your_phone» happen. Names are compared case-insensitively.
 */
const aliases: Record<'name' | 'phone' | 'email' | 'company' | 'comment' | 'page_url', string[]> = {
  name: ['name', 'имя', 'fio', 'фио', 'full_name', 'fullname', 'first_name', 'your_name', 'client_name', 'last_name', 'surname', 'фамилия'],
  phone: ['phone', 'телефон', 'tel', 'phone_number', 'phonenumber', 'mobile', 'your_phone'],
  email: ['email', 'e-mail', 'mail', 'почта', 'your_email'],
  company: ['company', 'компания', 'organization', 'организация', 'company_name'],
  comment: ['comments', 'comment', 'message', 'комментарий', 'сообщение', 'textarea', 'question', 'вопрос', 'text'],
  page_url: ['page_url', 'pageurl', 'page', 'url', 'referer', 'referrer'],
};
const tracked = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'yclid', 'gclid', 'fbclid'] as const;
/** service fields that are not the client's words */
const technical = new Set(['tranid', 'formid', 'formname', 'cookies', 'test', 'token', 'api_key', 'apikey', 'network', 'external_id', 'id', 'lead_id', 'source', 'type']);

const lookup = new Map<string, keyof typeof aliases>();
for (const [field, names] of Object.entries(aliases) as [keyof typeof aliases, string[]][]) for (const n of names) lookup.set(n, field);

/** A field's value as text; null is absent, a nested object is kept as its JSON so nothing typed is lost. */
const asText = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(asText).filter(Boolean).join(', ');
  if (v && typeof v === 'object') return JSON.stringify(v);
  return undefined;
};

/** The lead's comment holds this much; a longer form is cut with this note and kept whole in the lead's history. */
export const COMMENT_MAX = leadSubmission.properties.comment.maxLength;
export const CUT_NOTE = '…(обрезано, полный текст — в истории лида)';

/** `a=1; utm_source=ya; TILDAUTM=utm_source%3Dya%7C%7C%7Cutm_medium%3Dcpc` → utm tags. */
export function utmFromCookies(cookies: string): Partial<Record<(typeof tracked)[number], string>> {
  const out: Partial<Record<(typeof tracked)[number], string>> = {};
  const put = (k: string, v: string) => {
    const key = k.trim().toLowerCase() as (typeof tracked)[number];
    if ((tracked as readonly string[]).includes(key) && v && !out[key]) out[key] = v;
  };
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  for (const pair of cookies.split(/;\s*/)) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = decode(pair.slice(eq + 1).trim());
    // Tilda keeps the landing's UTM tags in one cookie: utm_source=…|||utm_medium=…
    if (name.toUpperCase() === 'TILDAUTM') {
      for (const part of value.split('|||')) {
        const i = part.indexOf('=');
        if (i > 0) put(part.slice(0, i), part.slice(i + 1));
      }
    } else {
      put(name, value);
    }
  }
  return out;
}

/**
 * A submitted form as the lead intake's input. Unknown fields are kept, as «Field: value» lines
 * in the comment, so nothing the client typed is lost: a comment longer than the lead can hold is
 * cut with a note, and `fullText` is the whole of it, for the lead's history.
 */
export function formToLead(body: Record<string, unknown>): WebLeadInput & { extra: string[]; fullText?: string } {
  const out: Record<string, string | undefined> = {};
  const extra: string[] = [];
  let cookies: string | undefined;
  for (const [rawKey, rawValue] of Object.entries(body)) {
    const value = asText(rawValue)?.trim();
    if (!value) continue;
    const key = rawKey.trim().toLowerCase();
    const field = lookup.get(key);
    if (field) {
      out[field] = out[field] ? `${out[field]}${field === 'name' ? ' ' : '\n'}${value}` : value;
    } else if ((tracked as readonly string[]).includes(key)) {
      out[key] ??= value;
    } else if (key === 'cookies') {
      cookies = value;
    } else if (!technical.has(key)) {
      extra.push(`${rawKey}: ${value}`);
    }
  }
  if (cookies) for (const [k, v] of Object.entries(utmFromCookies(cookies))) out[k] ??= v;
  const comment = [out.comment, ...extra].filter(Boolean).join('\n') || undefined;
  if (comment && comment.length > COMMENT_MAX) return { ...out, comment: cutText(comment, COMMENT_MAX, CUT_NOTE), extra, fullText: comment };
  return { ...out, comment, extra };
}

const keyText = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** VK-style lead forms post `{ object: { answers: [{ key, answer }] } }`: flattened to plain fields. */
export function flattenAnswers(body: Record<string, unknown>): Record<string, unknown> {
  const object = (body.object && typeof body.object === 'object' ? body.object : body) as Record<string, unknown>;
  const answers = object.answers;
  if (!Array.isArray(answers)) return body;
  const flat: Record<string, unknown> = { ...body, ...object };
  delete flat.answers;
  delete flat.object;
  for (const a of answers as unknown[]) {
    // an answer left empty comes as null (or not at all): it neither fails the form nor hides a field sent beside it
    if (!a || typeof a !== 'object') continue;
    const { key: k, question, answer } = a as { key?: unknown; question?: unknown; answer?: unknown };
    const key = keyText(k) || keyText(question);
    if (key && answer !== null && answer !== undefined) flat[key === 'phone_number' ? 'phone' : key] = answer;
  }
  return flat;
}
