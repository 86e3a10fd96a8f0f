import pino from 'pino';
import { systemActor, systemClock, type Actor, type Clock, type ServiceContext } from '../../core/context.js';
import type { Database } from '../../core/db/client.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { createUser, userActor, type User } from '../../core/users/users.js';
import { createSegment, setUserSegments } from '../../core/segments/segments.js';
import { createTestDatabase } from './db.js';

/** A movable clock for tests that need "today", "overdue" or a period. */
export function fixedClock(start: Date | string): Clock & { set(d: Date | string): void } {
  let now = new Date(start);
  return { now: () => new Date(now), set: (d) => void (now = new Date(d)) };
}

export interface World {
  database: Database;
  clock: Clock;
  ctx(actor?: Actor): ServiceContext;
  as(user: User): ServiceContext;
  system: ServiceContext;
  user(role: 'admin' | 'head' | 'manager', opts?: { segments?: number[]; name?: string }): Promise<User>;
  segment(name?: string): Promise<number>;
  close(): Promise<void>;
}

let seq = 0;
const uniq = () => `${process.pid}-${++seq}`;

/** A fresh database with helpers to make people and segments, for one test file. */
export async function openWorld(opts: { clock?: Clock } = {}): Promise<World> {
  const database = await createTestDatabase();
  const jobs = new EmbeddedQueue(database);
  const log = pino({ level: 'silent' });
  const clock = opts.clock ?? systemClock;
  const ctx = (actor: Actor = systemActor('test')): ServiceContext => ({ db: database.db, actor, clock, jobs, log, timeZone: 'Europe/Moscow' });
  const system = ctx();
  return {
    database,
    clock,
    ctx,
    system,
    as: (user) => ctx(userActor(user)),
    async user(role, o = {}) {
      const u = await createUser(system, { email: `${role}-${uniq()}@test.crm`, name: o.name ?? `${role} ${seq}`, role, password: 'password123' });
      if (o.segments) await setUserSegments(system, u.id, o.segments);
      return u;
    },
    async segment(name) {
      return (await createSegment(system, { name: name ?? `Сегмент ${uniq()}` })).id;
    },
    async close() {
      await jobs.close();
      await database.close();
    },
  };
}

/** Valid INN/OGRN with fresh random digits, so tests never collide. */
// Issued INNs are remembered so one test run never hands out the same one twice: a big import test draws
// thousands, and with 8 random digits a repeat would otherwise come up in a few runs out of a hundred.
const issuedInns = new Set<string>();

export function randomInn(kind: 'legal_entity' | 'individual' | 'sole_proprietor'): string {
  for (;;) {
    const inn = drawInn(kind);
    if (!issuedInns.has(inn)) {
      issuedInns.add(inn);
      return inn;
    }
  }
}

function drawInn(kind: 'legal_entity' | 'individual' | 'sole_proprietor'): string {
  const rnd = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10));
  const check = (d: number[], w: number[]) => (w.reduce((s, x, i) => s + x * d[i]!, 0) % 11) % 10;
  if (kind === 'legal_entity') {
    const d = rnd(9);
    d[0] = 7;
    d.push(check(d, [2, 4, 10, 3, 5, 9, 4, 6, 8]));
    return d.join('');
  }
  const d = rnd(10);
  d[0] = 5;
  d.push(check(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
  d.push(check(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
  return d.join('');
}

export function randomOgrn(kind: 'legal_entity' | 'sole_proprietor'): string {
  const len = kind === 'legal_entity' ? 12 : 14;
  const body = '1' + Array.from({ length: len - 1 }, () => Math.floor(Math.random() * 10)).join('');
  const mod = kind === 'legal_entity' ? 11n : 13n;
  return body + String(Number(BigInt(body) % mod) % 10);
}
