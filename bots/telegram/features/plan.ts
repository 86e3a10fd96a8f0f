import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { esc, html, money, progressBar } from '../format.js';
import { monthOf, planVsActual, type PlanProgress } from '../../../core/plans/plans.js';

export const plan = new Composer<BotContext>();

function block(p: PlanProgress): string {
  const plan = p.plan ?? { dealAmountKopecks: 0n, dealCount: 0, worksCount: 0, callsCount: 0 };
  const ratio = (a: bigint, b: bigint) => (b > 0n ? Number((a * 1000n) / b) / 1000 : 0);
  return [
    `<b>${esc(p.userName)}</b>${p.plan ? '' : ' (план не задан)'}`,
    `Сумма сделок: ${money(p.actual.dealAmountKopecks)} из ${money(plan.dealAmountKopecks)}\n${progressBar(ratio(p.actual.dealAmountKopecks, plan.dealAmountKopecks), plan.dealAmountKopecks > 0n ? 1 : 0)}`,
    `Сделок: ${p.actual.dealCount} из ${plan.dealCount}\n${progressBar(p.actual.dealCount, plan.dealCount)}`,
    `Работ выполнено: ${p.actual.worksCount} из ${plan.worksCount}\n${progressBar(p.actual.worksCount, plan.worksCount)}`,
    // a team without telephony sets no calls target and has no calls: the line would only say «0 из 0»
    ...(plan.callsCount > 0 || p.actual.callsCount > 0 ? [`Звонков состоялось: ${p.actual.callsCount} из ${plan.callsCount}\n${progressBar(p.actual.callsCount, plan.callsCount)}`] : []),
  ].join('\n');
}

plan.command('plan', async (ctx) => {
  const period = monthOf(ctx.crm.clock.now(), ctx.staff!.timeZone);
  const rows = await planVsActual(ctx.crm, period);
  if (!rows.length) return ctx.reply('Планов на этот месяц нет.');
  const mine = rows.filter((r) => r.userId === ctx.staff!.id);
  const others = rows.filter((r) => r.userId !== ctx.staff!.id);
  const parts = [...mine, ...others].map(block);
  return ctx.reply(`<b>План и факт: ${period.periodStart.slice(8)}.${period.periodStart.slice(5, 7)}–${period.periodEnd.slice(8)}.${period.periodEnd.slice(5, 7)}</b>\n\n${parts.join('\n\n')}`, html);
});
