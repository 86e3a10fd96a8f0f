import { z } from 'zod';
import { invalid } from '../errors.js';

// Users read these messages: where a schema gives none of its own, zod's are in Russian too.
z.config(z.locales.ru());

/** Validates a verb's input; every problem is reported under its field name, nothing is written. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const key = issue.path.length ? issue.path.join('.') : '_';
    fields[key] ??= issue.message;
  }
  throw invalid(fields);
}
