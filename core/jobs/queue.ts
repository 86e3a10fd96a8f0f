/**
 * The queue port. Two engines implement it: BullMQ on Redis (REDIS_URL) and an embedded queue
 * whose jobs live in the database. Each job name is its own queue, so concurrency and rate
 * limits are per kind of work (e.g. one limit for Telegram sends, another for e-mail).
 */
/** How long finished jobs are kept (for getJob and a look at what failed) before they are removed. */
export interface JobRetention {
  completedMs: number;
  failedMs: number;
}

/** A week of done jobs and a month of failed ones: enough to look into, without a table that only grows. */
export const defaultRetention: JobRetention = { completedMs: 7 * 24 * 3600_000, failedMs: 30 * 24 * 3600_000 };

export interface JobOptions {
  /** deduplicates: adding a job whose id is already known adds nothing */
  jobId?: string;
  delayMs?: number;
  /** total tries, first included (default 1) */
  attempts?: number;
  backoff?: { type: 'fixed' | 'exponential'; delayMs: number };
}

export interface Job<T = unknown> {
  id: string;
  name: string;
  data: T;
  /** tries made before this one */
  attemptsMade: number;
}

export type JobStatus = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

export interface JobState {
  id: string;
  name: string;
  status: JobStatus;
  attemptsMade: number;
  failedReason?: string | undefined;
}

export interface ProcessOptions {
  concurrency?: number;
  /** at most `max` jobs started per `durationMs` across all workers of this name */
  limiter?: { max: number; durationMs: number };
}

/** Thrown by a processor to retry after a given delay whatever the backoff says (e.g. HTTP 429 retry_after). */
export class RetryAfterError extends Error {
  constructor(
    readonly delayMs: number,
    message = `retry after ${delayMs} ms`,
  ) {
    super(message);
  }
}

export type Processor<T = unknown> = (job: Job<T>) => Promise<unknown>;

export interface JobQueue {
  readonly kind: 'embedded' | 'bullmq';
  add<T>(name: string, data: T, opts?: JobOptions): Promise<{ id: string; added: boolean }>;
  /** creates or replaces a schedule: a job `name` every `everyMs`, first one `everyMs` from now */
  upsertRepeatable<T>(key: string, name: string, data: T, everyMs: number): Promise<void>;
  removeRepeatable(key: string): Promise<void>;
  /** registers the processor for one job name; jobs run once `start()` was called */
  process<T>(name: string, processor: Processor<T>, opts?: ProcessOptions): void;
  /** begins taking work (the worker role); a queue that only adds jobs never starts */
  start(): Promise<void>;
  getJob(id: string, name: string): Promise<JobState | null>;
  /** stops taking work, waits for jobs in flight, closes connections */
  close(): Promise<void>;
}
