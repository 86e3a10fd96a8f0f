import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { drizzle } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { openDatabase, type Database, type Db } from '../../core/db/client.js';
import { migrate, migrationsFolder } from '../../core/db/migrate.js';
import * as schema from '../../core/db/schema/index.js';

export const testEngine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

/**
 * A fresh, migrated database for one test file: a new database on the PostgreSQL server of
 * TEST_DATABASE_URL, or an in-memory PGlite. A new PGlite takes seconds to initialise, so the
 * migrated data folder is kept in the OS temp dir as a template, keyed by the migrations' content.
 */
export async function createTestDatabase(): Promise<Database> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const name = `crm_test_${process.pid}_${randomBytes(3).toString('hex')}`;
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(url);
    u.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: u.toString(), dataDir: 'unused', poolSize: 10 });
    await migrate(database);
    const close = database.close;
    database.close = async () => {
      await close();
      const again = postgres(url, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    };
    return database;
  }
  const template = await pgliteTemplate();
  const pglite = await PGlite.create({ loadDataDir: new Blob([template]), extensions: { pg_trgm } });
  const db = drizzle(pglite, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    pglite,
    rows: async (query) => ((await db.execute(query)) as unknown as { rows: never[] }).rows,
    close: () => pglite.close(),
  };
}

async function pgliteTemplate(): Promise<Buffer> {
  const hash = createHash('sha256');
  for (const f of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    const full = path.join(migrationsFolder, f);
    if (f.endsWith('.sql') || f.endsWith('.json')) hash.update(f).update(readFileSync(full));
  }
  const file = path.join(os.tmpdir(), `crm-pglite-template-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (existsSync(file)) return readFileSync(file);
  const database = await openDatabase({ dataDir: 'memory://' });
  await migrate(database);
  const blob = await database.pglite!.dumpDataDir('gzip');
  await database.close();
  const buf = Buffer.from(await blob.arrayBuffer());
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, buf);
  renameSync(tmp, file);
  return buf;
}

/** A new empty PostgreSQL database for a test that runs the CRM as a separate process. */
export async function createEmptyPostgresDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `crm_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const again = postgres(url, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}
