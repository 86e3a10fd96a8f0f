/**
 * `npm run bench:inbound`: pushes inbound messages through ingestInboundMessage on the configured
 * database (DATABASE_URL, or PGlite in a temporary folder) and prints messages per second and
 * p50/p99 latency; in the same run, the rate of bare single-row INSERT+commit on the same
 * database, so the ratio shows what the pipeline costs beyond the commit itself.
 *
 *   npm run bench:inbound -- [--messages 10000] [--clients 1000] [--concurrency N]
 *
 * With DATABASE_URL, point it at a scratch database: the run leaves its contacts and leads there
 * (it refuses a database that already has users, unless --force).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { loadConfig } from '../../core/config.js';
import { openDatabase } from '../../core/db/client.js';
import { migrate } from '../../core/db/migrate.js';
import { createQueue } from '../../core/jobs/create-queue.js';
import { systemActor, systemClock, type ServiceContext } from '../../core/context.js';
import { ingestInboundMessage } from '../../core/channels/ingest.js';
import type { ChannelKind, InboundMessage } from '../../core/channels/types.js';
import { createUser } from '../../core/users/users.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '1000' },
    concurrency: { type: 'string' },
    bare: { type: 'string' },
    force: { type: 'boolean', default: false },
  },
});
const total = Number(args.messages);
const clients = Number(args.clients);

const config = loadConfig(process.env);
const tmp = config.DATABASE_URL ? undefined : mkdtempSync(path.join(os.tmpdir(), 'crm-bench-'));
const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: tmp ?? config.DATA_DIR, poolSize: 12 });
const concurrency = Number(args.concurrency ?? (database.kind === 'postgres' ? 8 : 1));
const bareCount = Number(args.bare ?? Math.min(total, 5000));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** runs `n` tasks with `concurrency` in flight; returns each one's latency in ms and the wall time */
async function run(n: number, task: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = process.hrtime.bigint();
        await task(i);
        latencies[i] = Number(process.hrtime.bigint() - t) / 1e6;
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

try {
  await migrate(database);
  const [{ n: existing }] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM users`) as [{ n: number }];
  if (existing > 0 && !args.force) {
    throw new Error('this database already has users: point DATABASE_URL at a scratch database (or pass --force)');
  }
  const log = pino({ level: 'silent' });
  const jobs = createQueue({ redisUrl: config.REDIS_URL, database, log });
  const ctx: ServiceContext = { db: database.db, actor: systemActor('bench'), clock: systemClock, jobs, log, timeZone: 'Europe/Moscow' };
  // a working team: three managers who have linked Telegram, so notices go to them
  for (let i = 1; i <= 3; i++) {
    const u = await createUser(ctx, { email: `bench-manager-${i}-${Date.now()}@bench.crm`, name: `Менеджер ${i}`, role: 'manager' });
    await database.rows(sql`UPDATE users SET telegram_id = ${9_000_000 + u.id} WHERE id = ${u.id}`);
  }

  const channels: ChannelKind[] = ['whatsapp', 'viber', 'telegram'];
  const runId = Date.now().toString(36);
  const message = (i: number): InboundMessage => {
    const client = i % clients;
    const channel = channels[client % channels.length]!;
    const user = channel === 'whatsapp' ? `7916${String(client).padStart(7, '0')}@c.us` : `${channel}-${runId}-${client}`;
    return {
      channel,
      externalUserId: user,
      externalChatId: user,
      providerMessageId: `${runId}-${i}`,
      name: `Клиент ${client}`,
      phone: channel === 'whatsapp' ? `+7916${String(client).padStart(7, '0')}` : undefined,
      text: `Сообщение ${i}: здравствуйте, сколько стоит доставка?`,
    };
  };

  process.stdout.write(`engine: ${database.kind}${database.kind === 'pglite' ? ` (${tmp})` : ''}, queue: ${jobs.kind}, concurrency: ${concurrency}\n`);
  process.stdout.write(`ingesting ${total} messages from ${clients} clients…\n`);
  const ingest = await run(total, (i) => ingestInboundMessage(ctx, message(i)));

  await database.rows(sql`CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, channel text NOT NULL, body text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
  const bare = await run(bareCount, (i) =>
    database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO bench_bare_insert (channel, body) VALUES ('viber', ${`Сообщение ${i}`})`);
    }),
  );
  await database.rows(sql`DROP TABLE bench_bare_insert`);

  const counts = (
    await database.rows<{ contacts: number; messages: number; leads: number }>(sql`
      SELECT (SELECT count(*)::int FROM contacts) AS contacts, (SELECT count(*)::int FROM messages) AS messages,
             (SELECT count(*)::int FROM leads) AS leads`)
  )[0]!;
  await jobs.close();

  const rate = total / ingest.seconds;
  const bareRate = bareCount / bare.seconds;
  const fmt = (n: number) => n.toFixed(1);
  process.stdout.write(
    [
      `ingestInboundMessage: ${total} messages in ${fmt(ingest.seconds)} s = ${fmt(rate)} msg/s; latency p50 ${fmt(percentile(ingest.latencies, 50))} ms, p99 ${fmt(percentile(ingest.latencies, 99))} ms`,
      `bare INSERT+commit:   ${bareCount} rows in ${fmt(bare.seconds)} s = ${fmt(bareRate)} rows/s; latency p50 ${fmt(percentile(bare.latencies, 50))} ms, p99 ${fmt(percentile(bare.latencies, 99))} ms`,
      `ratio: one inbound message costs ${(bareRate / rate).toFixed(1)}× a bare INSERT+commit`,
      `stored: ${counts.contacts} contacts, ${counts.messages} messages, ${counts.leads} leads`,
      '',
    ].join('\n'),
  );
} finally {
  await database.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
