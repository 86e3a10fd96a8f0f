import { Composer, InlineKeyboard } from 'grammy';
import type { Message } from 'grammy/types';
import type { BotContext, Flow } from '../context.js';
import { esc, html, when } from '../format.js';
import { parseId } from '../ids.js';
import { managerFiles } from '../files.js';
import { REPLY_WINDOW_MS } from './chats.js';
import { ticketNoticeTitles } from '../notifications.js';
import { ServiceError } from '../../../core/errors.js';
import { messageChanges } from '../../../core/history/marks.js';
import { leadFromTicket, listTickets, replyToTicket, ticketCard, updateTicket, getTicket } from '../../../core/helpdesk/tickets.js';
import { fillAnswerTemplate, getAnswerTemplate, listAnswerTemplates } from '../../../core/helpdesk/templates.js';
import { ticketChannelLabels, ticketPriorityLabels, ticketStatusLabels, ticketTitle } from '../../../core/helpdesk/labels.js';
import { ticketPriorities, ticketStatuses, type TicketEntry, type TicketListItem, type TicketPriority, type TicketStatus } from '../../../core/helpdesk/types.js';
import { addNote } from '../../../core/notes/notes.js';
import { listUsers } from '../../../core/users/users.js';

export interface TicketsOptions {
  apiRoot: string;
  token: string;
  attachmentsDir: string;
  dataDir: string;
  /** for the rating link of an e-mail ticket's «Решено» letter */
  rating: { publicUrl?: string | undefined; secretKey: string };
}

const PAGE = 15;
const ENTRIES = 5;
type ListView = 'mine' | 'all' | 'overdue';

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const clientOf = (t: { contactName: string | null; counterpartyName: string | null }) =>
  t.contactName && t.counterpartyName ? `${t.contactName} (${t.counterpartyName})` : (t.contactName ?? t.counterpartyName ?? 'клиент не указан');

/** «Мои» for everyone; head and admin see the whole desk by default. */
const seesAll = (ctx: BotContext) => ctx.staff?.role === 'head' || ctx.staff?.role === 'admin';

/** The ticket a bot notice is about: a notice of a ticket kind carries exactly one «Открыть обращение». */
function ticketOfNotice(ctx: BotContext, replied: Message | undefined): number | null {
  if (!replied || replied.from?.id !== ctx.me.id) return null;
  const text = replied.text ?? '';
  if (!ticketNoticeTitles.some((t) => text.startsWith(t))) return null;
  const ids = new Set<number>();
  for (const b of replied.reply_markup?.inline_keyboard.flat() ?? []) {
    const m = 'callback_data' in b ? /^ticket:open:(\d+)$/.exec(b.callback_data) : null;
    if (m) ids.add(Number(m[1]));
  }
  return ids.size === 1 ? [...ids][0]! : null;
}

function entryLine(ctx: BotContext, e: TicketEntry): string {
  const who = e.kind === 'note' ? `📝 ${e.authorName ?? 'заметка'}` : e.direction === 'in' ? '👤 Клиент' : `↩️ ${e.authorName ?? 'CRM'}`;
  const body = [e.subject ? `«${e.subject}»` : '', e.text ?? ''].filter(Boolean).join(' ');
  // «изменено», «удалено клиентом» / «удалено менеджером»: worded once for the panel and the bot
  const marks = e.kind === 'message' ? messageChanges(e).map((m) => ` (${m.label})`).join('') : '';
  const files = e.attachments.length ? ` 📎${e.attachments.length}` : '';
  return `• ${when(ctx, e.at)} ${esc(who)}: ${esc(cut(body.replace(/\s+/g, ' ').trim(), 200))}${esc(marks)}${files}${e.deliveryStatus === 'failed' ? ' ❌ не доставлено' : ''}`;
}

/** «до 12.05 14:00», with ⚠️ when the target passed unmet. */
function dueText(ctx: BotContext, due: Date | null, now: Date): string {
  if (!due) return '—';
  return `до ${when(ctx, due)}${due < now ? ' ⚠️ просрочено' : ''}`;
}

export async function ticketCardMessage(ctx: BotContext, id: number): Promise<{ text: string; keyboard: InlineKeyboard }> {
  const card = await ticketCard(ctx.crm, id);
  const t = card.ticket;
  const now = ctx.crm.clock.now();
  const lines = [
    `<b>${ticketTitle(t.id)}</b>: ${esc(t.subject)}`,
    `Клиент: ${esc(clientOf(card))}`,
    `Канал: ${ticketChannelLabels[t.channel]} · Статус: ${ticketStatusLabels[t.status]} · Приоритет: ${ticketPriorityLabels[t.priority]}`,
    `Ответственный: ${esc(card.assigneeName ?? 'не назначен')}`,
    t.firstResponseAt ? `Первый ответ: ${when(ctx, t.firstResponseAt)}` : `Первый ответ: ${dueText(ctx, t.firstResponseDueAt, now)}`,
    t.solvedAt
      ? `Решено: ${when(ctx, t.solvedAt)}`
      : t.status === 'waiting'
        ? 'Решение: срок на паузе, ждём клиента'
        : `Решение: ${dueText(ctx, t.resolutionDueAt, now)}`,
  ];
  if (t.rating) lines.push(`Оценка клиента: ${t.rating} из 5`);
  if (t.leadId) lines.push(`Лид: /lead ${t.leadId}`);
  const last = card.entries.slice(-ENTRIES);
  if (last.length) lines.push('', `<b>Переписка</b>${card.entries.length > ENTRIES ? ` (последние ${ENTRIES} из ${card.entries.length})` : ''}`, ...last.map((e) => entryLine(ctx, e)));
  if (!card.canReply && card.cannotReplyReason) lines.push('', `Ответить из CRM нельзя: ${esc(card.cannotReplyReason)}`);
  const kb = new InlineKeyboard();
  if (card.canReply) kb.text('✍️ Ответить', `ticket:reply:${t.id}`).text('📋 Шаблон', `ticket:tpl:${t.id}`).row();
  kb.text('Статус', `ticket:st:${t.id}`).text('Приоритет', `ticket:pr:${t.id}`).text('Назначить', `ticket:as:${t.id}`).row();
  kb.text('📝 Заметка', `ticket:note:${t.id}`);
  if (!t.leadId && t.status !== 'closed') kb.text('Сделать лидом', `ticket:lead:${t.id}`);
  return { text: lines.join('\n'), keyboard: kb };
}

/**
 * R23 «Обращения» in the bot: /tickets and /ticket N, the card with its buttons, the answer to the
 * client (typed, or from a template), and a Telegram reply to a ticket notice — the way to answer an
 * e-mail ticket, which has no chat to remember as a reply target.
 */
export function ticketsFeature(opts: TicketsOptions) {
  const routing = new Composer<BotContext>();
  const features = new Composer<BotContext>();

  const filesFrom = (ctx: BotContext, m: Message) => managerFiles(ctx.api, opts.apiRoot, opts.token, m);

  async function sendAnswer(ctx: BotContext, ticketId: number, m: Message) {
    const files = await filesFrom(ctx, m);
    const text = m.text ?? m.caption ?? '';
    if (!text.trim() && !files.length) throw new ServiceError('invalid', 'Такое сообщение клиенту не переслать: пришлите текст, фото или документ.');
    const sent = await replyToTicket(ctx.crm, ticketId, { text }, { files, attachmentsDir: opts.attachmentsDir, dataDir: opts.dataDir });
    await ctx.reply(sent.emailId ? `Письмо по обращению №${ticketId} отправляю клиенту. Если не дойдёт, я сообщу.` : `Ответ по обращению №${ticketId} отправляю клиенту. Если не дойдёт, я сообщу.`);
  }

  routing.use(async (ctx, next) => {
    const m = ctx.message;
    const isCommand = m?.text?.startsWith('/') ?? false;
    // as with a chat's «Ответить»: any other command, button or reply cancels a pending answer
    if (ctx.session.flow?.kind === 'ticket_reply') {
      const data = ctx.callbackQuery?.data;
      if (isCommand || (data !== undefined && !data.startsWith('ticket:reply:')) || m?.reply_to_message) ctx.session.flow = undefined;
    }
    // a reply to a ticket notice that has no chat behind it (an e-mail ticket): the answer goes by mail
    const ticketId = m && !isCommand ? ticketOfNotice(ctx, m.reply_to_message) : null;
    if (m && ticketId) return sendAnswer(ctx, ticketId, m);
    return next();
  });

  async function showList(ctx: BotContext, view: ListView, page: number, edit = false) {
    const all = seesAll(ctx);
    const mine = view === 'mine' || (!all && view !== 'all');
    const { rows, total } = await listTickets(ctx.crm, {
      status: 'open',
      ...(mine ? { assigneeId: ctx.staff!.id } : {}),
      ...(view === 'overdue' ? { overdue: true } : {}),
      limit: PAGE,
      offset: page * PAGE,
    });
    const title = view === 'overdue' ? (mine ? 'Мои просроченные обращения' : 'Просроченные обращения') : mine ? 'Мои открытые обращения' : 'Все открытые обращения';
    const kb = new InlineKeyboard();
    for (const t of rows) kb.text(`№${t.id} ${cut(t.subject, 40)}`, `ticket:open:${t.id}`).row();
    if (page > 0) kb.text('← Назад', `tickets:${view}:${page - 1}`);
    if ((page + 1) * PAGE < total) kb.text('Дальше →', `tickets:${view}:${page + 1}`);
    if (page > 0 || (page + 1) * PAGE < total) kb.row();
    if (all) kb.text('Все', 'tickets:all:0').text('Мои', 'tickets:mine:0').text('Просроченные', 'tickets:overdue:0');
    else kb.text(view === 'overdue' ? 'Все мои' : 'Просроченные', view === 'overdue' ? 'tickets:mine:0' : 'tickets:overdue:0');
    const lines = rows.map((t) => listLine(ctx, t));
    const text = rows.length
      ? `<b>${title}</b> (${total}${total > PAGE ? `, стр. ${page + 1} из ${Math.ceil(total / PAGE)}` : ''})\n${lines.join('\n')}`
      : `<b>${title}</b>\n${page ? 'Больше обращений нет.' : 'Нет ни одного.'}`;
    if (edit) await ctx.editMessageText(text, { ...html, reply_markup: kb }).catch(() => ctx.reply(text, { ...html, reply_markup: kb }));
    else await ctx.reply(text, { ...html, reply_markup: kb });
  }

  function listLine(ctx: BotContext, t: TicketListItem): string {
    const due = t.dueAt ? `${t.overdue ? '⚠️ ' : ''}${when(ctx, t.dueAt)}` : '—';
    const client = t.contactName ?? t.counterpartyName ?? '—';
    return `№${t.id} · ${ticketStatusLabels[t.status]} · ${esc(cut(client, 30))} · ${esc(cut(t.subject, 50))} · ${due}`;
  }

  features.command('tickets', (ctx) => showList(ctx, seesAll(ctx) ? 'all' : 'mine', 0));
  features.callbackQuery(/^tickets:(mine|all|overdue):(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await showList(ctx, ctx.match[1] as ListView, Number(ctx.match[2]), true);
  });

  async function sendCard(ctx: BotContext, id: number, prefix = '') {
    const card = await ticketCardMessage(ctx, id);
    await ctx.reply(prefix + card.text, { ...html, reply_markup: card.keyboard });
  }

  features.command('ticket', (ctx) => sendCard(ctx, parseId(ctx.match, '/ticket 12')));
  features.callbackQuery(/^ticket:open:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await sendCard(ctx, Number(ctx.match[1]));
  });

  features.callbackQuery(/^ticket:reply:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    ctx.session.flow = { kind: 'ticket_reply', ticketId: t.id, at: new Date().toISOString() };
    await ctx.reply(`Напишите ответ по обращению №${t.id} (${ticketChannelLabels[t.channel]}) или пришлите файл. /cancel — отменить`);
  });

  /** A file while «✍️ Ответить» waits: it goes to the client (text comes through the bot's text dispatch). */
  features.on('message', async (ctx, next) => {
    const flow = ctx.session.flow;
    if (ctx.message.text !== undefined || flow?.kind !== 'ticket_reply') return next();
    await ticketReplyStep(ctx, flow);
  });

  /** The awaited answer, within the reply window. */
  async function ticketReplyStep(ctx: BotContext, flow: Extract<Flow, { kind: 'ticket_reply' }>): Promise<void> {
    ctx.session.flow = undefined;
    if (!flow.at || Date.now() - Date.parse(flow.at) > REPLY_WINDOW_MS) {
      await ctx.reply('Ответ не отправлен: кнопка «Ответить» ждёт не дольше 5 минут. Нажмите её ещё раз.');
      return;
    }
    await sendAnswer(ctx, flow.ticketId, ctx.message!);
  }

  // «📋 Шаблон»: the book → one → a preview of the filled text → «Отправить»
  features.callbackQuery(/^ticket:tpl:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    const list = await listAnswerTemplates(ctx.crm);
    await ctx.answerCallbackQuery();
    if (!list.length) return void (await ctx.reply('Шаблонов ответов пока нет: их заводит руководитель в панели.'));
    const kb = new InlineKeyboard();
    for (const a of list.slice(0, 30)) kb.text(cut(a.title, 50), `ticket:tplv:${t.id}:${a.id}`).row();
    await ctx.reply(`Шаблон ответа по обращению №${t.id}:`, { reply_markup: kb });
  });
  features.callbackQuery(/^ticket:tplv:(\d+):(\d+)$/, async (ctx) => {
    const ticketId = Number(ctx.match[1]);
    const tpl = await getAnswerTemplate(ctx.crm, Number(ctx.match[2]));
    const text = await fillAnswerTemplate(ctx.crm, tpl.id, ticketId);
    await ctx.answerCallbackQuery();
    const kb = new InlineKeyboard().text('Отправить', `ticket:tpls:${ticketId}:${tpl.id}`).text('Отмена', `ticket:tplx:${ticketId}`);
    await ctx.reply(`<b>${esc(tpl.title)}</b> — клиент получит по обращению №${ticketId}:\n\n${esc(text)}`, { ...html, reply_markup: kb });
  });
  features.callbackQuery(/^ticket:tpls:(\d+):(\d+)$/, async (ctx) => {
    const ticketId = Number(ctx.match[1]);
    const sent = await replyToTicket(ctx.crm, ticketId, { text: '', templateId: Number(ctx.match[2]) }, { attachmentsDir: opts.attachmentsDir, dataDir: opts.dataDir });
    await ctx.answerCallbackQuery('Отправляю');
    await ctx.editMessageReplyMarkup().catch(() => {});
    await ctx.reply(sent.emailId ? `Письмо по обращению №${ticketId} отправляю клиенту.` : `Ответ по обращению №${ticketId} отправляю клиенту.`);
  });
  features.callbackQuery(/^ticket:tplx:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery('Не отправлено');
    await ctx.editMessageReplyMarkup().catch(() => {});
  });

  // «Статус», «Приоритет», «Назначить»: a choice, then the card again
  features.callbackQuery(/^ticket:st:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    const kb = new InlineKeyboard();
    for (const s of ticketStatuses) kb.text(`${s === t.status ? '• ' : ''}${ticketStatusLabels[s]}`, `ticket:st:${t.id}:${s}`).row();
    await ctx.reply(`Статус обращения №${t.id}:`, { reply_markup: kb });
  });
  features.callbackQuery(/^ticket:st:(\d+):(\w+)$/, async (ctx) => {
    const status = ctx.match[2] as TicketStatus;
    if (!ticketStatuses.includes(status)) throw new ServiceError('invalid', 'Такого статуса нет.');
    const t = await updateTicket(ctx.crm, Number(ctx.match[1]), { status }, opts.rating);
    await ctx.answerCallbackQuery(ticketStatusLabels[t.status]);
    await ctx.editMessageReplyMarkup().catch(() => {});
    await sendCard(ctx, t.id, `Статус: ${ticketStatusLabels[t.status]}${t.status === 'solved' && t.ratingRequestedAt ? ', клиента попросили оценить ответ' : ''}.\n\n`);
  });

  features.callbackQuery(/^ticket:pr:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    const kb = new InlineKeyboard();
    for (const p of ticketPriorities) kb.text(`${p === t.priority ? '• ' : ''}${ticketPriorityLabels[p]}`, `ticket:pr:${t.id}:${p}`);
    await ctx.reply(`Приоритет обращения №${t.id} (сроки пересчитаются):`, { reply_markup: kb });
  });
  features.callbackQuery(/^ticket:pr:(\d+):(\w+)$/, async (ctx) => {
    const priority = ctx.match[2] as TicketPriority;
    if (!ticketPriorities.includes(priority)) throw new ServiceError('invalid', 'Такого приоритета нет.');
    const t = await updateTicket(ctx.crm, Number(ctx.match[1]), { priority });
    await ctx.answerCallbackQuery(ticketPriorityLabels[t.priority]);
    await ctx.editMessageReplyMarkup().catch(() => {});
    await sendCard(ctx, t.id, `Приоритет: ${ticketPriorityLabels[t.priority]}.\n\n`);
  });

  features.callbackQuery(/^ticket:as:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    // a manager may only take a ticket; the head and admins give it to anyone
    if (!seesAll(ctx)) {
      await ctx.answerCallbackQuery();
      if (t.assigneeId === ctx.staff!.id) return void (await ctx.reply(`Обращение №${t.id} уже ваше. Передать его другому может руководитель.`));
      return void (await ctx.reply(`Взять обращение №${t.id} себе?`, { reply_markup: new InlineKeyboard().text('Взять себе', `ticket:as:${t.id}:${ctx.staff!.id}`) }));
    }
    const people = await listUsers(ctx.crm, { activeOnly: true });
    await ctx.answerCallbackQuery();
    const kb = new InlineKeyboard();
    people.slice(0, 40).forEach((u, i) => {
      kb.text(`${u.id === t.assigneeId ? '• ' : ''}${cut(u.name, 30)}`, `ticket:as:${t.id}:${u.id}`);
      if (i % 2 === 1) kb.row();
    });
    await ctx.reply(`Кому передать обращение №${t.id}?`, { reply_markup: kb });
  });
  features.callbackQuery(/^ticket:as:(\d+):(\d+)$/, async (ctx) => {
    const t = await updateTicket(ctx.crm, Number(ctx.match[1]), { assigneeId: Number(ctx.match[2]) });
    const card = await ticketCard(ctx.crm, t.id);
    await ctx.answerCallbackQuery('Назначено');
    await ctx.editMessageReplyMarkup().catch(() => {});
    await ctx.reply(`Обращение №${t.id} назначено: ${esc(card.assigneeName ?? '—')}.`, html);
  });

  features.callbackQuery(/^ticket:note:(\d+)$/, async (ctx) => {
    const t = await getTicket(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    ctx.session.flow = { kind: 'ticket_note', ticketId: t.id };
    await ctx.reply(`Текст заметки к обращению №${t.id}? Клиент её не увидит. (/cancel — отменить)`);
  });

  features.callbackQuery(/^ticket:lead:(\d+)$/, async (ctx) => {
    const leadId = await leadFromTicket(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery('Лид создан');
    await ctx.editMessageReplyMarkup().catch(() => {});
    await ctx.reply(`Из обращения №${ctx.match[1]} сделан лид №${leadId}, обращение закрыто.`, { reply_markup: new InlineKeyboard().text('Открыть лид', `lead:open:${leadId}`) });
  });

  return { routing, features, ticketReplyStep };
}

/** The note typed after «📝 Заметка». */
export async function ticketNoteStep(ctx: BotContext, ticketId: number, text: string): Promise<void> {
  if (!text.trim()) return void (await ctx.reply('Заметка пустая. Напишите текст или /cancel.'));
  await addNote(ctx.crm, 'ticket', ticketId, text);
  ctx.session.flow = undefined;
  await ctx.reply(`Заметка к обращению №${ticketId} сохранена.`);
}
