import { Bot, Composer, session, type Api, type BotConfig } from 'grammy';
import type { Services } from '../../core/services.js';
import { systemActor } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import { fixHint } from './fix-link.js';
import { findUserByTelegramId, userActor } from '../../core/users/users.js';
import type { BotContext } from './context.js';
import { dbSessionStorage } from './session-storage.js';
import { help, staffCommands, start } from './features/start.js';
import { leads, leadCloseStep, leadCounterpartyStep } from './features/leads.js';
import { newlead, newleadStep } from './features/newlead.js';
import { deals, dealAmountStep, dealLostStep, dealPaidStep, dealTitleStep, newDealStep } from './features/deals.js';
import { works, workDeadlineStep, followUpStep, workCancelStep, workMoveStep } from './features/works.js';
import { notes, noteStep } from './features/notes.js';
import { contacts, contactEditStep } from './features/contacts.js';
import { team } from './features/team.js';
import { find } from './features/find.js';
import { plan } from './features/plan.js';
import { chats } from './features/chats.js';
import { mail, mailStep } from './features/mail.js';
import { clientChat } from './features/client-chat.js';
import { dealDocuments } from './features/deal-documents.js';
import { callsFeature } from './features/calls.js';
import { ticketsFeature, ticketNoteStep } from './features/tickets.js';
import { businessChats, isBusinessUpdate } from './features/business.js';
import type { TelephonyClients } from '../../core/telephony/types.js';
import { inboundSink } from '../../core/channels/sink.js';
import { attachmentsDirFor } from '../../core/channels/attachments.js';

export interface BotDeps {
  services: Services;
  token: string;
  apiRoot: string;
  /** known bot identity: skips getMe (tests, and webhook processes that must not call out at start) */
  botInfo?: BotConfig<BotContext>['botInfo'];
  /** features for staff added by other modules (e.g. replying to clients) */
  staffFeatures?: Composer<BotContext>[];
  /** what clients (unlinked users) get: the inbound pipeline */
  clientFeatures?: Composer<BotContext>;
  /** a staff member's plain text that no dialogue consumed (e.g. a reply to a client notification) */
  onStaffText?: (ctx: BotContext) => Promise<boolean>;
  /** R20: the telephony providers that place calls («📞 Позвонить», /call) */
  telephony?: TelephonyClients;
}

/**
 * One bot, two kinds of people: a Telegram user linked to a CRM user is staff, anyone else is a
 * client. Every verb runs as the linked user, so the core's access rules decide what is shown.
 */
export function createBot(deps: BotDeps): Bot<BotContext> {
  const bot = new Bot<BotContext>(deps.token, { client: { apiRoot: deps.apiRoot }, ...(deps.botInfo ? { botInfo: deps.botInfo } : {}) });
  const { services } = deps;
  const log = services.log.child({ role: 'telegram' });

  const canCall = Object.values(deps.telephony ?? {}).some(Boolean);
  bot.use(async (ctx, next) => {
    ctx.crm = services.ctx(systemActor('Telegram'));
    ctx.canCall = canCall;
    // a business chat's sender may be a linked manager writing to a client: never a staff command
    if (ctx.from && ctx.chat?.type === 'private' && !isBusinessUpdate(ctx)) {
      const user = await findUserByTelegramId(ctx.crm, ctx.from.id);
      if (user) {
        ctx.staff = user;
        ctx.crm = services.ctx(userActor(user));
      }
    }
    await next();
  });

  // One boundary: people get a short Russian answer, the log gets the detail.
  const safe = bot.errorBoundary(async (err) => {
    const ctx = err.ctx;
    const e = err.error;
    let text = 'Что-то пошло не так. Попробуйте ещё раз чуть позже.';
    if (isServiceError(e)) text = (e.code === 'not_found' ? `${e.message}. Возможно, запись удалена или номер неверный.` : e.message) + fixHint(e.fix, services.config.PUBLIC_URL);
    else log.error({ err: e, updateId: ctx.update.update_id }, 'telegram handler failed');
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: text.slice(0, 190), show_alert: false }).catch(() => {});
    await ctx.reply(`⚠️ ${text}`).catch((sendErr) => log.warn({ err: sendErr }, 'could not tell the user about an error'));
  });

  // Telegram Business updates are a manager's own chats with clients: handled apart, before any dialogue
  safe.use(businessChats({ services, sink: inboundSink(services, 'telegram', { attempts: 2 }), apiRoot: deps.apiRoot, token: deps.token }));
  safe.use(session({ initial: () => ({}), storage: dbSessionStorage(services.database.db), getSessionKey: (ctx) => (ctx.chat?.type === 'private' ? String(ctx.chat.id) : undefined) }));
  safe.use(start);

  const staff = safe.filter((ctx) => !!ctx.staff);
  const replies = chats({ apiRoot: deps.apiRoot, token: deps.token, attachmentsDir: attachmentsDirFor(services.config.DATA_DIR) });
  const tickets = ticketsFeature({ apiRoot: deps.apiRoot, token: deps.token, attachmentsDir: attachmentsDirFor(services.config.DATA_DIR), dataDir: services.config.DATA_DIR, rating: { publicUrl: services.config.PUBLIC_URL, secretKey: services.secretKey } });
  staff.use(replies.routing);
  // after the chats' reply targets: a reply to a ticket notice without a chat (e-mail) is answered by mail
  staff.use(tickets.routing);
  // tickets before the chats' features: a file awaited by a ticket's «Ответить» is not turned away there
  staff.use(help, leads, newlead, deals, works, notes, contacts, team, find, plan, tickets.features, replies.features, mail, ...(deps.staffFeatures ?? []));
  staff.use(dealDocuments({ dataDir: services.config.DATA_DIR, publicUrl: services.config.PUBLIC_URL }));
  staff.use(callsFeature({ telephony: deps.telephony ?? {}, dataDir: services.config.DATA_DIR, publicUrl: services.config.PUBLIC_URL }));
  staff.on('message:text', async (ctx) => {
    const flow = ctx.session.flow;
    const text = ctx.message.text;
    if (text.startsWith('/')) return ctx.reply('Неизвестная команда. Список команд: /help');
    if (flow?.kind === 'reply') return void (await replies.replyText(ctx));
    if (flow?.kind === 'ticket_reply') return tickets.ticketReplyStep(ctx, flow);
    if (flow?.kind === 'ticket_note') return ticketNoteStep(ctx, flow.ticketId, text);
    if (flow?.kind === 'newlead') return newleadStep(ctx, flow, text);
    if (flow?.kind === 'deal_amount') return dealAmountStep(ctx, flow.dealId, text);
    if (flow?.kind === 'work_deadline') return workDeadlineStep(ctx, flow.target, flow.actionId, text);
    if (flow?.kind === 'follow_up') return followUpStep(ctx, flow.workId, text);
    if (flow?.kind === 'work_move') return workMoveStep(ctx, flow.workId, text);
    if (flow?.kind === 'work_cancel') return workCancelStep(ctx, flow.workId, text);
    if (flow?.kind === 'deal_title') return dealTitleStep(ctx, flow.dealId, text);
    if (flow?.kind === 'deal_paid') return dealPaidStep(ctx, flow.dealId, text);
    if (flow?.kind === 'deal_lost') return dealLostStep(ctx, flow, text);
    if (flow?.kind === 'newdeal') return newDealStep(ctx, flow, text);
    if (flow?.kind === 'note') return noteStep(ctx, flow.target, text);
    if (flow?.kind === 'lead_cp') return leadCounterpartyStep(ctx, flow, text);
    if (flow?.kind === 'lead_close') return leadCloseStep(ctx, flow.leadId, text);
    if (flow?.kind === 'contact_edit') return contactEditStep(ctx, flow, text);
    if (flow?.kind === 'mail') return mailStep(ctx, flow, text);
    if (await replies.replyText(ctx)) return;
    if (deps.onStaffText && (await deps.onStaffText(ctx))) return;
    return ctx.reply('Не понял. Список команд: /help');
  });
  // a button whose handler is gone (an old message after an update) still gets an answer
  staff.on('callback_query:data', (ctx) => ctx.answerCallbackQuery({ text: 'Эта кнопка устарела. Откройте запись заново.' }));

  const clients = safe.filter((ctx) => !ctx.staff && ctx.chat?.type === 'private');
  clients.use(deps.clientFeatures ?? clientChat({ sink: inboundSink(services, 'telegram', { attempts: 2 }), apiRoot: deps.apiRoot, token: deps.token }));

  return bot;
}

/** Tells Telegram the staff command list (shown in the menu). */
export async function registerCommands(api: Api): Promise<void> {
  await api.setMyCommands(staffCommands, { scope: { type: 'all_private_chats' } });
}
