import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, WorkTarget } from '../context.js';
import { workLine } from '../cards.js';
import { esc, html, when } from '../format.js';
import { parseDeadline } from '../dates.js';
import { allowedResults, listActions } from '../../../core/works/actions.js';
import { completeWork, createFollowUpWork, createWork, getWork, listWorks } from '../../../core/works/works.js';
import { dateInZone, startOfDayInZone } from '../../../core/validation/time.js';
import { getLead } from '../../../core/leads/leads.js';
import { getDeal } from '../../../core/deals/deals.js';
import { getCounterparty } from '../../../core/counterparties/counterparties.js';

export const works = new Composer<BotContext>();

const tz = (ctx: BotContext) => ctx.staff?.timeZone ?? 'Europe/Moscow';
const deadlineHint = 'Срок: например «завтра 10:00», «25.12 14:30» или «25.12.2026 14:30». /cancel — отменить';

works.command('works', async (ctx) => {
  const now = ctx.crm.clock.now();
  const tomorrow = dateInZone(new Date(now.getTime() + 86_400_000), tz(ctx));
  const due = await listWorks(ctx.crm, { responsibleId: ctx.staff!.id, dueBefore: startOfDayInZone(tomorrow, tz(ctx)) }, { limit: 20 });
  if (!due.length) return ctx.reply('На сегодня работ нет, просроченных тоже. 👍');
  const overdue = due.filter((w) => w.deadline < now).length;
  await ctx.reply(`<b>Работы на сегодня</b>: ${due.length}${overdue ? `, из них просрочено: ${overdue}` : ''}`, html);
  for (const w of due) {
    const line = await workLine(ctx, w);
    await ctx.reply(line.text, { ...html, reply_markup: line.keyboard });
  }
});

works.callbackQuery(/^work:done:(\d+)$/, async (ctx) => {
  const work = await getWork(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  if (work.status !== 'planned') return ctx.reply(`Работа №${work.id} уже завершена.`);
  const results = await allowedResults(ctx.crm, work.actionId);
  if (!results.length) return ctx.reply('У действия этой работы нет результатов в справочнике: попросите администратора добавить их.');
  const kb = new InlineKeyboard();
  for (const r of results) kb.text(r.name, `work:res:${work.id}:${r.id}`).row();
  await ctx.reply(`Результат работы №${work.id}:`, { reply_markup: kb });
});

works.callbackQuery(/^work:res:(\d+):(\d+)$/, async (ctx) => {
  const work = await completeWork(ctx.crm, Number(ctx.match[1]), { resultId: Number(ctx.match[2]) });
  await ctx.answerCallbackQuery('Выполнено');
  await ctx.reply(`Работа №${work.id} выполнена.`, { reply_markup: new InlineKeyboard().text('Работа на основании', `work:follow:${work.id}`) });
});

works.callbackQuery(/^work:follow:(\d+)$/, async (ctx) => {
  const work = await getWork(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'follow_up', workId: work.id };
  await ctx.reply(`Новая работа на основании №${work.id} (то же действие, клиент и комментарий). ${deadlineHint}`);
});

works.callbackQuery(/^work:new:(lead|deal|cp):(\d+)$/, async (ctx) => {
  const target: WorkTarget = { type: ctx.match[1] as WorkTarget['type'], id: Number(ctx.match[2]) };
  // the record must be visible before offering to plan on it
  if (target.type === 'lead') await getLead(ctx.crm, target.id);
  else if (target.type === 'deal') await getDeal(ctx.crm, target.id);
  else await getCounterparty(ctx.crm, target.id);
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard();
  for (const a of await listActions(ctx.crm)) kb.text(a.name, `work:act:${target.type}:${target.id}:${a.id}`).row();
  await ctx.reply('Какое действие запланировать?', { reply_markup: kb });
});

works.callbackQuery(/^work:act:(lead|deal|cp):(\d+):(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'work_deadline', target: { type: ctx.match[1] as WorkTarget['type'], id: Number(ctx.match[2]) }, actionId: Number(ctx.match[3]) };
  await ctx.reply(deadlineHint);
});

function readDeadline(ctx: BotContext, text: string): Date | null {
  return parseDeadline(text, ctx.crm.clock.now(), tz(ctx));
}

export async function workDeadlineStep(ctx: BotContext, target: WorkTarget, actionId: number, text: string) {
  const deadline = readDeadline(ctx, text);
  if (!deadline) return void (await ctx.reply(`Не понял срок. ${deadlineHint}`));
  const link = target.type === 'lead' ? { leadId: target.id } : target.type === 'deal' ? { dealId: target.id } : { counterpartyId: target.id };
  const work = await createWork(ctx.crm, { actionId, deadline, ...link });
  ctx.session.flow = undefined;
  await ctx.reply(`Работа №${work.id} запланирована на ${esc(when(ctx, work.deadline))}.`, html);
}

export async function followUpStep(ctx: BotContext, workId: number, text: string) {
  const deadline = readDeadline(ctx, text);
  if (!deadline) return void (await ctx.reply(`Не понял срок. ${deadlineHint}`));
  const work = await createFollowUpWork(ctx.crm, workId, { deadline });
  ctx.session.flow = undefined;
  await ctx.reply(`Работа №${work.id} на основании №${workId} запланирована на ${esc(when(ctx, work.deadline))}.`, html);
}
