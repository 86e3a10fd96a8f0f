import { Composer } from 'grammy';
import type { Message, User } from 'grammy/types';
import type { BotContext } from '../context.js';
import type { Services } from '../../../core/services.js';
import type { InboundSink } from '../../../core/channels/sink.js';
import {
  activeBusinessConnection,
  businessChatKey,
  businessMessageKey,
  recordBusinessConnection,
  recordMessageDeletion,
  recordMessageEdit,
} from '../../../core/channels/business.js';
import { clientFiles } from '../files.js';
import { toInbound } from '../inbound.js';

/** Business update kinds: they are never a staff member's command, even when the owner is staff. */
export const businessUpdateKinds = ['business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages'] as const;

export const isBusinessUpdate = (ctx: BotContext) => businessUpdateKinds.some((k) => k in ctx.update);

/** Bot API 9 moved the right into `rights`; older servers send `can_reply` on the connection. */
type ConnectionUpdate = { id: string; user: User; user_chat_id: number; date: number; is_enabled: boolean; rights?: { can_reply?: boolean }; can_reply?: boolean };

const chatName = (chat: Message['chat']) => {
  const c = chat as { id: number; first_name?: string; last_name?: string; username?: string };
  return [c.first_name, c.last_name].filter(Boolean).join(' ') || c.username || `Telegram ${c.id}`;
};

/**
 * Telegram Business: a manager's own chats with clients, seen through the connection, become CRM
 * conversations; their connection's state is kept and told to them. Nothing is ever said in a
 * business chat from here: it would speak as the manager.
 */
export function businessChats(opts: { services: Services; sink: InboundSink; apiRoot: string; token: string }): Composer<BotContext> {
  const c = new Composer<BotContext>();
  const log = opts.services.log.child({ role: 'telegram-business' });

  const download = (ctx: BotContext, m: Message) => clientFiles(ctx.api, opts.apiRoot, opts.token, m);

  const onConnection = async (ctx: BotContext, u: ConnectionUpdate) => {
    const stored = await recordBusinessConnection(ctx.crm, {
      id: u.id,
      telegramUserId: u.user.id,
      userChatId: u.user_chat_id,
      canReply: !!(u.rights?.can_reply ?? u.can_reply),
      enabled: u.is_enabled,
      date: new Date(u.date * 1000),
    });
    if (stored.botMessage) await ctx.api.sendMessage(u.user_chat_id, stored.botMessage);
  };

  const onMessage = async (ctx: BotContext, m: Message) => {
    const connectionId = m.business_connection_id;
    if (!connectionId || !m.from) return;
    // our own send through the connection comes back as an update: the CRM already holds it
    if (m.sender_business_bot && m.sender_business_bot.id === ctx.me.id) return;
    const conn = await activeBusinessConnection(ctx.crm, connectionId);
    if (!conn) return void log.debug({ connectionId }, 'business message from an unknown, disabled or unlinked connection: ignored');
    const owner = conn.telegramUserId;
    const { files, missing } = await download(ctx, m);
    const keys = { externalChatId: businessChatKey(owner, m.chat.id), providerMessageId: businessMessageKey(owner, m.chat.id, m.message_id) };
    const business = { connectionId, userId: conn.userId };
    if (m.from.id === owner || m.sender_business_bot) {
      // the manager wrote (or another bot on their behalf): the chat is the client's, the words are the manager's
      const base = toInbound(m, m.from, files, missing);
      if (!base.text && !base.attachments) return;
      await opts.sink({ ...base, ...keys, externalUserId: String(m.chat.id), name: chatName(m.chat), phone: undefined, business, outgoing: { authorUserId: conn.userId } });
      return;
    }
    const inbound = toInbound(m, m.from, files, missing);
    if (!inbound.text && !inbound.attachments) return;
    await opts.sink({ ...inbound, ...keys, business });
  };

  const onEdit = async (ctx: BotContext, m: Message) => {
    const connectionId = m.business_connection_id;
    if (!connectionId || !m.from) return;
    const conn = await activeBusinessConnection(ctx.crm, connectionId);
    if (!conn) return void log.debug({ connectionId }, 'business edit from an unknown or disabled connection: ignored');
    // the text as the message now reads; files stay as first received
    const text = toInbound(m, m.from, []).text ?? null;
    const at = new Date((m.edit_date ?? m.date) * 1000);
    await recordMessageEdit(ctx.crm, businessMessageKey(conn.telegramUserId, m.chat.id, m.message_id), text, at);
  };

  c.use(async (ctx, next) => {
    const u = ctx.update;
    if (!isBusinessUpdate(ctx)) return next();
    // business updates never go on to the staff or client handlers
    if (u.business_connection) return onConnection(ctx, u.business_connection as ConnectionUpdate);
    if (u.business_message) return onMessage(ctx, u.business_message);
    if (u.edited_business_message) return onEdit(ctx, u.edited_business_message);
    if (u.deleted_business_messages) {
      const d = u.deleted_business_messages;
      const conn = await activeBusinessConnection(ctx.crm, d.business_connection_id);
      if (!conn) return void log.debug({ connectionId: d.business_connection_id }, 'business deletion from an unknown or disabled connection: ignored');
      await recordMessageDeletion(ctx.crm, d.message_ids.map((id) => businessMessageKey(conn.telegramUserId, d.chat.id, id)));
    }
  });
  return c;
}
