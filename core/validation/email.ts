import { z } from 'zod';

const emailSchema = z.email();

/** Lower-cased and trimmed, or null when not an address. */
export function normalizeEmail(input: string): string | null {
  const v = input.trim().toLowerCase();
  return emailSchema.safeParse(v).success ? v : null;
}
