import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client.js';

export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies the same drizzle-kit migrations to either engine; safe to run on every start. */
export async function migrate(database: Database): Promise<void> {
  if (database.kind === 'postgres') {
    // Several processes may start at once: one applies, the others wait on the lock.
    // The lock lives on one reserved connection so that lock and unlock meet.
    const conn = await database.pg!.reserve();
    await conn`SELECT pg_advisory_lock(7020261126)`;
    try {
      await migratePostgres(database.db as never, { migrationsFolder });
    } finally {
      await conn`SELECT pg_advisory_unlock(7020261126)`;
      conn.release();
    }
  } else {
    await migratePglite(database.db as never, { migrationsFolder });
  }
}
