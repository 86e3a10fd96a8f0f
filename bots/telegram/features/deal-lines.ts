import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Flow } from '../context.js';
import { dealCard } from '../cards.js';
import { esc, html, money } from '../format.js';
import { addDealLine, listDealLines, productChoices, removeDealLine, type DealLineView, type DealLines } from '../../../core/deals/lines.js';
import { getProduct } from '../../../core/products/products.js';
import { formatPercent, formatQuantity, hasDiscount, parseQuantity } from '../../../core/documents/money.js';
import { parseRoubles } from '../../../core/validation/money.js';

/**
 * «Позиции» of a deal in the bot: the card shows them briefly, the list removes them, «Добавить позицию»
 * asks a name (or finds a product), the quantity and the price (the product's by default).
 */
export const dealLines = new Composer<BotContext>();

/** The «Добавить позицию» dialogue in the session's flow. */
type DealLineFlow = Extract<Flow, { kind: 'deal_line' }>;
const lineFlow = (ctx: BotContext): DealLineFlow | undefined => (ctx.session.flow?.kind === 'deal_line' ? ctx.session.flow : undefined);
const setFlow = (ctx: BotContext, flow: DealLineFlow) => void (ctx.session.flow = flow);

/** How many lines the card lists before «и ещё N». */
const CARD_LINES = 10;

/** «2 час × 1 500,00 ₽ −10% = 2 700,00 ₽» */
const lineText = (l: DealLineView) => `${esc(l.name)} — ${formatQuantity(parseQuantity(l.quantity)!)} ${esc(l.unit)} × ${money(l.priceKopecks)}${hasDiscount(l.discountPercent) ? ` −${formatPercent(l.discountPercent)}` : ''} = ${money(l.sums.amountKopecks)}`;

/** «Итого: 5 500,00 ₽, в т. ч. НДС 22 %: 540,98 ₽» */
const totalText = (list: DealLines) => {
  const t = list.totals;
  const vat = t.withoutVat ? 'без НДС' : t.vatByRate.map((v) => `в т. ч. НДС ${v.rate} %: ${money(v.vatKopecks)}`).join(', ');
  return `Итого: <b>${money(t.totalKopecks)}</b>${vat ? `, ${vat}` : ''}`;
};

/** The lines block of the deal card ('' when there are none). */
export async function dealLinesSummary(ctx: BotContext, dealId: number): Promise<string> {
  const list = await listDealLines(ctx.crm, dealId);
  if (!list.lines.length) return '';
  const shown = list.lines.slice(0, CARD_LINES).map((l) => `${l.no}. ${lineText(l)}`);
  if (list.lines.length > CARD_LINES) shown.push(`… и ещё ${list.lines.length - CARD_LINES}`);
  return `\n\n<b>Товары и услуги</b>\n${shown.join('\n')}\n${totalText(list)}`;
}

/**
 * The deal card with its lines (before the history) and the buttons «Позиции», «КП» and «Счёт и
 * договор» (the last two are served by the documents feature).
 */
export async function dealCardWithLines(ctx: BotContext, dealId: number): Promise<Awaited<ReturnType<typeof dealCard>>> {
  const card = await dealCard(ctx, dealId);
  const block = await dealLinesSummary(ctx, dealId);
  if (block) {
    const at = card.text.indexOf('\n\n<b>История</b>');
    card.text = at < 0 ? card.text + block : card.text.slice(0, at) + block + card.text.slice(at);
  }
  card.keyboard.row().text('Позиции', `dl:list:${dealId}`).text('КП', `ddoc:cp:${dealId}`).text('Счёт и договор', `ddoc:inv:${dealId}`);
  return card;
}

async function sendList(ctx: BotContext, dealId: number, prefix = '') {
  const list = await listDealLines(ctx.crm, dealId);
  const kb = new InlineKeyboard();
  let text: string;
  if (!list.lines.length) text = `Позиций в сделке №${dealId} нет: сумма указывается вручную.`;
  else {
    text = `<b>Позиции сделки №${dealId}</b>\n${list.lines.map((l) => `${l.no}. ${lineText(l)}`).join('\n')}\n${totalText(list)}`;
    if (!list.closed) for (const l of list.lines.slice(0, 30)) kb.text(`Удалить ${l.no}. ${l.name.slice(0, 30)}`, `dl:del:${dealId}:${l.id}`).row();
  }
  if (list.closed) text += '\nСделка закрыта: позиции не меняются.';
  else kb.text('Добавить позицию', `dl:add:${dealId}`).row();
  kb.text('Карточка сделки', `deal:open:${dealId}`);
  await ctx.reply(prefix + text, { ...html, reply_markup: kb });
}

dealLines.callbackQuery(/^dl:list:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await sendList(ctx, Number(ctx.match[1]));
});

dealLines.callbackQuery(/^dl:add:(\d+)$/, async (ctx) => {
  const list = await listDealLines(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  if (list.closed) return ctx.reply(`Сделка №${list.dealId} закрыта: позиции не меняются.`);
  setFlow(ctx, { kind: 'deal_line', dealId: list.dealId, step: 'name' });
  await ctx.reply('Что добавить? Напишите наименование или часть названия из справочника «Товары и услуги». /cancel — отменить');
});

dealLines.callbackQuery(/^dl:del:(\d+):(\d+)$/, async (ctx) => {
  const dealId = Number(ctx.match[1]);
  const lineId = Number(ctx.match[2]);
  const line = (await listDealLines(ctx.crm, dealId)).lines.find((l) => l.id === lineId);
  if (!line) return ctx.answerCallbackQuery({ text: 'Этой позиции уже нет. Откройте позиции заново.' });
  await removeDealLine(ctx.crm, lineId);
  await ctx.answerCallbackQuery('Удалена');
  await sendList(ctx, dealId, `Позиция «${esc(line.name)}» удалена.\n\n`);
});

/** A product found by name: its name, unit and price go into the line. */
dealLines.callbackQuery(/^dl:prod:(\d+):(\d+)$/, async (ctx) => {
  const flow = lineFlow(ctx);
  const dealId = Number(ctx.match[1]);
  if (!flow || flow.dealId !== dealId || flow.step !== 'name') return ctx.answerCallbackQuery({ text: 'Эта кнопка устарела: нажмите «Добавить позицию» заново.' });
  const p = await getProduct(ctx.crm, Number(ctx.match[2]));
  await ctx.answerCallbackQuery();
  setFlow(ctx, { ...flow, step: 'quantity', productId: p.id, name: p.name, unit: p.unit, priceKopecks: p.priceKopecks.toString() });
  await ctx.reply(`«${esc(p.name)}», ${money(p.priceKopecks)} за ${esc(p.unit)}. Количество? (например 2 или 1,5)`, html);
});

/** The typed name as it is, not from the book. */
dealLines.callbackQuery(/^dl:free:(\d+)$/, async (ctx) => {
  const flow = lineFlow(ctx);
  if (!flow || flow.dealId !== Number(ctx.match[1]) || flow.step !== 'name' || !flow.name) return ctx.answerCallbackQuery({ text: 'Эта кнопка устарела: нажмите «Добавить позицию» заново.' });
  await ctx.answerCallbackQuery();
  setFlow(ctx, { ...flow, step: 'quantity' });
  await ctx.reply(`«${esc(flow.name)}». Количество? (например 2 или 1,5)`, html);
});

// the bot's shared text dispatcher knows nothing of this dialogue: it is served here, before it
dealLines.on('message:text', async (ctx, next) => {
  const flow = lineFlow(ctx);
  const text = ctx.message.text.trim();
  if (!flow || text.startsWith('/')) return next();
  if (flow.step === 'name') {
    if (!text) return void (await ctx.reply('Напишите наименование.'));
    if (text.length > 500) return void (await ctx.reply('Наименование не длиннее 500 символов.'));
    const found = await productChoices(ctx.crm, text, 8);
    if (!found.length) {
      setFlow(ctx, { ...flow, step: 'quantity', name: text });
      return void (await ctx.reply(`«${esc(text)}» — в справочнике такого нет, добавлю как есть. Количество? (например 2 или 1,5)`, html));
    }
    setFlow(ctx, { ...flow, name: text });
    const kb = new InlineKeyboard();
    for (const p of found) kb.text(`${p.name.slice(0, 40)} · ${money(p.priceKopecks)}`, `dl:prod:${flow.dealId}:${p.id}`).row();
    kb.text(`Своё: «${text.slice(0, 40)}»`, `dl:free:${flow.dealId}`);
    return void (await ctx.reply('Нашлось в справочнике — выберите или добавьте своё:', { reply_markup: kb }));
  }
  if (flow.step === 'quantity') {
    const q = parseQuantity(text);
    if (q === null || q <= 0n) return void (await ctx.reply('Количество — число больше нуля, например 1,5'));
    setFlow(ctx, { ...flow, step: 'price', quantity: text });
    const unit = flow.unit ?? 'шт';
    return void (await ctx.reply(
      flow.priceKopecks !== undefined
        ? `Цена за ${unit}: ${money(BigInt(flow.priceKopecks))} по справочнику. «+» — оставить, или напишите другую.`
        : `Цена за ${unit} в рублях? Например 1 500 или 1 500,50`,
    ));
  }
  const keep = flow.priceKopecks !== undefined && ['+', 'да', 'ок', 'ok', '-'].includes(text.toLowerCase());
  const price = keep ? BigInt(flow.priceKopecks!) : parseRoubles(text);
  if (price === null || price < 0n) return void (await ctx.reply('Цена — число рублей, например 1500 или 1 500,50'));
  const line = await addDealLine(ctx.crm, flow.dealId, {
    ...(flow.productId ? { productId: flow.productId } : { name: flow.name ?? '' }),
    quantity: flow.quantity ?? '',
    price,
  });
  ctx.session.flow = undefined;
  const card = await dealCardWithLines(ctx, flow.dealId);
  await ctx.reply(`Позиция «${esc(line.name)}» добавлена.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
});
