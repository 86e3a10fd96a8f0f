import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { dealCard } from '../cards.js';
import { esc, html, money } from '../format.js';
import { parseId } from '../ids.js';
import { listDeals, listDealStages, setDealAmount, setDealStage } from '../../../core/deals/deals.js';

export const deals = new Composer<BotContext>();

deals.command('deals', async (ctx) => {
  const { items } = await listDeals(ctx.crm, { responsibleId: ctx.staff!.id, open: true }, { limit: 30 });
  if (!items.length) return ctx.reply('Открытых сделок нет.');
  const stages = await listDealStages(ctx.crm);
  const kb = new InlineKeyboard();
  for (const d of items) kb.text(`№${d.id} ${d.title.slice(0, 40)}`, `deal:open:${d.id}`).row();
  const lines = items.map((d) => `№${d.id} · ${esc(d.title)} · ${esc(stages.find((s) => s.id === d.stageId)?.name)} · ${money(d.amountKopecks, d.currency)}`);
  return ctx.reply(`<b>Мои сделки</b>\n${lines.join('\n')}`, { ...html, reply_markup: kb });
});

async function sendDeal(ctx: BotContext, id: number) {
  const card = await dealCard(ctx, id);
  await ctx.reply(card.text, { ...html, reply_markup: card.keyboard });
}

deals.command('deal', (ctx) => sendDeal(ctx, parseId(ctx.match, '/deal 7')));
deals.callbackQuery(/^deal:open:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await sendDeal(ctx, Number(ctx.match[1]));
});

deals.callbackQuery(/^deal:stages:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  await ctx.answerCallbackQuery();
  const card = await dealCard(ctx, id); // access check before offering stages
  const kb = new InlineKeyboard();
  for (const s of await listDealStages(ctx.crm)) kb.text(s.id === card.deal.stageId ? `• ${s.name}` : s.name, `deal:stage:${id}:${s.id}`).row();
  await ctx.reply(`Новая стадия сделки №${id}:`, { reply_markup: kb });
});

deals.callbackQuery(/^deal:stage:(\d+):(\d+)$/, async (ctx) => {
  const deal = await setDealStage(ctx.crm, Number(ctx.match[1]), Number(ctx.match[2]));
  const stage = (await listDealStages(ctx.crm)).find((s) => s.id === deal.stageId);
  await ctx.answerCallbackQuery('Стадия изменена');
  await ctx.reply(`Сделка №${deal.id}: стадия «${esc(stage?.name)}».`, html);
});

deals.callbackQuery(/^deal:amount:(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  await dealCard(ctx, id);
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'deal_amount', dealId: id };
  await ctx.reply(`Новая сумма сделки №${id} в рублях (например: 150 000,50). /cancel — отменить`);
});

export async function dealAmountStep(ctx: BotContext, dealId: number, text: string) {
  const deal = await setDealAmount(ctx.crm, dealId, text).catch(async (e) => {
    if (e?.code === 'invalid') {
      await ctx.reply('Не понял сумму. Напишите число, например: 150 000,50');
      return null;
    }
    throw e;
  });
  if (!deal) return;
  ctx.session.flow = undefined;
  await ctx.reply(`Сумма сделки №${deal.id}: ${money(deal.amountKopecks, deal.currency)}.`);
}
