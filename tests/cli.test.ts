import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createEmptyPostgresDatabase } from './helpers/db.js';
import { crmBin, runCrm } from './helpers/cli.js';

/**
 * The product as a new user meets it: the `crm` command and `crm start`, as separate processes,
 * on PGlite in a fresh DATA_DIR (or on TEST_DATABASE_URL / TEST_REDIS_URL when CI sets them).
 */
let dataDir: string;
let env: NodeJS.ProcessEnv;
let dropDb: (() => Promise<void>) | undefined;

before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-cli-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  if (process.env.TEST_DATABASE_URL) {
    const db = await createEmptyPostgresDatabase(process.env.TEST_DATABASE_URL);
    env.DATABASE_URL = db.url;
    dropDb = db.drop;
  }
  if (process.env.TEST_REDIS_URL) env.REDIS_URL = process.env.TEST_REDIS_URL;
});
after(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await dropDb?.();
});

const crm = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCrm(args, { env: { ...env, ...extraEnv }, cwd: dataDir });

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function startCrm() {
  const port = await freePort();
  const child = spawn(process.execPath, [crmBin, 'start'], { env: { ...env, PORT: String(port) }, cwd: dataDir });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      return { child, port, health: { status: res.status, body: await res.json() }, output: () => stdout, exited };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`crm start did not answer:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('crm command line and start', () => {
  test('start serves /health, prints the first admin once, and stops cleanly on SIGTERM', async () => {
    const run = await startCrm();
    try {
      assert.equal(run.health.status, 200);
      const body = run.health.body as Record<string, unknown>;
      assert.equal(body.status, 'ok');
      assert.equal(body.db, env.DATABASE_URL ? 'postgres' : 'pglite');
      assert.equal(body.queue, env.REDIS_URL ? 'bullmq' : 'embedded');
      assert.match(run.output(), /E-mail: admin@crm\.local\n\s+Пароль: \S{8,}/);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0);
    if (!env.DATABASE_URL) {
      // the generated secret key is kept for the next start, readable by the owner only
      assert.equal(statSync(path.join(dataDir, 'secret.key')).mode & 0o077, 0);
    }
    const again = await startCrm();
    try {
      assert.doesNotMatch(again.output(), /Пароль:/);
    } finally {
      again.child.kill('SIGTERM');
    }
    assert.equal(await again.exited, 0);
  });

  test('user:create, user:link-code and apikey:create', async () => {
    const created = await crm(['user:create', '--email', 'maria@example.ru', '--name', 'Мария', '--role', 'manager', '--password', 'password123']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /maria@example\.ru \(manager\)/);
    const bad = await crm(['user:create', '--email', 'x', '--name', 'Y', '--role', 'boss']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /email: .*role: /);
    const dup = await crm(['user:create', '--email', 'maria@example.ru', '--name', 'Мария', '--role', 'manager']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /уже есть/);
    const code = await crm(['user:link-code', '--email', 'maria@example.ru']);
    assert.equal(code.code, 0, code.stderr);
    assert.match(code.stdout.trim(), /^[A-Z2-9]{10}$/);
    const key = await crm(['apikey:create', '--name', 'Сайт']);
    assert.equal(key.code, 0, key.stderr);
    assert.match(key.stdout.trim(), /^crm_[\w-]{32}$/);
    const unknown = await crm(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Неизвестная команда/);
  });

  test('a bad setting stops start-up with one line naming the variable', async () => {
    const r = await crm(['start'], { PORT: 'восемьдесят' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^Invalid PORT/);
  });

  test('demo data loaded with `crm demo` is there at the next start', async () => {
    const r = await crm(['demo']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    assert.ok(summary.counterparties >= 100);
    const twice = await crm(['demo']);
    assert.equal(twice.code, 1);
    // the data survived the process: a demo user exists at the next run
    const dup = await crm(['user:link-code', '--email', 'head@demo.crm']);
    assert.equal(dup.code, 0, dup.stderr);
  });
});
