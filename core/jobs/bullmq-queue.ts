import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, Worker, type JobState as BullState } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import {
  RetryAfterError,
  type JobOptions,
  type JobQueue,
  type JobState,
  type JobStatus,
  type ProcessOptions,
  type Processor,
  defaultRetention,
  type JobRetention,
} from './queue.js';

export interface BullmqQueueOptions {
  log?: Logger;
  retention?: JobRetention;
  /** Redis key prefix; tests use their own to stay apart (default 'crm') */
  prefix?: string;
}

const escape = (s: string): string => s.replace(/%/g, '%25').replace(/:/g, '%3A');
const unescape = (s: string): string => s.replace(/%3A/g, ':').replace(/%25/g, '%');

/**
 * BullMQ rejects custom ids that look like integers or contain ':', and queue names with ':'.
 * Escaping keeps distinct ids distinct (so deduplication still holds): a '%' in the output is
 * always an escape, so the '%i' mark for integer-like ids cannot come from a user id. Ids of
 * scheduler runs (`repeat:<key>:<ms>`, made by BullMQ) keep their shape so getJob finds them.
 */
export function encodeJobId(id: string): string {
  const run = /^repeat:(.*):(\d+)$/s.exec(id);
  if (run) return `repeat:${escape(run[1]!)}:${run[2]}`;
  const e = escape(id);
  return `${parseInt(e, 10)}` === e ? `%i${e}` : e;
}

export function decodeJobId(id: string): string {
  const run = /^repeat:(.*):(\d+)$/s.exec(id);
  if (run) return `repeat:${unescape(run[1]!)}:${run[2]}`;
  return unescape(id.startsWith('%i') ? id.slice(2) : id);
}

const statuses: Partial<Record<BullState, JobStatus>> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
};

/** One BullMQ queue and worker per job name, created when first needed. */
export class BullmqQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly log: Logger;
  private readonly prefix: string;
  /** shared by the queues and workers; BullMQ duplicates it for each worker's blocking reads */
  private readonly redis: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly processors = new Map<string, { processor: Processor; opts: ProcessOptions }>();
  private readonly workers: Worker[] = [];
  private started = false;
  private closing = false;
  private readonly removal: { removeOnComplete: { age: number }; removeOnFail: { age: number } };

  constructor(redisUrl: string, opts: BullmqQueueOptions = {}) {
    this.log = opts.log ?? pino({ level: 'silent' });
    this.prefix = opts.prefix ?? 'crm';
    const retention = opts.retention ?? defaultRetention;
    // BullMQ counts ages in seconds; finished jobs older than this go when later ones finish
    this.removal = {
      removeOnComplete: { age: Math.max(1, Math.ceil(retention.completedMs / 1000)) },
      removeOnFail: { age: Math.max(1, Math.ceil(retention.failedMs / 1000)) },
    };
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.redis.on('error', (err) => this.log.error({ err }, 'job queue: redis connection error'));
  }

  async add<T>(name: string, data: T, opts: JobOptions = {}): Promise<{ id: string; added: boolean }> {
    const id = opts.jobId ?? randomUUID();
    const queue = this.queue(name);
    // a known id adds nothing; asked first, because BullMQ's answer to a duplicate looks like a new job
    if (opts.jobId && (await queue.getJob(encodeJobId(id)))) return { id, added: false };
    const job = await queue.add(name, data, {
      jobId: encodeJobId(id),
      ...this.removal,
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      ...(opts.attempts ? { attempts: opts.attempts } : {}),
      ...(opts.backoff ? { backoff: { type: opts.backoff.type, delay: opts.backoff.delayMs } } : {}),
    });
    if (!opts.jobId) return { id, added: true };
    // Another process may have added the id since we asked: the stored job keeps the first
    // adder's timestamp. (Two adders within the same millisecond would both see `added`.)
    const stored = await queue.getJob(job.id!);
    return { id, added: !stored || stored.timestamp === job.timestamp };
  }

  async upsertRepeatable<T>(key: string, name: string, data: T, everyMs: number): Promise<void> {
    // a scheduler belongs to one BullMQ queue, so remember which one for removeRepeatable
    const previous = await this.redis.hget(this.schedulesKey, key);
    if (previous !== null && previous !== name) await this.queue(previous).removeJobScheduler(escape(key));
    await this.queue(name).upsertJobScheduler(
      escape(key),
      { every: everyMs, startDate: Date.now() + everyMs },
      { name, data, opts: this.removal },
    );
    await this.redis.hset(this.schedulesKey, key, name);
  }

  async removeRepeatable(key: string): Promise<void> {
    const name = await this.redis.hget(this.schedulesKey, key);
    if (name === null) return;
    await this.queue(name).removeJobScheduler(escape(key));
    await this.redis.hdel(this.schedulesKey, key);
  }

  process<T>(name: string, processor: Processor<T>, opts: ProcessOptions = {}): void {
    if (this.processors.has(name)) throw new Error(`a processor for job ${name} is already registered`);
    this.processors.set(name, { processor: processor as Processor, opts });
    if (this.started) this.startWorker(name);
  }

  async start(): Promise<void> {
    if (this.started || this.closing) return;
    this.started = true;
    for (const name of this.processors.keys()) this.startWorker(name);
  }

  async getJob(id: string, name: string): Promise<JobState | null> {
    const job = await this.queue(name).getJob(encodeJobId(id));
    if (!job) return null;
    const status = statuses[(await job.getState()) as BullState];
    if (!status) return null;
    return { id, name, status, attemptsMade: job.attemptsMade, failedReason: job.failedReason || undefined };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private get schedulesKey(): string {
    return `${this.prefix}:job-schedulers`;
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(escape(name), { connection: this.redis, prefix: this.prefix });
      queue.on('error', (err) => this.log.error({ err, job: name }, 'job queue: queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  private startWorker(name: string): void {
    const { processor, opts } = this.processors.get(name)!;
    const worker = new Worker(
      escape(name),
      async (job, token) => {
        try {
          const { name, data, attemptsMade } = job;
          return await processor({ id: decodeJobId(job.id!), name, data, attemptsMade });
        } catch (err) {
          if (!(err instanceof RetryAfterError)) throw err;
          // BullMQ's own way to postpone without spending an attempt
          await job.moveToDelayed(Date.now() + err.delayMs, token);
          throw new DelayedError();
        }
      },
      {
        connection: this.redis,
        prefix: this.prefix,
        concurrency: opts.concurrency ?? 1,
        ...(opts.limiter ? { limiter: { max: opts.limiter.max, duration: opts.limiter.durationMs } } : {}),
      },
    );
    worker.on('error', (err) => this.log.error({ err, job: name }, 'job queue: worker error'));
    worker.on('failed', (job, err) =>
      this.log.warn({ err, job: name, id: job?.id, attemptsMade: job?.attemptsMade }, 'job queue: job failed'),
    );
    this.workers.push(worker);
  }
}
