import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Flow } from '../context.js';
import { inTransaction } from '../../../core/context.js';
import { dealCard, leadCard } from '../cards.js';
import { esc, html, leadStatusLabel, when } from '../format.js';
import { parseId } from '../ids.js';
import { addLeadParticipant, closeLead, convertLeadToDeal, getLead, listLeads, setLeadInProgress, takeLead, updateLead } from '../../../core/leads/leads.js';
import { listLossReasons } from '../../../core/deals/loss-reasons.js';
import { createCounterparty, listCounterparties } from '../../../core/counterparties/counterparties.js';
import { listUsers } from '../../../core/users/users.js';
import { ticketFromLead } from '../../../core/helpdesk/tickets.js';
import { ticketTitle } from '../../../core/helpdesk/labels.js';
import { ticketCardMessage } from './tickets.js';

const PAGE = 10;

export const leads = new Composer<BotContext>();

async function showLeads(ctx: BotContext, page: number) {
  const { items, total } = await listLeads(ctx.crm, { status: 'open', mineFor: ctx.staff!.id }, { limit: PAGE, offset: page * PAGE, withTotal: true });
  if (!items.length) return ctx.reply(page ? 'Больше лидов нет.' : 'Открытых лидов нет.');
  const kb = new InlineKeyboard();
  for (const l of items) kb.text(`№${l.id} ${l.title.slice(0, 40)}`, `lead:open:${l.id}`).row();
  if (page > 0) kb.text('← Назад', `leads:page:${page - 1}`);
  if ((page + 1) * PAGE < total!) kb.text('Дальше →', `leads:page:${page + 1}`);
  const lines = items.map((l) => `№${l.id} · ${esc(l.title)} · ${leadStatusLabel[l.status]} · ${when(ctx, l.createdAt)}`);
  return ctx.reply(`<b>Мои открытые лиды</b> (${total}, стр. ${page + 1} из ${Math.ceil(total! / PAGE)})\n${lines.join('\n')}`, { ...html, reply_markup: kb });
}

leads.command('leads', (ctx) => showLeads(ctx, 0));
leads.callbackQuery(/^leads:page:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await showLeads(ctx, Number(ctx.match[1]));
});

async function sendLead(ctx: BotContext, id: number) {
  const card = await leadCard(ctx, id);
  await ctx.reply(card.text, { ...html, reply_markup: card.keyboard });
}

leads.command('lead', (ctx) => sendLead(ctx, parseId(ctx.match, '/lead 42')));
leads.callbackQuery(/^lead:open:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await sendLead(ctx, Number(ctx.match[1]));
});

leads.callbackQuery(/^lead:take:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  const before = await getLead(ctx.crm, id);
  // my own new lead just goes «В работу»; anyone else's is taken over
  const lead = before.responsibleId === ctx.staff!.id ? await setLeadInProgress(ctx.crm, id) : await takeLead(ctx.crm, id);
  await ctx.answerCallbackQuery(before.responsibleId === ctx.staff!.id ? 'В работе' : 'Лид ваш');
  await ctx.reply(before.responsibleId === ctx.staff!.id ? `Лид №${lead.id} в работе.` : `Лид №${lead.id} теперь ваш и в работе.`);
});

/** «Закрыть»: why, from «Причины отказа», or in the manager's own words. */
leads.callbackQuery(/^lead:close:(\d+)$/, async (ctx) => {
  const lead = await getLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard();
  for (const r of await listLossReasons(ctx.crm)) kb.text(r.name, `lead:close!:${lead.id}:${r.id}`).row();
  kb.text('Другое — написать', `lead:closew:${lead.id}`).row().text('Не закрывать', 'noop');
  await ctx.reply(`Почему закрываем лид №${lead.id}?`, { reply_markup: kb });
});
// a button from before reasons existed closes without one
leads.callbackQuery(/^lead:close!:(\d+)(?::(\d+))?$/, async (ctx) => {
  const reasonId = ctx.match[2] ? Number(ctx.match[2]) : undefined;
  const lead = await closeLead(ctx.crm, Number(ctx.match[1]), reasonId ? { lossReasonId: reasonId } : 'закрыт из Telegram');
  await ctx.answerCallbackQuery('Закрыт');
  const reason = reasonId ? (await listLossReasons(ctx.crm, { includeArchived: true })).find((r) => r.id === reasonId) : undefined;
  await ctx.reply(`Лид №${lead.id} закрыт${reason ? `: ${esc(reason.name)}` : ''}.`, html);
});
leads.callbackQuery(/^lead:closew:(\d+)$/, async (ctx) => {
  const lead = await getLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'lead_close', leadId: lead.id };
  await ctx.reply(`Напишите причину закрытия лида №${lead.id}. /cancel — не закрывать`);
});

export async function leadCloseStep(ctx: BotContext, leadId: number, text: string): Promise<void> {
  if (!text.trim()) return void (await ctx.reply('Напишите причину или /cancel.'));
  const other = (await listLossReasons(ctx.crm)).find((r) => r.name === 'Другое');
  const lead = await closeLead(ctx.crm, leadId, { lossReasonId: other?.id ?? null, comment: text });
  ctx.session.flow = undefined;
  await ctx.reply(`Лид №${lead.id} закрыт: ${esc(text.trim())}.`, html);
}

/** «Контрагент»: a lead from a messenger gets its company, a new one or one already in the base. */
leads.callbackQuery(/^lead:cp:(\d+)$/, async (ctx) => {
  const lead = await getLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard().text('Создать нового', `lead:cpnew:${lead.id}`).text('Найти в базе', `lead:cpfind:${lead.id}`);
  await ctx.reply(`Контрагент для лида №${lead.id}: создать нового или найти в базе?`, { reply_markup: kb });
});
leads.callbackQuery(/^lead:cp(new|find):(\d+)$/, async (ctx) => {
  const lead = await getLead(ctx.crm, Number(ctx.match[2]));
  await ctx.answerCallbackQuery();
  const creating = ctx.match[1] === 'new';
  ctx.session.flow = { kind: 'lead_cp', leadId: lead.id, step: creating ? 'name' : 'search' };
  await ctx.reply(creating ? 'Название контрагента? (/cancel — отменить)' : 'Название или ИНН для поиска? (/cancel — отменить)');
});
leads.callbackQuery(/^lead:cpset:(\d+):(\d+)$/, async (ctx) => {
  const lead = await updateLead(ctx.crm, Number(ctx.match[1]), { counterpartyId: Number(ctx.match[2]) });
  ctx.session.flow = undefined;
  await ctx.answerCallbackQuery('Привязан');
  await replyLinked(ctx, lead.id);
});

async function replyLinked(ctx: BotContext, leadId: number) {
  const card = await leadCard(ctx, leadId);
  await ctx.reply(`Контрагент привязан к лиду №${leadId}.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
}

/**
 * Counterparties found by name or INN, as buttons whose data `data` spells; when the text is too short
 * or nothing matches, says so itself and gives null.
 */
export async function counterpartyChoices(ctx: BotContext, text: string, data: (counterpartyId: number) => string): Promise<InlineKeyboard | null> {
  const t = text.trim();
  if (t.length < 2) {
    await ctx.reply('Напишите хотя бы 2 символа названия или ИНН.');
    return null;
  }
  const { items } = await listCounterparties(ctx.crm, { text: t }, { limit: 8 });
  if (!items.length) {
    await ctx.reply(`По запросу «${esc(t)}» контрагентов не нашлось. Напишите иначе или /cancel.`, html);
    return null;
  }
  const kb = new InlineKeyboard();
  for (const c of items) kb.text(`${c.name.slice(0, 40)}${c.inn ? ` · ${c.inn}` : ''}`, data(c.id)).row();
  return kb;
}

const skip = (t: string) => ['-', '—', 'нет', 'пропустить'].includes(t.trim().toLowerCase());

export async function leadCounterpartyStep(ctx: BotContext, flow: Extract<Flow, { kind: 'lead_cp' }>, text: string): Promise<void> {
  const t = text.trim();
  if (flow.step === 'search') {
    const kb = await counterpartyChoices(ctx, t, (cpId) => `lead:cpset:${flow.leadId}:${cpId}`);
    if (kb) await ctx.reply(`Какого привязать к лиду №${flow.leadId}?`, { reply_markup: kb });
    return;
  }
  if (flow.step === 'name') {
    if (!t) return void (await ctx.reply('Название не может быть пустым. Название контрагента?'));
    ctx.session.flow = { ...flow, step: 'inn', name: t };
    return void (await ctx.reply('ИНН? (10 цифр у организации, 12 у ИП; или «-», если не знаете)'));
  }
  const inn = skip(t) ? undefined : t.replace(/\s/g, '');
  if (inn !== undefined && !/^(\d{10}|\d{12})$/.test(inn)) return void (await ctx.reply('ИНН — это 10 или 12 цифр. Напишите ещё раз или «-».'));
  // both or neither: a refused link leaves no stray counterparty behind
  await inTransaction(ctx.crm, async (tx) => {
    await getLead(tx, flow.leadId);
    const cp = await createCounterparty(tx, { kind: inn?.length === 12 ? 'sole_proprietor' : 'legal_entity', name: flow.name!, ...(inn ? { inn } : {}) });
    await updateLead(tx, flow.leadId, { counterpartyId: cp.id });
  });
  ctx.session.flow = undefined;
  await replyLinked(ctx, flow.leadId);
}

leads.callbackQuery(/^lead:conv:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  await ctx.answerCallbackQuery();
  await ctx.reply(`Перевести лид №${id} в сделку?`, { reply_markup: new InlineKeyboard().text('Да, создать сделку', `lead:conv!:${id}`).text('Нет', 'noop') });
});
leads.callbackQuery(/^lead:conv!:(\d+)$/, async (ctx) => {
  const { deal } = await convertLeadToDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery('Сделка создана');
  const card = await dealCard(ctx, deal.id);
  await ctx.reply(`Создана сделка №${deal.id}.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
});

/** «Сделать обращением»: asked first, as the panel does, since the lead's chat moves to the ticket. */
leads.callbackQuery(/^lead:ticket:(\d+)$/, async (ctx) => {
  const lead = await getLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  await ctx.reply(`Это не продажа, а обращение клиента? Переписка лида №${lead.id} перейдёт в обращение.`, {
    reply_markup: new InlineKeyboard().text('Да, сделать обращением', `lead:ticket!:${lead.id}`).text('Нет', 'noop'),
  });
});
leads.callbackQuery(/^lead:ticket!:(\d+)$/, async (ctx) => {
  const ticket = await ticketFromLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery('Обращение создано');
  const card = await ticketCardMessage(ctx, ticket.id);
  await ctx.reply(`${ticketTitle(ticket.id)} создано из лида №${ctx.match[1]}.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
});

leads.callbackQuery(/^lead:addp:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  await ctx.answerCallbackQuery();
  const people = (await listUsers(ctx.crm, { activeOnly: true })).filter((u) => u.id !== ctx.staff!.id);
  if (!people.length) return ctx.reply('Некого добавить.');
  const kb = new InlineKeyboard();
  for (const u of people.slice(0, 30)) kb.text(u.name, `lead:addp:${id}:${u.id}`).row();
  await ctx.reply(`Кого добавить в участники лида №${id}?`, { reply_markup: kb });
});
leads.callbackQuery(/^lead:addp:(\d+):(\d+)$/, async (ctx) => {
  await addLeadParticipant(ctx.crm, Number(ctx.match[1]), Number(ctx.match[2]));
  await ctx.answerCallbackQuery('Добавлен');
  await ctx.reply(`Участник добавлен в лид №${ctx.match[1]}.`);
});

leads.callbackQuery('noop', (ctx) => ctx.answerCallbackQuery('Отменено'));
