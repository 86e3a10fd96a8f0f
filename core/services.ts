import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { systemActor, systemClock, type Actor, type Clock, type ServiceContext } from './context.js';
import { openDatabase, type Database } from './db/client.js';
import { migrate } from './db/migrate.js';
import { createQueue } from './jobs/create-queue.js';
import type { JobQueue } from './jobs/queue.js';
import { resolveSecretKey } from './secret-key.js';
import { createUser, findUserByEmail } from './users/users.js';
import { users } from './db/schema/index.js';

/** What every process role shares: the database, the queue and a way to make a ServiceContext. */
export interface Services {
  config: Config;
  database: Database;
  jobs: JobQueue;
  log: Logger;
  clock: Clock;
  secretKey: string;
  ctx(actor?: Actor): ServiceContext;
  close(): Promise<void>;
}

export async function openServices(
  config: Config,
  log: Logger,
  opts: { database?: Database; jobs?: JobQueue; clock?: Clock; migrate?: boolean } = {},
): Promise<Services> {
  const database = opts.database ?? (await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }));
  if (opts.migrate !== false) await migrate(database);
  const jobs = opts.jobs ?? createQueue({ redisUrl: config.REDIS_URL, database, log });
  const { key: secretKey, generated } = config.SECRET_KEY
    ? { key: config.SECRET_KEY, generated: false }
    : resolveSecretKey(undefined, config.DATA_DIR);
  if (generated) log.warn({ dataDir: config.DATA_DIR }, 'generated SECRET_KEY into DATA_DIR/secret.key; back it up');
  const clock = opts.clock ?? systemClock;
  const services: Services = {
    config,
    database,
    jobs,
    log,
    clock,
    secretKey,
    ctx: (actor = systemActor()) => ({ db: database.db, actor, clock, jobs, log, timeZone: config.TIME_ZONE }),
    close: async () => {
      await jobs.close();
      await database.close();
    },
  };
  return services;
}

/**
 * Makes sure someone can sign in: the admin from ADMIN_EMAIL/ADMIN_PASSWORD, or, on an empty
 * base, admin@crm.local with a generated password that is returned (to print once) and never stored in clear.
 */
export async function ensureFirstAdmin(services: Services): Promise<{ email: string; password: string } | null> {
  const ctx = services.ctx(systemActor('первый запуск'));
  const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = services.config;
  if (email) {
    if (await findUserByEmail(ctx, email)) return null;
    const pw = password ?? randomBytes(9).toString('base64url');
    await createUser(ctx, { email, name: 'Администратор', role: 'admin', password: pw });
    return password ? null : { email, password: pw };
  }
  const [any] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(users);
  if (any!.n > 0) return null;
  const pw = randomBytes(9).toString('base64url');
  await createUser(ctx, { email: 'admin@crm.local', name: 'Администратор', role: 'admin', password: pw });
  return { email: 'admin@crm.local', password: pw };
}
