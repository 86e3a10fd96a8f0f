import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Failed sign-ins per address and e-mail within a window: after `max` of them the sign-in form
 * answers 429 until the window, counted from the first failure, ends. Only failures count, so a
 * colleague who signs in often is never locked out; a success clears the count. With Redis every
 * web process shares the count; without it each process keeps its own.
 */
export interface LoginThrottle {
  blocked(key: string): Promise<boolean>;
  failed(key: string): Promise<void>;
  succeeded(key: string): Promise<void>;
}

export function createLoginThrottle(opts: { max: number; windowMs: number; redis?: Redis | undefined; log: FastifyBaseLogger }): LoginThrottle {
  return opts.redis ? redisThrottle(opts.redis, opts.max, opts.windowMs, opts.log) : memoryThrottle(opts.max, opts.windowMs);
}

function memoryThrottle(max: number, windowMs: number): LoginThrottle {
  const failures = new Map<string, { n: number; until: number }>();
  const current = (key: string) => {
    const f = failures.get(key);
    if (f && f.until <= Date.now()) failures.delete(key);
    return failures.get(key);
  };
  return {
    blocked: async (key) => (current(key)?.n ?? 0) >= max,
    async failed(key) {
      const f = current(key);
      if (f) f.n++;
      else failures.set(key, { n: 1, until: Date.now() + windowMs });
      // forget expired entries now and then, so guessed e-mails do not pile up
      if (failures.size > 10_000) for (const k of [...failures.keys()]) current(k);
    },
    succeeded: async (key) => void failures.delete(key),
  };
}

function redisThrottle(redis: Redis, max: number, windowMs: number, log: FastifyBaseLogger): LoginThrottle {
  const k = (key: string) => `crm-admin-login-fail:${key}`;
  // Redis unreachable: sign-in goes on unthrottled rather than locking everybody out
  const safely = async <T>(fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      log.warn({ err }, 'sign-in throttle: redis unavailable');
      return fallback;
    }
  };
  return {
    blocked: (key) => safely(async () => Number((await redis.get(k(key))) ?? 0) >= max, false),
    failed: (key) =>
      safely(async () => {
        await redis.multi().incr(k(key)).pexpire(k(key), windowMs, 'NX').exec();
      }, undefined),
    succeeded: (key) => safely(async () => void (await redis.del(k(key))), undefined),
  };
}
