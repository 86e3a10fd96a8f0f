import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmptyPostgresDatabase } from './helpers/db.js';

/** The `crm webhook:create` command as an admin runs it: a separate process on a fresh DATA_DIR. */
describe('crm webhook:create', () => {
  test('prints the webhook address once; a bad kind is refused', async () => {
    const bin = fileURLToPath(new URL('../api/bin/crm.js', import.meta.url));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-webhook-cli-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: 'error', SECRET_KEY: 'cli-test-secret-key-0123456789abcdef' };
    const pg = process.env.TEST_DATABASE_URL ? await createEmptyPostgresDatabase(process.env.TEST_DATABASE_URL) : undefined;
    if (pg) env.DATABASE_URL = pg.url;
    const crm = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, ...args], { env, cwd: dataDir });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    try {
      const ok = await crm(['webhook:create', '--kind', 'form', '--name', 'VK', '--network', 'vk']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout.trim(), /^\/webhooks\/forms\/[\w-]{20,}$/);
      assert.match(ok.stderr, /показывается один раз/);
      const bad = await crm(['webhook:create', '--kind', 'mail', '--name', 'X']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /kind/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await pg?.drop();
    }
  });
});
