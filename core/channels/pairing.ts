import { asc, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { channelStates } from '../db/schema/index.js';
import { requireRole } from '../access/scope.js';
import type { ChannelKind } from './types.js';

export type ChannelState = typeof channelStates.$inferSelect;

/**
 * WhatsApp asks for a QR scan to pair: the process holding the session (role `bots` or `all`)
 * keeps the current code in the database, so the admin panel of any web process can show it;
 * `null` once paired (or logged out, until the next code).
 */
export async function recordPairingCode(ctx: ServiceContext, channel: ChannelKind, code: string | null): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db
    .insert(channelStates)
    .values({ channel, pairingCode: code, pairingCodeAt: code ? now : null, changedAt: now })
    .onConflictDoUpdate({ target: channelStates.channel, set: { pairingCode: code, pairingCodeAt: code ? now : null } });
}

/** The last known state of every channel, for the integrations page (admins). */
export async function listChannelStates(ctx: ServiceContext): Promise<ChannelState[]> {
  requireRole(ctx, 'admin');
  return ctx.db.select().from(channelStates).orderBy(asc(sql`${channelStates.channel}::text`));
}
