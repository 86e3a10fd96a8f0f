import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { dealCard, leadCard } from '../cards.js';
import { esc, html, leadStatusLabel, when } from '../format.js';
import { parseId } from '../ids.js';
import { addLeadParticipant, closeLead, convertLeadToDeal, listLeads, takeLead } from '../../../core/leads/leads.js';
import { listUsers } from '../../../core/users/users.js';

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
  const lead = await takeLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery('Лид ваш');
  await ctx.reply(`Лид №${lead.id} теперь ваш и в работе.`);
});

leads.callbackQuery(/^lead:close:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  await ctx.answerCallbackQuery();
  await ctx.reply(`Закрыть лид №${id}?`, { reply_markup: new InlineKeyboard().text('Да, закрыть', `lead:close!:${id}`).text('Нет', 'noop') });
});
leads.callbackQuery(/^lead:close!:(\d+)$/, async (ctx) => {
  const lead = await closeLead(ctx.crm, Number(ctx.match[1]), 'закрыт из Telegram');
  await ctx.answerCallbackQuery('Закрыт');
  await ctx.reply(`Лид №${lead.id} закрыт.`);
});

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
