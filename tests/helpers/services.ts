import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../core/config.js';
import { openServices, type Services } from '../../core/services.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { BullmqQueue } from '../../core/jobs/bullmq-queue.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/context.js';
import { createTestDatabase } from './db.js';

/**
 * The same Services the CRM's processes get, on a fresh test database, with the queue on the
 * embedded engine (or BullMQ under TEST_REDIS_URL) polling fast.
 */
export async function openTestServices(env: Record<string, string> = {}, opts: { clock?: Clock } = {}): Promise<Services & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-test-'));
  const config = loadConfig({ DATA_DIR: dataDir, SECRET_KEY: 'test-secret-key-test-secret-key-0123456789', LOG_LEVEL: 'silent', ...env });
  const database = await createTestDatabase();
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const jobs = process.env.TEST_REDIS_URL
    ? new BullmqQueue(process.env.TEST_REDIS_URL, { log, prefix: `crmtest-${process.pid}-${randomBytes(3).toString('hex')}` })
    : new EmbeddedQueue(database, { pollMs: 20, log });
  const services = await openServices(config, log, { database, jobs, migrate: false, ...(opts.clock ? { clock: opts.clock } : {}) });
  const close = services.close;
  return Object.assign(services, {
    dataDir,
    close: async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
