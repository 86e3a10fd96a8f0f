import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Failed sign-ins within a window, counted per key (address and e-mail: one account's password
 * guessed; address alone: many accounts tried from one place). Each try takes its place in
 * every count before the password is checked, in one atomic step (INCRs in one Redis script, or
 * a synchronous update of this process's map), so forty tries at once get exactly the limit and not one more.
 * A success gives its place back, so a colleague who signs in often is never held back; for
 * address and e-mail it also clears the count. The window runs from the first failure. With Redis
 * every web process shares the counts; without it (or while Redis is down) each process keeps its
 * own.
 */
export interface LoginThrottle {
  /**
   * Takes a try: `allowed` false means a limit is reached (the caller answers 429 without checking
   * the password). A wrong password keeps the place it took; a right one reports `succeeded`.
   */
  attempt(keys: ThrottleKey[]): Promise<{ allowed: boolean }>;
  /** the password was right: the try is given back, and keys marked `clearOnSuccess` start over */
  succeeded(keys: ThrottleKey[]): Promise<void>;
}

export interface ThrottleKey {
  key: string;
  max: number;
  /** a right password for this e-mail ends its count; an address keeps counting other accounts' failures */
  clearOnSuccess: boolean;
}

export function createLoginThrottle(opts: { windowMs: number; redis?: Redis | undefined; log: FastifyBaseLogger }): LoginThrottle {
  const memory = memoryThrottle(opts.windowMs);
  return opts.redis ? redisThrottle(opts.redis, opts.windowMs, opts.log, memory) : memory;
}

function memoryThrottle(windowMs: number): LoginThrottle {
  const counts = new Map<string, { n: number; until: number }>();
  const current = (key: string, now: number) => {
    const c = counts.get(key);
    if (c && c.until <= now) counts.delete(key);
    return counts.get(key);
  };
  return {
    // no await inside: the check and the increment happen in one turn of the event loop
    async attempt(keys) {
      const now = Date.now();
      let allowed = true;
      for (const { key, max } of keys) {
        const c = current(key, now);
        const n = c ? ++c.n : 1;
        if (!c) counts.set(key, { n, until: now + windowMs });
        if (n > max) allowed = false;
      }
      // forget expired entries now and then, so guessed e-mails do not pile up
      if (counts.size > 10_000) for (const k of [...counts.keys()]) current(k, now);
      return { allowed };
    },
    async succeeded(keys) {
      const now = Date.now();
      for (const { key, clearOnSuccess } of keys) {
        const c = current(key, now);
        if (!c) continue;
        if (clearOnSuccess || c.n <= 1) counts.delete(key);
        else c.n--;
      }
    },
  };
}

/**
 * Takes a place in every count at once and returns the counts. A count's window starts with its
 * first place; a count left without an expiry (PTTL -1) gets one too, so no key outlives it.
 */
const TAKE = `
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return counts`;

/** ARGV[i] '1': the count starts over; otherwise one place back, unless the window has already ended */
const GIVE_BACK = `
for i, key in ipairs(KEYS) do
  if ARGV[i] == '1' then redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
end
return 0`;

function redisThrottle(redis: Redis, windowMs: number, log: FastifyBaseLogger, fallback: LoginThrottle): LoginThrottle {
  const k = (key: string) => `crm-admin-login-fail:${key}`;
  // Redis unreachable: this process counts on its own rather than letting guesses through or locking everybody out
  const safely = async <T>(fn: () => Promise<T>, instead: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      log.warn({ err }, 'sign-in throttle: redis unavailable, counting in this process');
      return instead();
    }
  };
  return {
    attempt: (keys) =>
      safely(
        async () => {
          const counts = (await redis.eval(TAKE, keys.length, ...keys.map((x) => k(x.key)), windowMs)) as number[];
          return { allowed: keys.every(({ max }, i) => Number(counts[i]) <= max) };
        },
        () => fallback.attempt(keys),
      ),
    succeeded: (keys) =>
      safely(
        async () => void (await redis.eval(GIVE_BACK, keys.length, ...keys.map((x) => k(x.key)), ...keys.map((x) => (x.clearOnSuccess ? '1' : '0')))),
        () => fallback.succeeded(keys),
      ),
  };
}
