/**
 * `npm run drill` — what the CRM loses when its parts fail under load. Not part of `npm test`.
 *
 * On its own throw-away PostgreSQL (initdb + pg_ctl) and Redis (--save ''), on free loopback ports,
 * it runs `crm start --role web` and `crm start --role worker` as separate processes, and streams
 * signed Viber webhooks (5,000 client messages from 1,000 Viber users; a fake Viber API stands for
 * Viber) and website leads (POST /api/v1/leads with keys from `crm apikey:create`). Senders repeat
 * what got 503, 429 or no answer with the same body, as Viber and a website backend do. In each
 * window one fault is injected a third of the way in:
 *
 *   none                  a baseline
 *   kill -9 worker        the worker dies mid-job; a supervisor starts a new one 2 s later
 *   restart Redis         the queue's server stops and starts again (it kept nothing: --save '')
 *   restart PostgreSQL    pg_ctl restart -m fast
 *
 * Then it counts in PostgreSQL what each window's requests left behind and prints
 * `fault | sent | stored | doubled | lost | 5xx`. It exits 1 if anything was lost or doubled, or a
 * 5xx other than 503 was answered. DRILL_MESSAGES and DRILL_LEADS change the amounts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { runCrm } from '../helpers/cli.js';
import { FakeViber, viberSignature } from '../helpers/fake-viber.js';
import { deliver, sleep, type Delivery } from './delivery.js';
import { freePort, spawnCrm, startThrowawayPostgres, startThrowawayRedis, type CrmProcess } from './throwaway-services.js';

const MESSAGES = Number(process.env.DRILL_MESSAGES ?? 5000);
const LEADS = Number(process.env.DRILL_LEADS ?? 800);
const MESSAGES_PER_USER = 5;
const SENDERS = 16;
/** one key per 100 leads keeps each key under the API's 120 requests a minute over the drill, retries included */
const LEADS_PER_KEY = 100;
/** the whole drill stops by itself after this */
const DEADLINE_MS = 8 * 60_000;
const VIBER_TOKEN = 'drill-viber-auth-token-0123456789';

type Fault = 'none' | 'kill -9 worker' | 'restart Redis' | 'restart PostgreSQL';
const faults: Fault[] = ['none', 'kill -9 worker', 'restart Redis', 'restart PostgreSQL'];

interface Item {
  kind: 'message' | 'lead';
  /** the Viber message token, or the lead's external_id */
  id: string;
  /** the Viber user, for messages */
  user?: string;
  window: number;
  send: (signal: AbortSignal) => Promise<Response>;
}

const log = (s: string) => process.stderr.write(`[drill ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const deadline = started + DEADLINE_MS;
  const cleanup: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    log('starting a throw-away PostgreSQL and Redis');
    const pg = await startThrowawayPostgres();
    cleanup.push(() => pg.destroy());
    const redis = await startThrowawayRedis();
    cleanup.push(() => redis.destroy());
    const viber = await new FakeViber(VIBER_TOKEN).start();
    cleanup.push(() => viber.close());
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-drill-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      SECRET_KEY: 'drill-secret-key-0123456789abcdef0123',
      VIBER_AUTH_TOKEN: VIBER_TOKEN,
      VIBER_API_ROOT: viber.url,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };

    const keys: string[] = [];
    const keyCount = Math.max(1, Math.ceil(LEADS / LEADS_PER_KEY));
    log(`creating ${keyCount} API keys with crm apikey:create`);
    for (let i = 0; i < keyCount; i++) {
      const r = await runCrm(['apikey:create', '--name', `Сайт ${i + 1}`], { env, cwd: dataDir });
      if (r.code !== 0) throw new Error(`crm apikey:create failed: ${r.stderr}`);
      keys.push(r.stdout.trim());
    }

    // one after the other: on an empty database both would create the first administrator at once,
    // and the loser of that race exits (a supervisor would start it again)
    const web = spawnCrm(['start', '--role', 'web'], env, dataDir);
    cleanup.push(() => web.stop());
    await waitFor(`${base}/health`, web, 60_000);
    // the worker logs at info: its «CRM started» says it is ready
    const workerEnv = { ...env, LOG_LEVEL: 'info' };
    let worker = spawnCrm(['start', '--role', 'worker'], workerEnv, dataDir);
    cleanup.push(() => worker.stop());
    await waitForOutput(worker, /CRM started/, 60_000);
    log(`web on ${base}, worker pid ${worker.child.pid}`);

    // the stream: each window gets its share of messages (from its own Viber users) and leads, shuffled
    const items: Item[] = [];
    const windows = faults.length;
    let token = 5_730_000_000_000_000_000n;
    let leadNo = 0;
    for (let w = 0; w < windows; w++) {
      const share = (n: number) => Math.floor(n / windows) + (w < n % windows ? 1 : 0);
      const users = Math.ceil(share(MESSAGES) / MESSAGES_PER_USER);
      for (let m = 0; m < share(MESSAGES); m++) {
        const user = `drill-user-${w}-${m % users}`;
        const id = String(token++);
        const sender = JSON.stringify({ id: user, name: `Клиент ${w}-${m % users}`, language: 'ru', country: 'RU', api_version: 10 });
        const body = `{"event":"message","timestamp":${Date.now()},"message_token":${id},"sender":${sender},"message":{"type":"text","text":"Здравствуйте! Сообщение ${m + 1} окна ${w + 1}"},"silent":false}`;
        const signature = viberSignature(body, VIBER_TOKEN);
        items.push({
          kind: 'message',
          id,
          user,
          window: w,
          send: (signal) =>
            fetch(`${base}/webhooks/viber`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-viber-content-signature': signature }, body, signal }),
        });
      }
      for (let l = 0; l < share(LEADS); l++) {
        const n = leadNo++;
        const id = `drill-lead-${n + 1}`;
        const key = keys[n % keys.length]!;
        const body = JSON.stringify({ name: `Покупатель ${n + 1}`, phone: `+7 927 ${String(1_000_000 + n)}`, comment: 'Заявка с сайта во время учений', external_id: id });
        items.push({
          kind: 'lead',
          id,
          window: w,
          send: (signal) =>
            fetch(`${base}/api/v1/leads`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': id },
              body,
              signal,
            }),
        });
      }
    }
    const byWindow = Array.from({ length: windows }, (_, w) => shuffle(items.filter((i) => i.window === w)));

    const deliveries = new Map<Item, Delivery>();
    const injected: string[] = [];
    const schedules = { before: 0, after: 0 };
    for (let w = 0; w < windows; w++) {
      const queue = [...byWindow[w]!];
      const total = queue.length;
      let fault: Promise<void> | undefined;
      const senders = Array.from({ length: SENDERS }, async () => {
        for (let item = queue.shift(); item && web.alive(); item = queue.shift()) {
          if (!fault && total - queue.length >= total / 3) fault = inject(faults[w]!);
          const giveUp = () => !web.alive();
          deliveries.set(item, await deliver(item.id, item.send, { deadline: Math.min(deadline, Date.now() + 120_000), maxPauseMs: 500, giveUp }));
        }
      });
      const t = Date.now();
      await Promise.all(senders);
      await fault;
      log(`window "${faults[w]}": ${total} requests in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      if (!web.alive()) throw new Error(`the web process ended:\n${web.output().slice(-3000)}`);
    }

    async function inject(f: Fault): Promise<void> {
      const t = Date.now();
      if (f === 'kill -9 worker') {
        const pid = worker.child.pid!;
        worker.child.kill('SIGKILL');
        await worker.exited;
        await sleep(2000);
        worker = spawnCrm(['start', '--role', 'worker'], workerEnv, dataDir);
        injected.push(`kill -9 of worker ${pid}; a new worker (pid ${worker.child.pid}) started 2 s later`);
      } else if (f === 'restart Redis') {
        schedules.before = await countSchedules(redis.url);
        await redis.restart();
        injected.push(`Redis stopped and started again in ${Date.now() - t} ms (empty: --save '')`);
      } else if (f === 'restart PostgreSQL') {
        await pg.restart();
        injected.push(`pg_ctl restart -m fast took ${Date.now() - t} ms`);
      }
      if (f !== 'none') log(injected.at(-1)!);
    }

    schedules.after = await countSchedules(redis.url);
    // what was stored, counted in the database itself
    const db = postgres(pg.url, { max: 1, onnotice: () => {} });
    cleanup.push(() => db.end());
    const messageRows = await db<{ id: string; n: number }[]>`
      SELECT provider_message_id AS id, count(*)::int AS n FROM messages WHERE channel = 'viber' AND direction = 'in' GROUP BY 1`;
    const leadRows = await db<{ id: string; n: number }[]>`
      SELECT substring(external_id from 'drill-lead-[0-9]+$') AS id, count(*)::int AS n FROM leads WHERE external_id ~ 'drill-lead-[0-9]+$' GROUP BY 1`;
    // one Viber user is one contact with one lead, however often a message was delivered
    const userRows = await db<{ user: string; leads: number }[]>`
      SELECT c.external_chat_id AS user, count(DISTINCT l.id)::int AS leads
      FROM conversations c LEFT JOIN leads l ON l.contact_id = c.contact_id
      WHERE c.channel = 'viber' GROUP BY 1`;
    const stored = new Map<string, number>([...messageRows, ...leadRows].map((r) => [r.id, r.n]));
    const leadsOfUser = new Map(userRows.map((r) => [r.user, r.leads]));

    const rows = faults.map((fault, w) => {
      const mine = items.filter((i) => i.window === w);
      const attempts = mine.flatMap((i) => deliveries.get(i)?.attempts ?? []);
      const users = [...new Set(mine.filter((i) => i.user).map((i) => i.user!))];
      const fiveXX = attempts.filter((a) => typeof a.outcome === 'number' && a.outcome >= 500);
      return {
        fault,
        sent: mine.length,
        stored: mine.filter((i) => (stored.get(i.id) ?? 0) > 0).length,
        doubled: mine.filter((i) => (stored.get(i.id) ?? 0) > 1).length + users.reduce((s, u) => s + Math.max(0, (leadsOfUser.get(u) ?? 0) - 1), 0),
        lost: mine.filter((i) => !stored.get(i.id)).length,
        fiveXX: fiveXX.length,
        other5xx: fiveXX.filter((a) => a.outcome !== 503 || !a.retryAfter).length,
        confirmedLost: mine.filter((i) => deliveries.get(i)?.ok && !stored.get(i.id)).length,
        unanswered: mine.filter((i) => !deliveries.get(i)?.ok).length,
      };
    });

    const header = ['fault', 'sent', 'stored', 'doubled', 'lost', '5xx'];
    const table = [header, ...rows.map((r) => [r.fault, r.sent, r.stored, r.doubled, r.lost, r.fiveXX].map(String))];
    const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join(' | ');
    const out = [
      line(table[0]!),
      widths.map((w) => '-'.repeat(w)).join('-|-'),
      ...table.slice(1).map(line),
      '',
      `${MESSAGES} Viber messages from ${new Set(items.filter((i) => i.user).map((i) => i.user)).size} users and ${LEADS} website leads, ${SENDERS} senders, ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
      `5xx: every one was a 503 with Retry-After${rows.some((r) => r.other5xx) ? ' EXCEPT ' + rows.map((r) => `${r.fault}: ${r.other5xx}`).join(', ') : ''}; senders repeated them until stored.`,
      ...injected.map((s) => `fault: ${s}`),
      `job schedules in Redis (the daily works digest): ${schedules.before} before the Redis restart, ${schedules.after} at the end`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    const bad = rows.filter((r) => r.lost || r.doubled || r.other5xx || r.confirmedLost || r.unanswered);
    if (!worker.alive() || !web.alive()) {
      process.stdout.write('a CRM process ended during the drill\n');
      return 1;
    }
    if (bad.length) {
      process.stdout.write(`FAILED: ${JSON.stringify(bad)}\n`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
  }
}

/** BullMQ job schedulers, `<prefix>:<queue>:repeat` */
async function countSchedules(url: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  try {
    return (await r.keys('*:repeat')).length;
  } finally {
    await r.quit();
  }
}

async function waitFor(url: string, proc: CrmProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    if (!proc.alive() || Date.now() > until) throw new Error(`the CRM did not start:\n${proc.output().slice(-3000)}`);
    await sleep(200);
  }
}

async function waitForOutput(proc: CrmProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    if (!proc.alive() || Date.now() > until) throw new Error(`the CRM did not start:\n${proc.output().slice(-3000)}`);
    await sleep(200);
  }
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
