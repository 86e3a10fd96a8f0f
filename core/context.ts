import type { Logger } from 'pino';
import type { Db } from './db/client.js';
import type { JobQueue } from './jobs/queue.js';
import { channelLabel, type ChannelKind } from './channels/types.js';

export type Role = 'admin' | 'head' | 'manager';

/** Who is acting. Access rules and the audit trail read it. */
export type Actor =
  | { kind: 'user'; userId: number; role: Role; name: string; timeZone: string }
  | { kind: 'apiKey'; apiKeyId: number; name: string }
  | { kind: 'contact'; contactId: number; channel: ChannelKind }
  | { kind: 'system'; name: string };

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface ServiceContext {
  db: Db;
  actor: Actor;
  clock: Clock;
  jobs: JobQueue;
  log: Logger;
  /** The team's IANA zone (config TIME_ZONE): the hours of whatever belongs to no one, e.g. an unassigned ticket's SLA. */
  timeZone: string;
  /**
   * Runs `fn` once the current transaction commits (at once outside a transaction). Jobs are added
   * this way: a job must not announce a row that may still roll back, and PGlite's single
   * connection would wait on the open transaction.
   */
  afterCommit?: (fn: () => Promise<unknown>) => void;
}

/** Queues work for after the commit (or runs it now outside a transaction). */
export async function afterCommit(ctx: ServiceContext, fn: () => Promise<unknown>): Promise<void> {
  if (ctx.afterCommit) ctx.afterCommit(fn);
  else await fn();
}

export const systemActor = (name = 'система'): Actor => ({ kind: 'system', name });

export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return actor.name;
    case 'apiKey':
      return `API: ${actor.name}`;
    case 'contact':
      return `клиент (${channelLabel[actor.channel]})`;
    case 'system':
      // what the history's «Кто» column shows: «система» or «система (напоминания)»
      return actor.name === 'система' ? 'система' : `система (${actor.name})`;
  }
}

export const actorUserId = (actor: Actor): number | null => (actor.kind === 'user' ? actor.userId : null);

/** The zone whose days and hours a verb reads for this actor («сегодня», a paid date, a period); Moscow for the system. */
export const actorTimeZone = (actor: Actor): string => (actor.kind === 'user' ? actor.timeZone : 'Europe/Moscow');

/** The same context inside a transaction. */
export const withDb = (ctx: ServiceContext, db: Db): ServiceContext => ({ ...ctx, db });

/** Runs fn in one transaction; nested calls join the outer one. After-commit work runs once it commits. */
export async function inTransaction<T>(ctx: ServiceContext, fn: (tx: ServiceContext) => Promise<T>): Promise<T> {
  if ((ctx as { inTx?: boolean }).inTx) return fn(ctx);
  const pending: (() => Promise<unknown>)[] = [];
  const result = await ctx.db.transaction(async (tx) =>
    fn({ ...withDb(ctx, tx as unknown as Db), inTx: true, afterCommit: (f: () => Promise<unknown>) => void pending.push(f) } as ServiceContext),
  );
  for (const f of pending) {
    try {
      await f();
    } catch (err) {
      ctx.log.error({ err }, 'after-commit work failed');
    }
  }
  return result;
}
