import { z } from 'zod';
import { normalizePhone } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';
import { parseRoubles } from '../validation/money.js';

/** A list of phones in any notation, stored as unique E.164. */
export const phonesField = z
  .array(z.string())
  .default([])
  .transform((list, ctx) => {
    const out: string[] = [];
    list.forEach((p, i) => {
      if (!p.trim()) return;
      const n = normalizePhone(p);
      if (!n) ctx.addIssue({ code: 'custom', message: `неверный номер телефона: ${p}`, path: [i] });
      else if (!out.includes(n)) out.push(n);
    });
    return out;
  });

export const emailsField = z
  .array(z.string())
  .default([])
  .transform((list, ctx) => {
    const out: string[] = [];
    list.forEach((e, i) => {
      if (!e.trim()) return;
      const n = normalizeEmail(e);
      if (!n) ctx.addIssue({ code: 'custom', message: `неверный e-mail: ${e}`, path: [i] });
      else if (!out.includes(n)) out.push(n);
    });
    return out;
  });

/** Roubles as a string or number, or kopecks as a bigint; kept as bigint kopecks. */
export const kopecksField = z.union([z.string(), z.number(), z.bigint()]).transform((v, ctx) => {
  if (typeof v === 'bigint') return v;
  const k = parseRoubles(v);
  if (k === null) {
    ctx.addIssue({ code: 'custom', message: 'неверная сумма' });
    return z.NEVER;
  }
  return k;
});

export const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === '' ? null : s))
  .nullish();

export const idField = z.coerce.number('выберите значение').int('выберите значение').positive('выберите значение').max(2_147_483_647, 'нет такой записи');

export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** A calendar day typed as YYYY-MM-DD that exists (no 31.02). */
export const dayField = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'дата в формате ГГГГ-ММ-ДД')
  .refine((d) => {
    const t = Date.parse(d + 'T00:00:00Z');
    return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, 'нет такой даты');
