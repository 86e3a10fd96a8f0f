import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { pino, type Logger } from 'pino';
import type { Database } from '../db/client.js';
import {
  RetryAfterError,
  defaultRetention,
  type JobOptions,
  type JobRetention,
  type JobQueue,
  type JobState,
  type ProcessOptions,
  type Processor,
} from './queue.js';

export interface EmbeddedQueueOptions {
  log?: Logger;
  /** how often each job name looks for due work (and the scheduler for due schedules) */
  pollMs?: number;
  /** how long a claimed job stays ours without a heartbeat before another worker may take it */
  leaseMs?: number;
  retention?: JobRetention;
}

interface Worker {
  name: string;
  processor: Processor;
  concurrency: number;
  limiter: ProcessOptions['limiter'];
  running: number;
  /** start times inside the limiter window */
  starts: number[];
  timer: NodeJS.Timeout | undefined;
  polling: Promise<void> | undefined;
  pollAgain: boolean;
}

interface ClaimedRow {
  id: number | string;
  job_key: string;
  name: string;
  data: unknown;
  attempts_made: number;
}

const millis = (n: number): SQL => sql`(${n}::float8 * interval '1 millisecond')`;

/** jsonb must hold a value, so undefined (or a function) is stored as null */
const json = (value: unknown): string => JSON.stringify(value ?? null) ?? 'null';

/** a job that did its work is not failed over a return value that cannot be stored */
function resultJson(value: unknown): string {
  try {
    return json(value);
  } catch {
    return 'null';
  }
}

/**
 * Jobs in the `jobs` table, claimed with FOR UPDATE SKIP LOCKED so several processes can share
 * one PostgreSQL database. A claimed job holds a lease that a heartbeat renews; if the worker
 * dies the lease runs out and the job is taken again. No transaction stays open while a
 * handler runs (PGlite has a single connection).
 */
export class EmbeddedQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly retention: JobRetention;
  private lastPrune = 0;
  private readonly workers = new Map<string, Worker>();
  /** by row id: the heartbeat renews these leases and close() awaits them */
  private readonly inFlight = new Map<number, Promise<void>>();
  private started = false;
  private closing = false;
  private schedulerTimer: NodeJS.Timeout | undefined;
  private schedulerTick: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    opts: EmbeddedQueueOptions = {},
  ) {
    this.log = opts.log ?? pino({ level: 'silent' });
    this.pollMs = opts.pollMs ?? 250;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.retention = opts.retention ?? defaultRetention;
  }

  async add<T>(name: string, data: T, opts: JobOptions = {}): Promise<{ id: string; added: boolean }> {
    const id = opts.jobId ?? randomUUID();
    const rows = await this.database.rows(sql`
      INSERT INTO jobs (queue, name, job_key, data, max_attempts, backoff_type, backoff_ms, run_at)
      VALUES (${name}, ${name}, ${id}, ${json(data)}::jsonb, ${opts.attempts ?? 1}::int,
              ${opts.backoff?.type ?? 'fixed'}, ${opts.backoff?.delayMs ?? 0}::int,
              now() + ${millis(opts.delayMs ?? 0)})
      ON CONFLICT (job_key) DO NOTHING
      RETURNING id`);
    const added = rows.length > 0;
    if (added && !opts.delayMs) this.wake(name);
    return { id, added };
  }

  async upsertRepeatable<T>(key: string, name: string, data: T, everyMs: number): Promise<void> {
    // Re-upserting the same interval (e.g. at every boot) keeps the pending run instead of pushing it back.
    await this.database.rows(sql`
      INSERT INTO job_schedules (key, queue, name, data, every_ms, next_run_at)
      VALUES (${key}, ${name}, ${name}, ${json(data)}::jsonb, ${everyMs}::bigint, now() + ${millis(everyMs)})
      ON CONFLICT (key) DO UPDATE SET
        queue = excluded.queue, name = excluded.name, data = excluded.data, every_ms = excluded.every_ms,
        next_run_at = CASE WHEN job_schedules.every_ms = excluded.every_ms
                           THEN job_schedules.next_run_at ELSE excluded.next_run_at END`);
  }

  async removeRepeatable(key: string): Promise<void> {
    await this.database.rows(sql`DELETE FROM job_schedules WHERE key = ${key}`);
  }

  process<T>(name: string, processor: Processor<T>, opts: ProcessOptions = {}): void {
    if (this.workers.has(name)) throw new Error(`a processor for job ${name} is already registered`);
    const worker: Worker = {
      name,
      processor: processor as Processor,
      concurrency: Math.max(1, opts.concurrency ?? 1),
      limiter: opts.limiter,
      running: 0,
      starts: [],
      timer: undefined,
      polling: undefined,
      pollAgain: false,
    };
    this.workers.set(name, worker);
    if (this.started) this.kick(worker);
  }

  async start(): Promise<void> {
    if (this.started || this.closing) return;
    this.started = true;
    for (const worker of this.workers.values()) this.kick(worker);
    this.tickScheduler();
    this.heartbeat = setInterval(() => {
      this.renewing ??= this.renewLeases().finally(() => (this.renewing = undefined));
    }, Math.max(10, this.leaseMs / 3));
  }

  async getJob(id: string, name: string): Promise<JobState | null> {
    const [row] = await this.database.rows<{
      status: 'waiting' | 'active' | 'completed' | 'failed';
      attempts_made: number;
      last_error: string | null;
      delayed: boolean;
    }>(sql`
      SELECT status, attempts_made, last_error, (status = 'waiting' AND run_at > now()) AS delayed
      FROM jobs WHERE job_key = ${id} AND queue = ${name}`);
    if (!row) return null;
    return {
      id,
      name,
      status: row.delayed ? 'delayed' : row.status,
      attemptsMade: row.attempts_made,
      failedReason: row.last_error ?? undefined,
    };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.schedulerTimer);
    for (const worker of this.workers.values()) clearTimeout(worker.timer);
    // a claim in progress still hands its jobs to handlers, so wait for claims before handlers
    await Promise.all([this.schedulerTick, ...[...this.workers.values()].map((w) => w.polling)]);
    await Promise.all(this.inFlight.values());
    clearInterval(this.heartbeat);
    await this.renewing;
  }

  private wake(name: string): void {
    const worker = this.workers.get(name);
    if (worker) this.kick(worker);
  }

  private kick(worker: Worker): void {
    if (!this.started || this.closing) return;
    if (worker.polling) {
      worker.pollAgain = true;
      return;
    }
    clearTimeout(worker.timer);
    worker.polling = this.poll(worker).finally(() => {
      worker.polling = undefined;
      if (this.closing) return;
      if (worker.pollAgain) {
        worker.pollAgain = false;
        this.kick(worker);
      } else {
        worker.timer = setTimeout(() => this.kick(worker), this.nextPollIn(worker));
      }
    });
  }

  private async poll(worker: Worker): Promise<void> {
    try {
      for (;;) {
        const want = Math.min(worker.concurrency - worker.running, this.tokens(worker));
        if (want <= 0 || this.closing) return;
        const rows = await this.claim(worker.name, want);
        for (const row of rows) this.run(worker, row);
        if (rows.length < want) return;
      }
    } catch (err) {
      this.log.error({ err, job: worker.name }, 'job queue: claiming jobs failed');
    }
  }

  private tokens(worker: Worker): number {
    if (!worker.limiter) return Infinity;
    const since = Date.now() - worker.limiter.durationMs;
    worker.starts = worker.starts.filter((t) => t > since);
    return worker.limiter.max - worker.starts.length;
  }

  /** when the limiter is what holds us back, look again as soon as its window frees a token */
  private nextPollIn(worker: Worker): number {
    const { limiter, starts } = worker;
    if (!limiter || starts.length < limiter.max || worker.running >= worker.concurrency) return this.pollMs;
    return Math.max(1, Math.min(this.pollMs, starts[0]! + limiter.durationMs - Date.now() + 1));
  }

  /** waiting jobs that are due, and active ones whose worker stopped renewing the lease */
  private claim(name: string, limit: number): Promise<ClaimedRow[]> {
    return this.database.rows<ClaimedRow>(sql`
      UPDATE jobs SET status = 'active', locked_until = now() + ${millis(this.leaseMs)}
      WHERE id IN (
        SELECT id FROM jobs
        WHERE queue = ${name}
          AND ((status = 'waiting' AND run_at <= now()) OR (status = 'active' AND locked_until < now()))
        ORDER BY run_at, id
        LIMIT ${limit}::int
        FOR UPDATE SKIP LOCKED)
      RETURNING id, job_key, name, data, attempts_made`);
  }

  private run(worker: Worker, row: ClaimedRow): void {
    const rowId = Number(row.id);
    worker.running++;
    worker.starts.push(Date.now());
    const done = this.execute(worker, rowId, row).finally(() => {
      worker.running--;
      this.inFlight.delete(rowId);
      this.kick(worker);
    });
    this.inFlight.set(rowId, done);
  }

  private async execute(worker: Worker, rowId: number, row: ClaimedRow): Promise<void> {
    const job = { id: row.job_key, name: row.name, data: row.data, attemptsMade: row.attempts_made };
    try {
      let result: unknown;
      try {
        result = await worker.processor(job);
      } catch (err) {
        if (!(err instanceof RetryAfterError)) {
          this.log.warn({ err, job: job.name, id: job.id }, 'job queue: job failed');
        }
        await this.settleFailure(rowId, err);
        return;
      }
      await this.database.rows(sql`
        UPDATE jobs SET status = 'completed', attempts_made = attempts_made + 1, result = ${resultJson(result)}::jsonb,
               locked_until = NULL, finished_at = now()
        WHERE id = ${rowId} AND status = 'active'`);
    } catch (err) {
      // the lease runs out and another worker retries the job
      this.log.error({ err, job: job.name, id: job.id }, 'job queue: recording a job outcome failed');
    }
  }

  private async settleFailure(rowId: number, err: unknown): Promise<void> {
    if (err instanceof RetryAfterError) {
      // not a failed try: the remote side asked us to come back later
      await this.database.rows(sql`
        UPDATE jobs SET status = 'waiting', run_at = now() + ${millis(err.delayMs)}, locked_until = NULL
        WHERE id = ${rowId} AND status = 'active'`);
      return;
    }
    const reason = err instanceof Error ? err.message : String(err);
    // SET expressions see the row before the update: attempts_made is the count of earlier tries
    await this.database.rows(sql`
      UPDATE jobs SET
        attempts_made = attempts_made + 1,
        last_error = ${reason},
        locked_until = NULL,
        status = (CASE WHEN attempts_made + 1 >= max_attempts THEN 'failed' ELSE 'waiting' END)::job_status,
        finished_at = CASE WHEN attempts_made + 1 >= max_attempts THEN now() END,
        run_at = CASE WHEN attempts_made + 1 >= max_attempts THEN run_at
                      ELSE now() + (CASE WHEN backoff_type = 'exponential' THEN backoff_ms * power(2, attempts_made)
                                         ELSE backoff_ms END) * interval '1 millisecond' END
      WHERE id = ${rowId} AND status = 'active'`);
  }

  private tickScheduler(): void {
    if (this.closing) return;
    this.schedulerTick = this.enqueueDueSchedules()
      .then(() => this.pruneIfDue())
      .catch((err: unknown) => this.log.error({ err }, 'job queue: running schedules failed'))
      .finally(() => {
        this.schedulerTick = undefined;
        if (!this.closing) this.schedulerTimer = setTimeout(() => this.tickScheduler(), this.pollMs);
      });
  }

  /**
   * One statement claims due schedules, advances them and adds their jobs, so no transaction is
   * held; the job id carries the slot time, so two processes cannot add the same run twice.
   * After downtime a schedule runs once and resumes from now rather than replaying missed slots.
   */
  private async enqueueDueSchedules(): Promise<void> {
    const rows = await this.database.rows<{ queue: string }>(sql`
      WITH due AS (
        SELECT key, next_run_at FROM job_schedules
        WHERE next_run_at <= now()
        ORDER BY next_run_at
        LIMIT 100
        FOR UPDATE SKIP LOCKED
      ), advanced AS (
        UPDATE job_schedules s SET next_run_at =
          CASE WHEN s.next_run_at + s.every_ms * interval '1 millisecond' <= now()
               THEN now() + s.every_ms * interval '1 millisecond'
               ELSE s.next_run_at + s.every_ms * interval '1 millisecond' END
        FROM due WHERE s.key = due.key
        RETURNING s.key, s.queue, s.name, s.data,
                  floor(extract(epoch FROM due.next_run_at) * 1000)::float8 AS run_at_ms
      )
      INSERT INTO jobs (queue, name, job_key, data)
      SELECT queue, name, 'repeat:' || key || ':' || run_at_ms::bigint, data FROM advanced
      ON CONFLICT (job_key) DO NOTHING
      RETURNING queue`);
    for (const name of new Set(rows.map((r) => r.queue))) this.wake(name);
  }

  /**
   * Removes jobs finished longer ago than the retention, at most hourly (or as often as the
   * retention is short), a slice at a time so no statement runs long. Their ids may then be
   * used again, as with BullMQ's removeOnComplete.
   */
  private async pruneIfDue(): Promise<void> {
    const every = Math.min(3600_000, this.retention.completedMs, this.retention.failedMs);
    if (Date.now() - this.lastPrune < every) return;
    this.lastPrune = Date.now();
    for (;;) {
      const removed = await this.database.rows(sql`
        DELETE FROM jobs WHERE id IN (
          SELECT id FROM jobs
          WHERE (status = 'completed' AND finished_at < now() - ${millis(this.retention.completedMs)})
             OR (status = 'failed' AND finished_at < now() - ${millis(this.retention.failedMs)})
          LIMIT 5000)
        RETURNING id`);
      if (removed.length < 5000 || this.closing) return;
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const ids = sql.join(
      [...this.inFlight.keys()].map((id) => sql`${id}`),
      sql`, `,
    );
    try {
      await this.database.rows(sql`
        UPDATE jobs SET locked_until = now() + ${millis(this.leaseMs)}
        WHERE id IN (${ids}) AND status = 'active'`);
    } catch (err) {
      this.log.error({ err }, 'job queue: renewing job leases failed');
    }
  }
}
