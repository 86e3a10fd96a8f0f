import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { BullmqQueue } from './bullmq-queue.js';
import { EmbeddedQueue } from './embedded-queue.js';
import type { JobQueue } from './queue.js';

/** BullMQ when Redis is configured; otherwise jobs live in the database, so a small install needs no Redis. */
export function createQueue(opts: { redisUrl?: string | undefined; database: Database; log?: Logger }): JobQueue {
  const log = opts.log ? { log: opts.log } : {};
  return opts.redisUrl ? new BullmqQueue(opts.redisUrl, log) : new EmbeddedQueue(opts.database, log);
}
