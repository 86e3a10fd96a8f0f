/**
 * `npm run bench:calls`: the CRM composed as in production (web, worker and bot in one process, as
 * the tests start it) on the configured database (DATABASE_URL, or PGlite in a temporary folder)
 * and queue (REDIS_URL, or the database), a fake Telegram on loopback, 20 managers with Telegram in
 * a «Прием звонков IP» queue, and N concurrent incoming calls posted as signed generic-PBX
 * 'ringing' events (POST /webhooks/pbx/calls). Per call it measures from the start of the POST to
 * the card's sendMessage arriving at the fake Telegram, and prints p50/p99/max against the goal
 * (p99 under 1 s), with the POST's own answer time beside it. The baseline: the same path for
 * calls one at a time, and the floor Telegram's bot-wide limit (30 messages a second, the sender's
 * limiter in bots/telegram/notifications.ts; a ringing card skips the per-chat spacing) puts under a burst.
 *
 *   npm run bench:calls -- [--calls 50] [--managers 20] [--rounds 3] [--baseline 5] [--known] [--force]
 *
 * By default every call is from a new number, so each also makes a contact and a lead «Телефонный
 * звонок» (whose «Новый лид» notice travels the same Telegram queue); --known makes the contacts
 * first, so only the call's own path is measured.
 *
 * With DATABASE_URL, point it at a scratch database: the run leaves its users and calls there (it
 * refuses a database that already has users, unless --force). With REDIS_URL its jobs use their
 * own key prefix, removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { pbxSignature } from '../../bots/pbx/signature.js';
import { loadConfig } from '../../core/config.js';
import { systemActor } from '../../core/context.js';
import { openDatabase } from '../../core/db/client.js';
import { migrate } from '../../core/db/migrate.js';
import { BullmqQueue } from '../../core/jobs/bullmq-queue.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { openServices } from '../../core/services.js';
import { createContact } from '../../core/contacts/contacts.js';
import { createLine } from '../../core/telephony/lines.js';
import { createCallRule } from '../../core/telephony/rules.js';
import { createUser, userActor } from '../../core/users/users.js';
import { formatPhone } from '../../core/validation/phone.js';
import { startTestCrm } from '../helpers/crm.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '50' },
    managers: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string', default: '5' },
    known: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
});
const total = Number(args.calls);
const managerCount = Number(args.managers);
const rounds = Number(args.rounds);
const baselineCalls = Number(args.baseline);
const GOAL_MS = 1000;
const SECRET = randomBytes(24).toString('hex');
const LINE = '+74950000001';
const TG_BASE = 8_000_000;

const env = loadConfig(process.env);
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-bench-calls-'));
const tg = await new FakeTelegram().start();
const config = loadConfig({
  DATA_DIR: dataDir,
  ...(env.DATABASE_URL ? { DATABASE_URL: env.DATABASE_URL } : {}),
  ...(env.REDIS_URL ? { REDIS_URL: env.REDIS_URL } : {}),
  SECRET_KEY: randomBytes(32).toString('hex'),
  LOG_LEVEL: 'silent',
  PBX_WEBHOOK_SECRET: SECRET,
  TELEGRAM_BOT_TOKEN: '123456:BENCH-token',
  TELEGRAM_API_ROOT: tg.url,
});
const log = pino({ level: 'silent' });
const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir, poolSize: 12 });
const prefix = `crm-bench-calls-${process.pid}`;
// as production composes it (core/jobs/create-queue.ts), with the BullMQ keys apart so they can be removed
const jobs = config.REDIS_URL ? new BullmqQueue(config.REDIS_URL, { log, prefix }) : new EmbeddedQueue(database, { log });

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1]! };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let crm: Awaited<ReturnType<typeof startTestCrm>> | undefined;
let services: Awaited<ReturnType<typeof openServices>> | undefined;
try {
  await migrate(database);
  const [{ n: existing }] = (await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM users`)) as [{ n: number }];
  if (existing > 0 && !args.force) {
    throw new Error('this database already has users: point DATABASE_URL at a scratch database (or pass --force)');
  }
  services = await openServices(config, log, { database, jobs, migrate: false });
  const run = Date.now().toString(36);
  const sys = services.ctx(systemActor('bench'));
  const admin = await createUser(sys, { email: `bench-admin-${run}@bench.crm`, name: 'Админ', role: 'admin' });
  const managers: number[] = [];
  for (let i = 1; i <= managerCount; i++) {
    const u = await createUser(sys, { email: `bench-call-manager-${i}-${run}@bench.crm`, name: `Менеджер ${i}`, role: 'manager' });
    await database.rows(sql`UPDATE users SET telegram_id = ${TG_BASE + u.id} WHERE id = ${u.id}`);
    managers.push(u.id);
  }
  const adm = services.ctx(userActor(admin));
  const line = await createLine(adm, { provider: 'generic', number: LINE, name: `Бенчмарк ${run}` });
  await createCallRule(adm, { name: 'Очередь менеджеров', lineId: line.id, target: 'queue', memberIds: managers });
  // +7 916 RR NNNNN: a new client per call (round RR, call NNNNN)
  const clientNumber = (round: number, i: number) => `+7916${String(round).padStart(2, '0')}${String(i).padStart(5, '0')}`;
  if (args.known) {
    for (let r = 1; r <= rounds; r++) {
      for (let i = 0; i < total; i++) {
        await createContact(adm, { name: `Клиент ${r}-${i}`, phones: [clientNumber(r, i)] });
      }
    }
  }
  crm = await startTestCrm(services, {}, { skipWorkerJobs: ['mail'] });
  const base = crm.base;

  /** one incoming call: the signed 'ringing' event, then its card at the fake Telegram */
  async function ring(key: string, client: string): Promise<{ post: number; card: number; chat: number }> {
    const body = JSON.stringify({ call_id: key, event: 'ringing', direction: 'in', client_number: client, line_number: LINE });
    const number = formatPhone(client);
    const since = tg.calls.length;
    const started = Date.now();
    const cardCall = tg.waitFor('sendMessage', (p) => String(p.text).includes(number), { since, timeoutMs: 120_000 });
    const ts = String(Math.floor(started / 1000));
    const res = await fetch(`${base}/webhooks/pbx/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-crm-timestamp': ts, 'x-crm-signature': pbxSignature(SECRET, ts, body) },
      body,
    });
    const answered = Date.now();
    if (res.status !== 200) throw new Error(`the webhook answered ${res.status}: ${await res.text()}`);
    await res.body?.cancel();
    const card = await cardCall;
    return { post: answered - started, card: card.at - started, chat: Number(card.params.chat_id) };
  }

  process.stdout.write(
    `engine: ${database.kind}${database.kind === 'pglite' ? ` (${dataDir})` : ''}, queue: ${jobs.kind}; ${managerCount} managers with Telegram in a queue rule; events: signed generic PBX 'ringing' from ${args.known ? 'known contacts' : 'new numbers (each makes a contact and a lead)'}\n`,
  );

  // baseline: one call at a time, nothing else in flight
  const alone: { post: number; card: number }[] = [];
  for (let i = 0; i < baselineCalls; i++) {
    alone.push(await ring(`bench-${run}-solo-${i}`, clientNumber(99, i)));
    // past the per-chat spacing, so each call is really alone
    await sleep(1100);
  }
  const a = stats(alone.map((x) => x.card));
  const ap = stats(alone.map((x) => x.post));
  process.stdout.write(`baseline, ${baselineCalls} calls one at a time: event → card p50 ${fmt(a.p50)}, max ${fmt(a.max)}; POST → 200 p50 ${fmt(ap.p50)}\n`);

  for (let r = 1; r <= rounds; r++) {
    // the sender spaces cards to one chat a second apart: start each round with every chat free
    await sleep(1500);
    const sentBefore = tg.calls.length;
    const results = await Promise.all(Array.from({ length: total }, (_, i) => ring(`bench-${run}-${r}-${i}`, clientNumber(r, i))));
    const card = stats(results.map((x) => x.card));
    const post = stats(results.map((x) => x.post));
    const perChat = new Map<number, number>();
    for (const x of results) perChat.set(x.chat, (perChat.get(x.chat) ?? 0) + 1);
    const busiest = Math.max(...perChat.values());
    const within = results.filter((x) => x.card < GOAL_MS).length;
    const messages = tg.calls.slice(sentBefore).filter((c) => c.method === 'sendMessage').length;
    process.stdout.write(
      [
        `round ${r}: ${total} concurrent calls → cards to ${perChat.size} managers (at most ${busiest} to one); ${messages} Telegram messages by the last card`,
        `  event → card in Telegram: p50 ${fmt(card.p50)}, p99 ${fmt(card.p99)}, max ${fmt(card.max)}; ${within}/${total} under 1 s — goal p99 < 1 s ${card.p99 < GOAL_MS ? 'MET' : 'MISSED'}`,
        `  event POST → 200:         p50 ${fmt(post.p50)}, p99 ${fmt(post.p99)}, max ${fmt(post.max)}`,
        '',
      ].join('\n'),
    );
    if (r === rounds) {
      // a ringing card skips the one-a-second spacing per chat; the bot-wide 30 a second still holds
      const overall = (Math.ceil(total / 30) - 1) * 1000;
      process.stdout.write(`floor: Telegram's bot-wide limit (30 messages/s, the sender's limiter) holds the last of ${total} cards at least ${fmt(overall)} after the first\n`);
    }
  }
  const [{ n: made }] = (await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM calls WHERE provider = 'generic'`)) as [{ n: number }];
  process.stdout.write(`stored: ${made} calls\n`);
} finally {
  await crm?.close();
  if (services) await services.close();
  else {
    await jobs.close();
    await database.close();
  }
  await tg.stop();
  if (config.REDIS_URL) {
    const redis = new Redis(config.REDIS_URL);
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  rmSync(dataDir, { recursive: true, force: true });
}
