/**
 * A unique constraint refused the write (Postgres 23505), optionally a given one. Drivers and the
 * ORM wrap the database's error, so the causes are walked; postgres-js names the constraint in
 * `constraint_name`, PGlite in `constraint`.
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  for (let e = err as { code?: string; cause?: unknown; constraint?: string; constraint_name?: string } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code === '23505') {
      const name = e.constraint_name ?? e.constraint;
      return !constraint || !name || name === constraint;
    }
  }
  return false;
}
