import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Flow, NewDealData } from '../context.js';
import { dealCard, handOverKeyboard, isHead } from '../cards.js';
import { counterpartyChoices } from './leads.js';
import { esc, html, money } from '../format.js';
import { parseId } from '../ids.js';
import { createDeal, getDeal, listDeals, listDealStages, loseDeal, setDealAmount, setDealStage, updateDeal, winDeal } from '../../../core/deals/deals.js';
import { listLossReasons } from '../../../core/deals/loss-reasons.js';
import { getLead } from '../../../core/leads/leads.js';
import { getContact, listContacts } from '../../../core/contacts/contacts.js';
import { getCounterparty, listCounterparties } from '../../../core/counterparties/counterparties.js';
import { ServiceError, forbidden } from '../../../core/errors.js';
import { parseRoubles } from '../../../core/validation/money.js';
import { dateInZone } from '../../../core/validation/time.js';
import { parseDay } from '../dates.js';
import { dealCardWithLines, dealLines } from './deal-lines.js';
import { dealHasLines } from '../../../core/deals/has-lines.js';

export const deals = new Composer<BotContext>();
// «Позиции» of the deal card: its own callbacks and the «Добавить позицию» dialogue
deals.use(dealLines);

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
  const card = await dealCardWithLines(ctx, id);
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
  for (const s of await listDealStages(ctx.crm)) {
    // a won stage asks the paid date, a lost one the reason
    const data = s.id === card.deal.stageId ? `deal:stage:${id}:${s.id}` : s.isWon ? `deal:won:${id}` : s.isLost ? `deal:lost:${id}` : `deal:stage:${id}:${s.id}`;
    kb.text(s.id === card.deal.stageId ? `• ${s.name}` : s.name, data).row();
  }
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
  if (await dealHasLines(ctx.crm, id)) return ctx.reply(linesDecideAmount(id), { reply_markup: new InlineKeyboard().text('Позиции', `dl:list:${id}`) });
  ctx.session.flow = { kind: 'deal_amount', dealId: id };
  await ctx.reply(`Новая сумма сделки №${id} в рублях (например: 150 000,50). /cancel — отменить`);
});

/** While a deal has lines its amount is their sum: a typed one would be overwritten by the next line change. */
const linesDecideAmount = (id: number) => `Сумма сделки №${id} считается по позициям: измените их через «Позиции».`;

export async function dealAmountStep(ctx: BotContext, dealId: number, text: string) {
  if (await dealHasLines(ctx.crm, dealId)) {
    ctx.session.flow = undefined;
    return void (await ctx.reply(linesDecideAmount(dealId)));
  }
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

const skip = (t: string) => ['-', '—', 'нет', 'пропустить'].includes(t.trim().toLowerCase());
const tz = (ctx: BotContext) => ctx.staff?.timeZone ?? 'Europe/Moscow';
const dayRu = (d: string) => d.split('-').reverse().join('.');

/** «Изменить»: the title, the amount, the client and its contact; the head also hands the deal over. */
deals.callbackQuery(/^deal:edit:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard().text('Название', `deal:title:${deal.id}`).text('Сумма', `deal:amount:${deal.id}`).row();
  kb.text('Клиент', `deal:cp:${deal.id}`).text('Контакт', `deal:contact:${deal.id}`);
  if (isHead(ctx)) kb.row().text('Ответственный', `deal:resp:${deal.id}`);
  await ctx.reply(`Что изменить в сделке №${deal.id}?`, { reply_markup: kb });
});

async function replyChanged(ctx: BotContext, dealId: number, what: string) {
  const card = await dealCardWithLines(ctx, dealId);
  await ctx.reply(`Сделка №${dealId}: ${what}.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
}

/** «Клиент»: searched by name or INN, as for a lead. */
deals.callbackQuery(/^deal:cp:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'deal_cp', dealId: deal.id };
  await ctx.reply(`Клиент сделки №${deal.id}: название или ИНН для поиска? (/cancel — отменить)`);
});
// the bot's shared text dispatcher knows nothing of this flow: it is served here, before it
deals.on('message:text', async (ctx, next) => {
  const flow = ctx.session.flow;
  if (flow?.kind !== 'deal_cp' || ctx.message.text.startsWith('/')) return next();
  const kb = await counterpartyChoices(ctx, ctx.message.text, (cpId) => `deal:cpset:${flow.dealId}:${cpId}`);
  if (kb) await ctx.reply(`Какого клиента указать в сделке №${flow.dealId}?`, { reply_markup: kb });
});
deals.callbackQuery(/^deal:cpset:(\d+):(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  const before = await getDeal(ctx.crm, id);
  const counterpartyId = Number(ctx.match[2]);
  // the old company's contact does not stay on the deal (the core would refuse it); a private one does
  const contact = before.contactId ? await getContact(ctx.crm, before.contactId).catch(() => null) : null;
  const dropContact = !!contact?.counterpartyId && contact.counterpartyId !== counterpartyId;
  const deal = await updateDeal(ctx.crm, id, { counterpartyId, ...(dropContact ? { contactId: null } : {}) });
  if (ctx.session.flow?.kind === 'deal_cp') ctx.session.flow = undefined;
  await ctx.answerCallbackQuery('Клиент указан');
  await replyChanged(ctx, deal.id, 'клиент указан');
});

/** «Контакт»: one of the client's contacts. */
deals.callbackQuery(/^deal:contact:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  if (!deal.counterpartyId) return ctx.reply(`У сделки №${deal.id} нет клиента: сначала укажите клиента («Изменить» → «Клиент»).`);
  const { items } = await listContacts(ctx.crm, { counterpartyId: deal.counterpartyId }, { limit: 30 });
  if (!items.length) return ctx.reply(`У клиента сделки №${deal.id} нет контактов.`);
  const kb = new InlineKeyboard();
  for (const c of items) kb.text(c.id === deal.contactId ? `• ${c.name.slice(0, 40)}` : c.name.slice(0, 40), `deal:contactset:${deal.id}:${c.id}`).row();
  if (deal.contactId) kb.text('Без контакта', `deal:contactset:${deal.id}:0`);
  await ctx.reply(`Контакт сделки №${deal.id}:`, { reply_markup: kb });
});
deals.callbackQuery(/^deal:contactset:(\d+):(\d+)$/, async (ctx) => {
  const contactId = Number(ctx.match[2]);
  const deal = await updateDeal(ctx.crm, Number(ctx.match[1]), { contactId: contactId || null });
  await ctx.answerCallbackQuery(contactId ? 'Контакт указан' : 'Контакт убран');
  await replyChanged(ctx, deal.id, contactId ? 'контакт указан' : 'контакт убран');
});

/** «Ответственный»: head and admin hand the deal to a manager (the core refuses anyone else). */
deals.callbackQuery(/^deal:resp:(\d+)$/, async (ctx) => {
  if (!isHead(ctx)) throw forbidden('Сменить ответственного может руководитель');
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = await handOverKeyboard(ctx, deal.responsibleId, (userId) => `deal:respset:${deal.id}:${userId}`);
  if (!kb) return ctx.reply('Передать некому.');
  await ctx.reply(`Кто будет ответственным за сделку №${deal.id}?`, { reply_markup: kb });
});
deals.callbackQuery(/^deal:respset:(\d+):(\d+)$/, async (ctx) => {
  const deal = await updateDeal(ctx.crm, Number(ctx.match[1]), { responsibleId: Number(ctx.match[2]) });
  await ctx.answerCallbackQuery('Передана');
  await replyChanged(ctx, deal.id, 'ответственный сменён');
});
deals.callbackQuery(/^deal:title:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'deal_title', dealId: deal.id };
  await ctx.reply(`Новое название сделки №${deal.id}? Сейчас: «${esc(deal.title)}». /cancel — отменить`, html);
});

export async function dealTitleStep(ctx: BotContext, dealId: number, text: string): Promise<void> {
  if (!text.trim()) return void (await ctx.reply('Название не может быть пустым. Новое название?'));
  const deal = await updateDeal(ctx.crm, dealId, { title: text.trim() });
  ctx.session.flow = undefined;
  await ctx.reply(`Сделка №${deal.id} теперь называется «${esc(deal.title)}».`, html);
}

/** «Оплачена»: today, or the day the money came. */
deals.callbackQuery(/^deal:won:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard().text('Сегодня', `deal:won!:${deal.id}`).text('Другая дата', `deal:wondate:${deal.id}`);
  await ctx.reply(`Когда оплачена сделка №${deal.id}?`, { reply_markup: kb });
});
deals.callbackQuery(/^deal:won!:(\d+)$/, async (ctx) => {
  const deal = await winDeal(ctx.crm, Number(ctx.match[1]), { paidOn: dateInZone(ctx.crm.clock.now(), tz(ctx)) });
  await ctx.answerCallbackQuery('Оплачена');
  await ctx.reply(`Сделка №${deal.id} оплачена ${dayRu(deal.paidOn!)}. 🎉`);
});
deals.callbackQuery(/^deal:wondate:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'deal_paid', dealId: deal.id };
  await ctx.reply('Дата оплаты: например «25.11.2026», «25.11» или «вчера». /cancel — отменить');
});

export async function dealPaidStep(ctx: BotContext, dealId: number, text: string): Promise<void> {
  const day = parseDay(text, ctx.crm.clock.now(), tz(ctx));
  if (!day) return void (await ctx.reply('Не понял дату. Например: 25.11.2026, 25.11 или «вчера».'));
  const deal = await winDeal(ctx.crm, dealId, { paidOn: day });
  ctx.session.flow = undefined;
  await ctx.reply(`Сделка №${deal.id} оплачена ${dayRu(deal.paidOn!)}. 🎉`);
}

/** «Проиграна»: a reason from the book, then an optional comment. */
deals.callbackQuery(/^deal:lost:(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const kb = new InlineKeyboard();
  for (const r of await listLossReasons(ctx.crm)) kb.text(r.name, `deal:lost!:${deal.id}:${r.id}`).row();
  kb.text('Не проиграна', 'noop');
  await ctx.reply(`Почему проиграна сделка №${deal.id}?`, { reply_markup: kb });
});
deals.callbackQuery(/^deal:lost!:(\d+):(\d+)$/, async (ctx) => {
  const deal = await getDeal(ctx.crm, Number(ctx.match[1]));
  const reason = (await listLossReasons(ctx.crm)).find((r) => r.id === Number(ctx.match[2]));
  if (!reason) throw new ServiceError('invalid', 'Этой причины уже нет в справочнике. Откройте сделку заново.');
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'deal_lost', dealId: deal.id, lossReasonId: reason.id };
  await ctx.reply(`Причина: «${esc(reason.name)}». Комментарий? (или «-» без комментария)`, html);
});

export async function dealLostStep(ctx: BotContext, flow: Extract<Flow, { kind: 'deal_lost' }>, text: string): Promise<void> {
  const deal = await loseDeal(ctx.crm, flow.dealId, { lossReasonId: flow.lossReasonId, comment: skip(text) ? null : text.trim() });
  ctx.session.flow = undefined;
  await ctx.reply(`Сделка №${deal.id} проиграна.`);
}

/** `/newdeal`: a repeat sale; `/newdeal client 15`, `/newdeal contact 9`, `/newdeal lead 12` know the client already. */
deals.command('newdeal', async (ctx) => {
  const [kind, raw] = ctx.match.trim().split(/\s+/);
  const data: NewDealData = {};
  if (kind === 'client') data.counterpartyId = (await getCounterparty(ctx.crm, parseId(raw, '/newdeal client 15'))).id;
  else if (kind === 'contact') Object.assign(data, await contactClient(ctx, parseId(raw, '/newdeal contact 9')));
  else if (kind === 'lead') {
    const lead = await getLead(ctx.crm, parseId(raw, '/newdeal lead 12'));
    if (lead.counterpartyId) data.counterpartyId = lead.counterpartyId;
    if (lead.contactId) data.contactId = lead.contactId;
    data.client = `лида №${lead.id}`;
  } else if (kind) throw new ServiceError('invalid', 'Новая сделка: /newdeal, /newdeal client 15, /newdeal contact 9 или /newdeal lead 12');
  await startNewDeal(ctx, data);
});

async function contactClient(ctx: BotContext, contactId: number): Promise<NewDealData> {
  const c = await getContact(ctx.crm, contactId);
  return { contactId: c.id, ...(c.counterpartyId ? { counterpartyId: c.counterpartyId } : {}), client: c.name };
}

async function startNewDeal(ctx: BotContext, data: NewDealData) {
  if (data.counterpartyId && !data.client) data.client = (await getCounterparty(ctx.crm, data.counterpartyId)).name;
  ctx.session.flow = { kind: 'newdeal', step: 'title', data };
  await ctx.reply(`Новая сделка${data.client ? ` (клиент: ${esc(data.client)})` : ''}. Название? (/cancel — отменить)`, html);
}

deals.callbackQuery(/^deal:new:(cp|contact):(\d+)$/, async (ctx) => {
  const id = Number(ctx.match[2]);
  const data: NewDealData = ctx.match[1] === 'cp' ? { counterpartyId: (await getCounterparty(ctx.crm, id)).id } : await contactClient(ctx, id);
  await ctx.answerCallbackQuery();
  await startNewDeal(ctx, data);
});

deals.callbackQuery(/^newdeal:cp:(\d+)$/, async (ctx) => {
  const flow = ctx.session.flow;
  if (flow?.kind !== 'newdeal' || flow.step !== 'client') return ctx.answerCallbackQuery({ text: 'Эта кнопка устарела: начните заново с /newdeal.' });
  await ctx.answerCallbackQuery();
  await finishNewDeal(ctx, { ...flow.data, counterpartyId: Number(ctx.match[1]) });
});

async function finishNewDeal(ctx: BotContext, data: NewDealData) {
  const deal = await createDeal(ctx.crm, {
    title: data.title!,
    amount: data.amount ?? '0',
    ...(data.counterpartyId ? { counterpartyId: data.counterpartyId } : {}),
    ...(data.contactId ? { contactId: data.contactId } : {}),
  });
  ctx.session.flow = undefined;
  const card = await dealCardWithLines(ctx, deal.id);
  await ctx.reply(`Сделка создана.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
}

export async function newDealStep(ctx: BotContext, flow: Extract<Flow, { kind: 'newdeal' }>, text: string): Promise<void> {
  const t = text.trim();
  if (flow.step === 'title') {
    if (!t) return void (await ctx.reply('Название не может быть пустым. Название сделки?'));
    ctx.session.flow = { ...flow, step: 'amount', data: { ...flow.data, title: t } };
    return void (await ctx.reply('Сумма в рублях? (например: 150 000,50; или «-», если пока неизвестна)'));
  }
  if (flow.step === 'amount') {
    const kopecks = skip(t) ? 0n : parseRoubles(t);
    if (kopecks === null || kopecks < 0n) return void (await ctx.reply('Не понял сумму. Напишите число, например: 150 000,50, или «-».'));
    const data = { ...flow.data, amount: (kopecks / 100n).toString() + '.' + String(kopecks % 100n).padStart(2, '0') };
    if (data.counterpartyId || data.contactId) return finishNewDeal(ctx, data);
    ctx.session.flow = { ...flow, step: 'client', data };
    return void (await ctx.reply('Клиент? Напишите название или ИНН для поиска, или «-» — без клиента.'));
  }
  if (skip(t)) return finishNewDeal(ctx, flow.data);
  if (t.length < 2) return void (await ctx.reply('Напишите хотя бы 2 символа названия или ИНН, или «-».'));
  const { items } = await listCounterparties(ctx.crm, { text: t }, { limit: 8 });
  if (!items.length) return void (await ctx.reply(`По запросу «${esc(t)}» клиентов не нашлось. Напишите иначе или «-».`, html));
  const kb = new InlineKeyboard();
  for (const c of items) kb.text(`${c.name.slice(0, 40)}${c.inn ? ` · ${c.inn}` : ''}`, `newdeal:cp:${c.id}`).row();
  await ctx.reply('Выберите клиента:', { reply_markup: kb });
}
