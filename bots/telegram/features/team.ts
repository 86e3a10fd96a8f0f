import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { esc, html } from '../format.js';
import { teamOverview } from '../../../core/leads/team.js';
import { assignLead, getLead } from '../../../core/leads/leads.js';
import { forbidden } from '../../../core/errors.js';
import { getUser } from '../../../core/users/users.js';
import { handOverKeyboard, isHead } from '../cards.js';

/** The head's day: who has what open, which chats wait for an answer, whose works are late; handing leads over. */
export const team = new Composer<BotContext>();

team.command('team', async (ctx) => {
  const t = await teamOverview(ctx.crm);
  const lines = t.members.map(
    (m) => `${m.name ? `<b>${esc(m.name)}</b>` : '<b>Без ответственного</b>'}: лидов ${m.openLeads}, ждут ответа ${m.awaitingReply}, просрочено работ ${m.overdueWorks}`,
  );
  const kb = new InlineKeyboard();
  for (const a of t.awaiting) kb.text(`№${a.leadId} ${a.title.slice(0, 30)} · ${(a.responsibleName ?? 'никто').slice(0, 20)}`, `lead:open:${a.leadId}`).row();
  const waiting = t.awaiting.length
    ? `\n\n<b>Ждут ответа</b>\n${t.awaiting.map((a) => `№${a.leadId} · ${esc(a.title)} · ${esc(a.responsibleName ?? 'без ответственного')}`).join('\n')}`
    : '\n\nНеотвеченных переписок нет.';
  await ctx.reply(`<b>Команда</b>\n${lines.join('\n') || 'Менеджеров нет.'}${waiting}`, { ...html, reply_markup: kb });
});

team.callbackQuery(/^lead:pass:(\d+)$/, async (ctx) => {
  if (!isHead(ctx)) throw forbidden('Передать лид может руководитель');
  const lead = await getLead(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = await handOverKeyboard(ctx, lead.responsibleId, (userId) => `lead:passto:${lead.id}:${userId}`);
  if (!kb) return ctx.reply('Передать некому.');
  await ctx.reply(`Кому передать лид №${lead.id}?`, { reply_markup: kb });
});

team.callbackQuery(/^lead:passto:(\d+):(\d+)$/, async (ctx) => {
  const lead = await assignLead(ctx.crm, Number(ctx.match[1]), Number(ctx.match[2]));
  const u = lead.responsibleId ? await getUser(ctx.crm, lead.responsibleId) : null;
  await ctx.answerCallbackQuery('Передан');
  await ctx.reply(`Лид №${lead.id} передан: ${esc(u?.name ?? '')}.`, html);
});
