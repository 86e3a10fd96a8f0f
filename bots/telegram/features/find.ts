import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { clientCard } from '../cards.js';
import { esc, html, leadStatusLabel, money, phone, when } from '../format.js';
import { parseId } from '../ids.js';
import { search } from '../../../core/search/search.js';
import { findSalesRecords, readSalesQuery } from '../../../core/search/sales-records.js';
import { listContacts } from '../../../core/contacts/contacts.js';
import { listWorks } from '../../../core/works/works.js';
import { listLeads } from '../../../core/leads/leads.js';
import { listDeals } from '../../../core/deals/deals.js';
import { getHistory } from '../../../core/history/history.js';
import { getCounterparty } from '../../../core/counterparties/counterparties.js';

export const find = new Composer<BotContext>();

find.command('find', async (ctx) => {
  const q = ctx.match.trim();
  if (q.length < 1 || (q.length < 2 && !/^\d$/.test(q))) {
    return ctx.reply('Что искать? Например: /find Ромашка, /find 7707083893, /find 8 916 123-45-67, /find info@firma.ru, /find лид 12, /find сделка 7');
  }
  const sales = await findSalesRecords(ctx.crm, q, { limit: 8 });
  const byNumber = !!readSalesQuery(q).id;
  // a bare number is a lead or deal number first; an INN or a phone is digits too, so those are searched as well
  const r = byNumber && q.replace(/\D/g, '').length < 4 ? { counterparties: [], contacts: [] } : await search(ctx.crm, q, { limit: 8 });
  if (!r.counterparties.length && !r.contacts.length && !sales.leads.length && !sales.deals.length) {
    return ctx.reply(`По запросу «${esc(q)}» ничего не нашлось среди ваших клиентов, лидов и сделок.`, html);
  }
  const kb = new InlineKeyboard();
  const lines: string[] = [];
  for (const l of sales.leads) {
    lines.push(`📥 Лид №${l.id} · ${esc(l.title)} · ${leadStatusLabel[l.status]} — /lead ${l.id}`);
    kb.text(`Лид №${l.id} ${l.title.slice(0, 40)}`, `lead:open:${l.id}`).row();
  }
  for (const d of sales.deals) {
    lines.push(`💼 Сделка №${d.id} · ${esc(d.title)} · ${money(d.amountKopecks, d.currency)} — /deal ${d.id}`);
    kb.text(`Сделка №${d.id} ${d.title.slice(0, 40)}`, `deal:open:${d.id}`).row();
  }
  for (const c of r.counterparties) {
    lines.push(`🏢 ${esc(c.name)}${c.inn ? ` · ИНН ${c.inn}` : ''} — /client ${c.id}`);
    kb.text(c.name.slice(0, 50), `client:open:${c.id}`).row();
  }
  for (const c of r.contacts) {
    lines.push(`👤 ${esc(c.name)}${c.phones[0] ? ` · ${phone(c.phones[0])}` : ''}${c.emails[0] ? ` · ${esc(c.emails[0])}` : ''} — /contact ${c.id}${c.counterpartyId ? `, /client ${c.counterpartyId}` : ''}`);
    kb.text(`👤 ${c.name.slice(0, 48)}`, `contact:open:${c.id}`).row();
  }
  return ctx.reply(`<b>Найдено</b>\n${lines.join('\n')}`, { ...html, reply_markup: kb });
});

async function sendClient(ctx: BotContext, id: number) {
  const card = await clientCard(ctx, id);
  await ctx.reply(card.text, { ...html, reply_markup: card.keyboard });
}

find.command('client', (ctx) => sendClient(ctx, parseId(ctx.match, '/client 15')));
find.callbackQuery(/^client:open:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await sendClient(ctx, Number(ctx.match[1]));
});

find.callbackQuery(/^client:tab:(\d+):(contacts|works|leads|deals|history)$/, async (ctx) => {
  const id = Number(ctx.match[1]);
  const cp = await getCounterparty(ctx.crm, id);
  await ctx.answerCallbackQuery();
  let lines: string[] = [];
  const title = { contacts: 'Контакты', works: 'Работы', leads: 'Лиды', deals: 'Сделки', history: 'История' }[ctx.match[2] as 'contacts'];
  switch (ctx.match[2]) {
    case 'contacts':
      lines = (await listContacts(ctx.crm, { counterpartyId: id }, { limit: 30 })).items.map(
        (c) => `👤 ${esc(c.name)}${c.position ? `, ${esc(c.position)}` : ''}${c.phones.length ? ` · ${c.phones.map(phone).join(', ')}` : ''}${c.emails.length ? ` · ${c.emails.map(esc).join(', ')}` : ''}`,
      );
      break;
    case 'works':
      lines = (await listWorks(ctx.crm, { counterpartyId: id }, { limit: 30 })).map(
        (w) => `№${w.id} · срок ${when(ctx, w.deadline)} · ${w.status === 'planned' ? 'запланирована' : w.status === 'done' ? 'выполнена' : 'отменена'}${w.comment ? ` · ${esc(w.comment)}` : ''}`,
      );
      break;
    case 'leads':
      lines = (await listLeads(ctx.crm, { counterpartyId: id }, { limit: 30 })).items.map((l) => `№${l.id} · ${esc(l.title)} · ${leadStatusLabel[l.status]} — /lead ${l.id}`);
      break;
    case 'deals':
      lines = (await listDeals(ctx.crm, { counterpartyId: id }, { limit: 30 })).items.map((d) => `№${d.id} · ${esc(d.title)} · ${money(d.amountKopecks, d.currency)} — /deal ${d.id}`);
      break;
    case 'history':
      lines = (await getHistory(ctx.crm, 'counterparty', id, { limit: 15 })).map((i) => `${when(ctx, i.at)} — ${esc(i.title)}${i.text ? `: ${esc(i.text.slice(0, 100))}` : ''}`);
      break;
  }
  await ctx.reply(`<b>${esc(cp.name)}: ${title}</b>\n${lines.length ? lines.join('\n') : 'пусто'}`, html);
});
