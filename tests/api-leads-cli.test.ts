import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEmptyPostgresDatabase } from './helpers/db.js';
import { runCrm } from './helpers/cli.js';

/** The `crm webhook:create` command as an admin runs it: a separate process on a fresh DATA_DIR. */
describe('crm webhook:create', () => {
  test('prints the webhook address once; a bad kind is refused', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-webhook-cli-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: 'error', SECRET_KEY: 'cli-test-secret-key-0123456789abcdef' };
    const pg = process.env.TEST_DATABASE_URL ? await createEmptyPostgresDatabase(process.env.TEST_DATABASE_URL) : undefined;
    if (pg) env.DATABASE_URL = pg.url;
    const crm = (args: string[]) => runCrm(args, { env, cwd: dataDir });
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
