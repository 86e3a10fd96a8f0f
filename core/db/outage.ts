/**
 * Failures that say the database (or Redis) cannot be reached right now — a restart, a failover, a
 * dropped connection — as opposed to a bad query. The same request may well succeed in a few
 * seconds, so a transport answers "try again later" (HTTP 503 with Retry-After), never 500.
 */

/** Node's socket errors and postgres.js' own connection errors */
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01 admin_shutdown (`pg_ctl stop -m fast`
 * ends every session), 57P02 crash_shutdown, 57P03 cannot_connect_now («the database system is
 * starting up / shutting down»), 53300 too_many_connections.
 */
const isUnavailableSqlState = (code: string) => /^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code);

/** ioredis when Redis is away: its own error classes and messages carry no code */
const isRedisUnavailable = (e: { name?: unknown; message?: unknown }) =>
  e.name === 'MaxRetriesPerRequestError' || e.message === 'Connection is closed.' || e.message === "Stream isn't writeable and enableOfflineQueue options is false";

export interface Outage {
  store: 'database' | 'queue';
  /** for the Retry-After header */
  retryAfterSeconds: number;
  /** for the person or program that sent the request */
  message: string;
}

/**
 * The outage behind `err`, looking through wrappers (drizzle's «Failed query» keeps the driver's
 * error as `cause`), or null for any other error.
 */
export function outageOf(err: unknown): Outage | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift() as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown; message?: unknown } | null;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (typeof e.code === 'string' && (connectionCodes.has(e.code) || isUnavailableSqlState(e.code))) {
      return {
        store: 'database',
        retryAfterSeconds: 5,
        message: 'CRM временно недоступна: нет связи с базой данных. Повторите запрос через несколько секунд',
      };
    }
    if (isRedisUnavailable(e)) {
      return {
        store: 'queue',
        retryAfterSeconds: 5,
        message: 'CRM временно недоступна: нет связи с очередью задач. Повторите запрос через несколько секунд',
      };
    }
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return null;
}
