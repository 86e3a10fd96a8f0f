import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, WorkTarget } from '../context.js';
import { requireVisible, workLine } from '../cards.js';
import { esc, html, when } from '../format.js';
import { parseDeadline } from '../dates.js';
import { allowedResults, listActions } from '../../../core/works/actions.js';
import { cancelWork, completeWork, createFollowUpWork, createWork, getWork, rescheduleWork, worksAgenda } from '../../../core/works/works.js';

export const works = new Composer<BotContext>();

const tz = (ctx: BotContext) => ctx.staff?.timeZone ?? 'Europe/Moscow';
const deadlineHint = 'Срок: например «завтра 10:00», «25.12 14:30» или «25.12.2026 14:30». /cancel — отменить';

const SHOWN = 5;
const bucketTitle = { overdue: '⚠️ Просрочено', today: 'Сегодня', week: 'На этой неделе', later: 'Позже' } as const;

/** «Мои работы» as a to-do list: overdue, today, this week, later; the first few of each with their buttons. */
works.command('works', async (ctx) => {
  const agenda = await worksAgenda(ctx.crm, { responsibleId: ctx.staff!.id, timeZone: tz(ctx) });
  const buckets = (Object.keys(bucketTitle) as (keyof typeof bucketTitle)[]).map((k) => ({ k, items: agenda[k] }));
  if (buckets.every((b) => !b.items.length)) return ctx.reply('Запланированных работ нет. 👍');
  const summary = buckets.map((b) => `${bucketTitle[b.k]}: ${b.items.length}${b.items.length > SHOWN ? ` (показаны первые ${SHOWN})` : ''}`);
  await ctx.reply(`<b>Мои работы</b>\n${summary.join('\n')}`, html);
  for (const b of buckets) {
    for (const w of b.items.slice(0, SHOWN)) {
      const line = await workLine(ctx, w);
      await ctx.reply(`${bucketTitle[b.k]} · ${line.text}`, { ...html, reply_markup: line.keyboard });
    }
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

works.callbackQuery(/^work:new:(lead|deal|contact|cp):(\d+)$/, async (ctx) => {
  const target: WorkTarget = { type: ctx.match[1] as WorkTarget['type'], id: Number(ctx.match[2]) };
  // the record must be visible before offering to plan on it
  await requireVisible(ctx, target);
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard();
  for (const a of await listActions(ctx.crm)) kb.text(a.name, `work:act:${target.type}:${target.id}:${a.id}`).row();
  await ctx.reply('Какое действие запланировать?', { reply_markup: kb });
});

works.callbackQuery(/^work:act:(lead|deal|contact|cp):(\d+):(\d+)$/, async (ctx) => {
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
  const link = { lead: { leadId: target.id }, deal: { dealId: target.id }, contact: { contactId: target.id }, cp: { counterpartyId: target.id } }[target.type];
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

works.callbackQuery(/^work:move:(\d+)$/, async (ctx) => {
  const work = await getWork(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  if (work.status !== 'planned') return ctx.reply(`Работа №${work.id} уже завершена.`);
  ctx.session.flow = { kind: 'work_move', workId: work.id };
  await ctx.reply(`Новый срок работы №${work.id} (сейчас ${esc(when(ctx, work.deadline))}). ${deadlineHint}`, html);
});

export async function workMoveStep(ctx: BotContext, workId: number, text: string) {
  const deadline = readDeadline(ctx, text);
  if (!deadline) return void (await ctx.reply(`Не понял срок. ${deadlineHint}`));
  const work = await rescheduleWork(ctx.crm, workId, { deadline });
  ctx.session.flow = undefined;
  await ctx.reply(`Работа №${work.id} перенесена на ${esc(when(ctx, work.deadline))}.`, html);
}

works.callbackQuery(/^work:cancel:(\d+)$/, async (ctx) => {
  const work = await getWork(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  if (work.status !== 'planned') return ctx.reply(`Работа №${work.id} уже завершена.`);
  ctx.session.flow = { kind: 'work_cancel', workId: work.id };
  await ctx.reply(`Почему отменяется работа №${work.id}? Напишите причину. /cancel — не отменять`);
});

export async function workCancelStep(ctx: BotContext, workId: number, text: string) {
  if (!text.trim()) return void (await ctx.reply('Напишите причину отмены или /cancel.'));
  const work = await cancelWork(ctx.crm, workId, { reason: text.trim() });
  ctx.session.flow = undefined;
  await ctx.reply(`Работа №${work.id} отменена: ${esc(text.trim())}.`, html);
}
