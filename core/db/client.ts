import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { is, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite, PgliteDatabase, PgliteTransaction } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
/** The database or an open transaction: verbs accept either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type DbKind = 'pglite' | 'postgres';

export interface Database {
  db: Db;
  kind: DbKind;
  /** raw rows of a query, the same shape on both engines */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  close(): Promise<void>;
  /** for benchmarks and COPY: the postgres-js client when kind is postgres */
  pg?: postgres.Sql;
  pglite?: PGlite;
}

/**
 * The database runs inside this process (PGlite): each statement occupies the one thread that also
 * answers HTTP, and a transaction holds the one connection. Long loops over it yield between
 * statements (see core/imports/create.ts).
 */
export const isEmbedded = (db: Db): boolean => is(db, PgliteDatabase) || is(db, PgliteTransaction);

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** PGlite data folder; `memory://` keeps it in memory (tests) */
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    // postgres.js is installed from core/db/postgres-js (3.4.9 with connection guards): without
    // them a database restart could end this process or leave a connection answering stale errors
    const pg = postgres(opts.databaseUrl, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      // While the database restarts, a request fails fast (503, Retry-After) instead of waiting out
      // the 30 s default, and reconnecting backs off to 1 s at most: the default grows to 20 s,
      // which kept the CRM refusing requests long after the database was back.
      connect_timeout: 5,
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
      // an idle connection is not kept for a burst that is over (nor one a network change left half-open)
      idle_timeout: 60,
      // int8 as string everywhere; drizzle maps bigint columns itself
      connection: {
        application_name: 'crm',
        // A CRM runs many short statements. The planner's cost of a set-wise import or duplicate
        // check (a lookup per row, each cheap) crosses jit_above_cost, and compiling it took 90%
        // of the statement's time: 0.4 s of JIT for 20 ms of work per 2,000 rows.
        jit: 'off',
      },
    });
    const db = drizzlePostgres(pg, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      pg,
      rows: async <T>(query: SQL) => (await db.execute(query)) as unknown as T[],
      close: () => pg.end({ timeout: 5 }),
    };
  }
  let dataDir = opts.dataDir;
  if (!dataDir.startsWith('memory://')) {
    dataDir = path.resolve(dataDir, 'pglite');
    mkdirSync(dataDir, { recursive: true });
    lockDataDir(dataDir);
  }
  const pglite = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  // PGlite runs with fsync off, so filling each new 16 MB WAL file with zeros buys no safety, and it
  // stalled this whole process (HTTP included) for up to a second at the COMMIT that needed one
  await pglite.exec('SET wal_init_zero = off');
  const db = drizzlePglite(pglite, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    pglite,
    rows: async <T>(query: SQL) => ((await db.execute(query)) as unknown as { rows: T[] }).rows,
    close: async () => {
      await pglite.close();
      if (!dataDir.startsWith('memory://')) unlockDataDir(dataDir);
    },
  };
}

/**
 * The PGlite folder is held by another live process (usually the running CRM). The message is for
 * the person at the terminal: a `crm` command prints it as it is.
 */
export class DatabaseInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `База данных в ${dataDir} занята процессом ${pid} (скорее всего, запущенной CRM): встроенная база открывается только одним процессом. ` +
        'Остановите CRM и повторите команду или переведите CRM на PostgreSQL (DATABASE_URL).',
    );
    this.name = 'DatabaseInUseError';
  }
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A pid file refuses the second opener while the first is alive.
 */
function lockDataDir(dir: string): void {
  const file = path.join(dir, '..', 'pglite.pid');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return;
  } catch {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) throw new DatabaseInUseError(path.dirname(file), pid);
    writeFileSync(file, String(process.pid));
  }
}

function unlockDataDir(dir: string): void {
  rmSync(path.join(dir, '..', 'pglite.pid'), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
