import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import { loadConfig } from '../core/config.js';
import { openServices } from '../core/services.js';
import { createApiKey } from '../core/users/users.js';
import { freePort, spawnCrm, startThrowawayPostgres, type CrmProcess, type ThrowawayPostgres } from './drill/throwaway-services.js';
import { deliver, sleep, type Attempt, type Delivery } from './drill/delivery.js';

/**
 * PostgreSQL restarts (`pg_ctl restart -m fast`) while website leads stream in. The CRM's web
 * process runs on its own throw-away PostgreSQL server (never the machine's own), as `crm start
 * --role web`; eight website backends post leads and repeat what got 503 or no answer, with the
 * same Idempotency-Key, as a real one would.
 */
const CLIENTS = 8;
const RESTARTS = 3;
/** "within a few seconds of the database being back" */
const RECOVERY_MS = 5_000;

let pg: ThrowawayPostgres;
let crm: CrmProcess;
let base = '';
let dataDir = '';
const keys: string[] = [];

before(async () => {
  pg = await startThrowawayPostgres();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-db-restart-'));
  const env = { DATA_DIR: dataDir, DATABASE_URL: pg.url, SECRET_KEY: 'db-restart-test-secret-key-0123456789', LOG_LEVEL: 'warn' };
  // one API key per website backend: each stays well under the per-key rate limit
  const services = await openServices(loadConfig(env), pino({ level: 'silent' }));
  for (let i = 0; i < CLIENTS; i++) keys.push((await createApiKey(services.ctx(), `Сайт ${i + 1}`)).key);
  await services.close();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  crm = spawnCrm(['start', '--role', 'web'], { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port) }, dataDir);
  const until = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(crm.alive() && Date.now() < until, `the CRM did not start:\n${crm.output().slice(-3000)}`);
    await sleep(100);
  }
});

after(async () => {
  await crm?.stop();
  await pg?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a database restart', () => {
  test('the CRM stays up, answers 503 with Retry-After while PostgreSQL is away, works again within seconds, and stores each lead once', async () => {
    const deliveries: Promise<Delivery>[] = [];
    let stop = false;
    let n = 0;
    const sendLeads = async (client: number) => {
      while (!stop && crm.alive()) {
        const i = ++n;
        const externalId = `restart-lead-${i}`;
        const body = JSON.stringify({
          name: `Клиент ${i}`,
          phone: `+7 916 ${String(1_000_000 + i).slice(-7)}`,
          comment: 'Заявка во время перезапуска базы',
          external_id: externalId,
        });
        const d = deliver(
          externalId,
          (signal) =>
            fetch(`${base}/api/v1/leads`, {
              method: 'POST',
              headers: { authorization: `Bearer ${keys[client]}`, 'content-type': 'application/json', 'idempotency-key': externalId },
              body,
              signal,
            }),
          { deadline: Date.now() + 60_000, maxPauseMs: 250, giveUp: () => !crm.alive() },
        );
        deliveries.push(d);
        await d;
        await sleep(150);
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => sendLeads(c));

    const restarts: { began: number; ready: number }[] = [];
    await sleep(1500);
    for (let r = 0; r < RESTARTS; r++) {
      const began = Date.now();
      await pg.restart();
      restarts.push({ began, ready: Date.now() });
      assert.ok(crm.alive(), `the CRM process ended during restart ${r + 1}:\n${crm.output().slice(-3000)}`);
      await sleep(RECOVERY_MS + 1500);
      assert.ok(crm.alive(), `the CRM process ended after restart ${r + 1}:\n${crm.output().slice(-3000)}`);
    }
    stop = true;
    await Promise.all(clients);
    const done = await Promise.all(deliveries);
    assert.ok(crm.alive(), `the CRM process ended:\n${crm.output().slice(-3000)}`);

    const attempts = done.flatMap((d) => d.attempts);
    const by = (outcome: Attempt['outcome']) => attempts.filter((a) => a.outcome === outcome);
    const summary = JSON.stringify(Object.fromEntries([...new Set(attempts.map((a) => a.outcome))].map((o) => [o, by(o).length])));

    // during the outage: 503 in the CRM's words, with Retry-After; never a 500, never a hang
    const refusals = by(503);
    assert.ok(refusals.length > 0, `no request met the outage (${summary}): the test did not test anything`);
    for (const a of refusals) {
      assert.match(a.retryAfter ?? '', /^[1-9]\d*$/, 'a 503 says when to come back');
      const answer = JSON.parse(a.body) as { error: string; message: string };
      assert.equal(answer.error, 'unavailable');
      assert.match(answer.message, /временно недоступна/);
    }
    const failures = attempts.filter((a) => a.outcome !== 503 && a.outcome !== 200 && a.outcome !== 201);
    assert.deepEqual(
      failures.map((a) => `${a.outcome}: ${a.body.slice(0, 200)}`),
      [],
      `only 201, 200 (a repeat) and 503 are expected (${summary})\n${crm.output().slice(-2000)}`,
    );

    // within seconds of each restart new leads are taken, and from then on no stale connection fails one
    for (const [r, { ready }] of restarts.entries()) {
      const fresh = attempts.filter((a) => a.startedAt >= ready);
      const firstOk = fresh.filter((a) => a.outcome === 201).sort((x, y) => x.endedAt - y.endedAt)[0];
      assert.ok(firstOk && firstOk.endedAt - ready < RECOVERY_MS, `restart ${r + 1}: no lead was taken within ${RECOVERY_MS} ms of the database being back`);
      const late = fresh.filter((a) => a.startedAt >= ready + RECOVERY_MS && a.endedAt < (restarts[r + 1]?.began ?? Infinity));
      assert.ok(late.length > 10, `restart ${r + 1}: too few requests after recovery to judge (${late.length})`);
      assert.deepEqual(late.filter((a) => a.outcome !== 201).map((a) => `${a.outcome} ${a.body.slice(0, 200)}`), [], `restart ${r + 1}: a request failed after recovery`);
    }

    // every lead the backends were told was taken is stored, and none twice (the CRM keeps a key's
    // external ids apart from other keys' with a prefix)
    assert.ok(done.every((d) => d.ok), `${done.filter((d) => !d.ok).length} leads were never taken`);
    const check = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await check<{ external_id: string; n: number }[]>`
        SELECT substring(external_id from 'restart-lead-[0-9]+$') AS external_id, count(*)::int AS n
        FROM leads WHERE external_id ~ 'restart-lead-[0-9]+$' GROUP BY 1`;
      const stored = new Map(rows.map((r) => [r.external_id, r.n]));
      assert.deepEqual(rows.filter((r) => r.n > 1), [], 'a lead was stored twice');
      assert.deepEqual(done.map((d) => d.key).filter((k) => stored.get(k) !== 1), [], 'a lead the CRM confirmed is missing');
      assert.equal(stored.size, done.length);
    } finally {
      await check.end();
    }
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
  });
});
