import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { Services } from '../../../core/services.js';
import type { InboundSink } from '../../../core/channels/sink.js';

// CONTRACT stub (helper F owns this file).

/** Business update kinds: they are never a staff member's command, even when the owner is staff. */
export const businessUpdateKinds = ['business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages'] as const;

export const isBusinessUpdate = (ctx: BotContext) => businessUpdateKinds.some((k) => k in ctx.update);

/**
 * Telegram Business: a manager's own chats with clients, seen through the connection, become CRM
 * conversations; their connection's state is kept and told to them.
 */
export function businessChats(opts: { services: Services; sink: InboundSink; apiRoot: string; token: string }): Composer<BotContext> {
  void opts;
  return new Composer<BotContext>();
}
