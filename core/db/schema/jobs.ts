import { bigint, bigserial, index, integer, jsonb, pgEnum, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const jobStatus = pgEnum('job_status', ['waiting', 'active', 'completed', 'failed']);

/** The embedded queue's jobs (used when REDIS_URL is unset): a restart or crash loses none. */
export const jobs = pgTable(
  'jobs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    queue: text('queue').notNull(),
    name: text('name').notNull(),
    /** caller-chosen id: adding a job whose key exists adds nothing */
    jobKey: text('job_key').notNull().unique(),
    data: jsonb('data').notNull(),
    status: jobStatus('status').notNull().default('waiting'),
    attemptsMade: integer('attempts_made').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(1),
    backoffType: text('backoff_type').notNull().default('fixed'),
    backoffMs: integer('backoff_ms').notNull().default(0),
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    /** an active job whose lease ran out (its worker died) is taken again */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastError: text('last_error'),
    result: jsonb('result'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('jobs_ready_idx').on(t.queue, t.status, t.runAt)],
);

/** Repeatable job schedules of the embedded queue. */
export const jobSchedules = pgTable('job_schedules', {
  key: text('key').primaryKey(),
  queue: text('queue').notNull(),
  name: text('name').notNull(),
  data: jsonb('data').notNull(),
  everyMs: bigint('every_ms', { mode: 'number' }).notNull(),
  nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull(),
});
