import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { Database } from '../core/db/client.js';
import { BullmqQueue } from '../core/jobs/bullmq-queue.js';
import { createQueue } from '../core/jobs/create-queue.js';
import { EmbeddedQueue } from '../core/jobs/embedded-queue.js';
import { RetryAfterError, type Job, type JobQueue, type JobRetention } from '../core/jobs/queue.js';
import { createTestDatabase, testEngine } from './helpers/db.js';
import { sleep, waitFor as waitUntil } from './helpers/wait.js';

/** the queue's timing is under test: poll often, give up sooner */
const waitFor = (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 5000) => waitUntil(what, done, timeoutMs, 5);

const redisUrl = process.env.TEST_REDIS_URL;


let seq = 0;
/** names and ids unique within the run: every test starts from an empty queue */
const unique = (prefix: string) => `${prefix}-${++seq}`;

let database: Database;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database.close();
});

/** The same behaviour, whichever engine runs the jobs. */
function behaviour(engine: string, open: (retention?: JobRetention) => JobQueue): void {
  describe(`job queue (${engine})`, () => {
    const opened: JobQueue[] = [];
    const queue = (retention?: JobRetention) => {
      const q = open(retention);
      opened.push(q);
      return q;
    };
    after(() => Promise.all(opened.map((q) => q.close())));

    test('runs a job with its data and reports it completed', async () => {
      const q = queue();
      const name = unique('hello');
      const seen: Job[] = [];
      q.process<{ to: string }>(name, async (job) => void seen.push(job));
      await q.start();
      const { id, added } = await q.add(name, { to: 'Анна' });
      assert.equal(added, true);
      await waitFor('the job to complete', async () => (await q.getJob(id, name))?.status === 'completed');
      assert.deepEqual(seen, [{ id, name, data: { to: 'Анна' }, attemptsMade: 0 }]);
      assert.equal(await q.getJob('no-such-job', name), null);
      await q.close();
    });

    test('finished jobs are removed after the retention, so the queue does not grow for ever', async () => {
      const q = queue({ completedMs: 1000, failedMs: 1000 });
      const name = unique('retained');
      q.process<{ fail: boolean }>(name, async (job) => {
        if (job.data.fail) throw new Error('не вышло');
      });
      await q.start();
      const done = await q.add(name, { fail: false });
      const failed = await q.add(name, { fail: true });
      await waitFor('both to finish', async () => (await q.getJob(done.id, name))?.status === 'completed' && (await q.getJob(failed.id, name))?.status === 'failed');
      await sleep(1500);
      // BullMQ removes old done (failed) jobs as later ones finish (fail); the embedded queue on its schedule tick
      const later = await q.add(name, { fail: false });
      const laterFailed = await q.add(name, { fail: true });
      await waitFor('the later jobs to finish', async () => (await q.getJob(later.id, name))?.status === 'completed' && (await q.getJob(laterFailed.id, name))?.status === 'failed');
      await waitFor('the old ones to be removed', async () => (await q.getJob(done.id, name)) === null && (await q.getJob(failed.id, name)) === null, 10_000);
      assert.equal((await q.getJob(later.id, name))?.status, 'completed', 'a recent job is kept');
      await q.close();
    });

    test('a job id added twice runs once, whatever characters it holds', async () => {
      const q = queue();
      const name = unique('dedup');
      const ids = [`order:${seq}:paid`, String(900_000 + seq), `50%:off`];
      const runs: string[] = [];
      q.process(name, async (job) => void runs.push(job.id));
      for (const id of ids) {
        assert.deepEqual(await q.add(name, { n: 1 }, { jobId: id }), { id, added: true });
        assert.deepEqual(await q.add(name, { n: 2 }, { jobId: id }), { id, added: false });
      }
      await q.start();
      await waitFor('the jobs to run', () => runs.length === ids.length);
      assert.deepEqual((await q.add(name, { n: 3 }, { jobId: ids[0] })).added, false);
      await sleep(100);
      assert.deepEqual([...runs].sort(), [...ids].sort());
      await q.close();
    });

    test('a failing job is retried after its backoff, then marked failed with its reason', async () => {
      const q = queue();
      const name = unique('failing');
      const tries: { at: number; attemptsMade: number }[] = [];
      q.process(name, async (job) => {
        tries.push({ at: Date.now(), attemptsMade: job.attemptsMade });
        throw new Error(`boom ${job.attemptsMade}`);
      });
      await q.start();
      const { id } = await q.add(name, {}, { attempts: 3, backoff: { type: 'fixed', delayMs: 60 } });
      await waitFor('the job to fail', async () => (await q.getJob(id, name))?.status === 'failed');
      assert.deepEqual(
        tries.map((t) => t.attemptsMade),
        [0, 1, 2],
      );
      for (let i = 1; i < tries.length; i++) assert.ok(tries[i]!.at - tries[i - 1]!.at >= 50, 'waited the backoff');
      assert.deepEqual(await q.getJob(id, name), {
        id,
        name,
        status: 'failed',
        attemptsMade: 3,
        failedReason: 'boom 2',
      });
      await q.close();
    });

    test('exponential backoff waits longer after each failure', async () => {
      const q = queue();
      const name = unique('exponential');
      const at: number[] = [];
      q.process(name, async () => {
        at.push(Date.now());
        throw new Error('still down');
      });
      await q.start();
      const { id } = await q.add(name, {}, { attempts: 4, backoff: { type: 'exponential', delayMs: 40 } });
      await waitFor('the job to fail', async () => (await q.getJob(id, name))?.status === 'failed');
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      assert.equal(gaps.length, 3);
      [40, 80, 160].forEach((expected, i) => assert.ok(gaps[i]! >= expected - 10, `gap ${i} ${gaps[i]} ms`));
      assert.ok(gaps[2]! > gaps[0]! * 2, `gaps grow: ${gaps.join(', ')}`);
      await q.close();
    });

    test('a delayed job waits for its delay', async () => {
      const q = queue();
      const name = unique('delayed');
      let ranAt = 0;
      q.process(name, async () => void (ranAt = Date.now()));
      await q.start();
      const addedAt = Date.now();
      const { id } = await q.add(name, {}, { delayMs: 200 });
      assert.equal((await q.getJob(id, name))?.status, 'delayed');
      await waitFor('the job to complete', async () => (await q.getJob(id, name))?.status === 'completed');
      assert.ok(ranAt - addedAt >= 190, `ran after ${ranAt - addedAt} ms`);
      await q.close();
    });

    test('a repeatable job runs every interval until removed', async () => {
      const q = queue();
      const name = unique('repeat');
      const key = `${name}:digest`;
      const runs: Job[] = [];
      q.process(name, async (job) => void runs.push(job));
      await q.start();
      const since = Date.now();
      await q.upsertRepeatable(key, name, { kind: 'digest' }, 60);
      await q.upsertRepeatable(key, name, { kind: 'digest' }, 60); // e.g. every boot: still one schedule
      await waitFor('three runs', () => runs.length >= 3);
      const elapsed = Date.now() - since;
      assert.ok(elapsed >= 170, `three runs took ${elapsed} ms`);
      assert.ok(runs.length <= Math.floor(elapsed / 60) + 1, `${runs.length} runs in ${elapsed} ms`);
      assert.deepEqual(runs[0]!.data, { kind: 'digest' });
      assert.equal(new Set(runs.map((r) => r.id)).size, runs.length);
      assert.match(runs[0]!.id, /^repeat:.*:\d+$/);
      assert.equal((await q.getJob(runs[0]!.id, name))?.status, 'completed');
      await q.removeRepeatable(key);
      await sleep(100); // a run already started may finish
      const count = runs.length;
      await sleep(250);
      assert.equal(runs.length, count);
      await q.close();
    });

    test('concurrency N runs N jobs at once, never more', async () => {
      const q = queue();
      const name = unique('parallel');
      let running = 0;
      let most = 0;
      let done = 0;
      q.process(
        name,
        async () => {
          most = Math.max(most, ++running);
          await sleep(80);
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      for (let i = 0; i < 9; i++) await q.add(name, { i });
      await q.start();
      await waitFor('all jobs', () => done === 9);
      assert.equal(most, 3);
      await q.close();
    });

    test('the limiter caps how many jobs start per window', async () => {
      const q = queue();
      const name = unique('limited');
      const starts: number[] = [];
      q.process(name, async () => void starts.push(Date.now()), {
        concurrency: 10,
        limiter: { max: 2, durationMs: 200 },
      });
      for (let i = 0; i < 6; i++) await q.add(name, { i });
      await q.start();
      await waitFor('all jobs', () => starts.length === 6);
      for (let i = 2; i < starts.length; i++) {
        const window = starts[i]! - starts[i - 2]!;
        assert.ok(window >= 185, `jobs ${i - 2} and ${i} started ${window} ms apart`);
      }
      await q.close();
    });

    test('RetryAfterError reschedules after its delay without spending an attempt', async () => {
      const q = queue();
      const name = unique('retry-after');
      const tries: { at: number; attemptsMade: number }[] = [];
      q.process(name, async (job) => {
        tries.push({ at: Date.now(), attemptsMade: job.attemptsMade });
        if (tries.length === 1) throw new RetryAfterError(150);
      });
      await q.start();
      const { id } = await q.add(name, {}); // a single attempt: the retry must not need a second
      await waitFor('the first try', () => tries.length === 1);
      await waitFor('a delayed state', async () => (await q.getJob(id, name))?.status === 'delayed');
      await waitFor('the job to complete', async () => (await q.getJob(id, name))?.status === 'completed');
      assert.equal(tries.length, 2);
      assert.ok(tries[1]!.at - tries[0]!.at >= 140, `retried after ${tries[1]!.at - tries[0]!.at} ms`);
      assert.equal(tries[1]!.attemptsMade, 0);
      await q.close();
    });
  });
}

behaviour(`embedded on ${testEngine}`, (retention) => new EmbeddedQueue(database, { pollMs: 20, ...(retention ? { retention } : {}) }));

describe(`embedded job queue on ${testEngine}: restarts`, () => {
  const opened: EmbeddedQueue[] = [];
  const queue = (opts: { leaseMs?: number } = {}) => {
    const q = new EmbeddedQueue(database, { pollMs: 20, ...opts });
    opened.push(q);
    return q;
  };
  after(() => Promise.all(opened.map((q) => q.close())));

  test('a job whose worker died while running it is run by the next instance', async () => {
    const name = unique('crashed');
    const [dead, busy] = [`${name}-dead`, `${name}-busy`];
    const before = queue();
    await before.add(name, { n: 1 }, { jobId: dead });
    await before.add(name, { n: 2 }, { jobId: busy });
    await before.close();
    // as a crashed worker leaves them: one lease ran out, the other still belongs to a live worker
    const claim = (key: string, leaseLeft: string) =>
      database.rows(sql`UPDATE jobs SET status = 'active', locked_until = now() + ${leaseLeft}::interval
                        WHERE job_key = ${key}`);
    await claim(dead, '-1 minute');
    await claim(busy, '1 hour');

    const next = queue();
    const runs: string[] = [];
    next.process(name, async (job) => void runs.push(job.id));
    await next.start();
    await waitFor('the orphaned job', async () => (await next.getJob(dead, name))?.status === 'completed');
    await sleep(100);
    assert.deepEqual(runs, [dead]);
    assert.equal((await next.getJob(busy, name))?.status, 'active');
    await next.close();
  });

  test('jobs added before close() run after a restart', async () => {
    const name = unique('restart');
    const runs: unknown[] = [];
    const first = queue();
    first.process(name, async (job) => void runs.push(job.data));
    await first.start();
    await first.add(name, { n: 1 }, { delayMs: 150 });
    await first.close();
    await new EmbeddedQueue(database).add(name, { n: 2 }); // a producer that never starts

    const second = queue();
    second.process(name, async (job) => void runs.push(job.data));
    await second.start();
    await waitFor('both jobs', () => runs.length === 2);
    assert.deepEqual(runs, [{ n: 2 }, { n: 1 }]);
    await second.close();
  });

  test('a long job keeps its lease while it runs', async () => {
    const name = unique('long');
    const runs: string[] = [];
    const handler = async (job: Job) => {
      runs.push(job.id);
      await sleep(300);
    };
    const [a, b] = [queue({ leaseMs: 90 }), queue({ leaseMs: 90 })];
    a.process(name, handler);
    await a.start();
    const { id } = await a.add(name, {});
    await waitFor('the job to start', () => runs.length === 1);
    b.process(name, handler);
    await b.start();
    await waitFor('the job to complete', async () => (await a.getJob(id, name))?.status === 'completed');
    assert.deepEqual(runs, [id]);
    await Promise.all([a.close(), b.close()]);
  });

  test('close() waits for the job in flight', async () => {
    const name = unique('inflight');
    let finished = false;
    const q = queue();
    q.process(name, async () => {
      await sleep(100);
      finished = true;
    });
    await q.start();
    const { id } = await q.add(name, {});
    await waitFor('the job to start', async () => (await q.getJob(id, name))?.status === 'active');
    await q.close();
    assert.equal(finished, true);
    assert.equal((await new EmbeddedQueue(database).getJob(id, name))?.status, 'completed');
  });

  test('createQueue picks the embedded queue without Redis', async () => {
    const q = createQueue({ database });
    assert.equal(q.kind, 'embedded');
    await q.close();
  });

  if (testEngine === 'postgres') {
    test('two processes over one database never run a job twice', async () => {
      const name = unique('shared');
      const runs = new Map<string, number>();
      const handler = async (job: Job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(Math.random() * 10);
      };
      const [a, b] = [queue(), queue()];
      a.process(name, handler, { concurrency: 4 });
      b.process(name, handler, { concurrency: 4 });
      await Promise.all([a.start(), b.start()]);
      for (let i = 0; i < 100; i++) await (i % 2 ? a : b).add(name, { i });
      await waitFor('all jobs', () => runs.size === 100);

      const key = `${name}:tick`;
      const since = Date.now();
      await Promise.all([a.upsertRepeatable(key, name, {}, 50), b.upsertRepeatable(key, name, {}, 50)]);
      await sleep(500);
      await a.removeRepeatable(key);
      const elapsed = Date.now() - since;
      await sleep(100);
      const scheduled = [...runs.keys()].filter((id) => id.startsWith('repeat:'));
      const most = elapsed / 50 + 1;
      assert.ok(scheduled.length >= 5 && scheduled.length <= most, `${scheduled.length} runs in ${elapsed} ms`);
      assert.deepEqual(new Set(runs.values()), new Set([1]));
      await Promise.all([a.close(), b.close()]);
    });
  }
});

if (redisUrl) {
  const prefix = `crm-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  behaviour('bullmq', (retention) => new BullmqQueue(redisUrl, { prefix, ...(retention ? { retention } : {}) }));

  describe('bullmq job queue', () => {
    test('createQueue picks BullMQ when Redis is configured', async () => {
      const q = createQueue({ redisUrl, database });
      assert.equal(q.kind, 'bullmq');
      await q.close();
    });

    after(async () => {
      const redis = new Redis(redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    });
  });
}
