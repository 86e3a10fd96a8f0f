import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import type { ServiceContext } from '../context.js';

/**
 * Live signals between processes through the database itself (NOTIFY/LISTEN), so a web process
 * holding a user's open page hears what a webhook taken by another process did, on PostgreSQL and
 * on PGlite alike, with no other server. Sent inside the caller's transaction, a signal is
 * delivered only if it commits. Payloads are small JSON (PostgreSQL caps them at 8,000 bytes):
 * ids to read, never message bodies.
 */
export type SignalChannel = 'crm_calls';

export async function sendSignal(ctx: ServiceContext, channel: SignalChannel, payload: object): Promise<void> {
  await ctx.db.execute(sql`SELECT pg_notify(${channel}, ${JSON.stringify(payload)})`);
}

/** Calls `onSignal` with each payload sent on the channel until the returned stop is called. */
export async function listenSignals<T>(database: Database, channel: SignalChannel, onSignal: (payload: T) => void): Promise<() => Promise<void>> {
  const deliver = (raw: string) => {
    try {
      onSignal(JSON.parse(raw) as T);
    } catch {
      // a payload that is not ours: nothing to deliver
    }
  };
  if (database.pg) {
    const { unlisten } = await database.pg.listen(channel, deliver);
    return unlisten;
  }
  if (database.pglite) {
    const stop = await database.pglite.listen(channel, deliver);
    return () => stop();
  }
  throw new Error('listenSignals: no database client to listen on');
}
