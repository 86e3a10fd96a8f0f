import { InlineKeyboard } from 'grammy';
import type { BotContext, RecordRef } from './context.js';
import { esc, html, leadSourceLabel, leadStatusLabel, money, phone, when } from './format.js';
import { getLead, listLeadParticipants, type Lead } from '../../core/leads/leads.js';
import { getDeal, listDealStages, type Deal } from '../../core/deals/deals.js';
import { getContact, listContacts, type Contact } from '../../core/contacts/contacts.js';
import { getCounterparty } from '../../core/counterparties/counterparties.js';
import { getHistory } from '../../core/history/history.js';
import { getUser, listUsers } from '../../core/users/users.js';
import { listActions } from '../../core/works/actions.js';
import { findCampaign } from '../../core/leads/campaigns.js';
import type { Work } from '../../core/works/works.js';

const kindLabel = { legal_entity: 'юрлицо', individual: 'физлицо', sole_proprietor: 'ИП' } as const;

async function userName(ctx: BotContext, id: number | null): Promise<string> {
  if (!id) return 'не назначен';
  try {
    return (await getUser(ctx.crm, id)).name;
  } catch {
    return `№${id}`;
  }
}

async function historyLines(ctx: BotContext, entity: 'lead' | 'deal' | 'counterparty', id: number, limit = 5): Promise<string> {
  const items = await getHistory(ctx.crm, entity, id, { limit });
  if (!items.length) return '';
  return '\n\n<b>История</b>\n' + items.map((i) => `• ${when(ctx, i.at)} — ${esc(i.title)}${i.text ? `: ${esc(i.text.slice(0, 120))}` : ''}`).join('\n');
}

export async function leadCard(ctx: BotContext, leadId: number): Promise<{ text: string; keyboard: InlineKeyboard; lead: Lead }> {
  const lead = await getLead(ctx.crm, leadId);
  const lines = [`<b>Лид №${lead.id}: ${esc(lead.title)}</b>`, `Статус: ${leadStatusLabel[lead.status]}`, `Источник: ${leadSourceLabel[lead.source]}${lead.tracking.network ? ` (${esc(lead.tracking.network)})` : ''}`];
  if (lead.campaignId) {
    const c = await findCampaign(ctx.crm, lead.campaignId);
    if (c) lines.push(`Кампания: ${esc(c.name)}${lead.tracking.utm_term ? `, ключ: ${esc(lead.tracking.utm_term)}` : ''}`);
  }
  let hasPhone = false; // «📞 Позвонить» where there is a number and a PBX to dial it
  if (lead.contactId) {
    const c = await getContact(ctx.crm, lead.contactId).catch(() => null);
    hasPhone ||= !!c?.phones.length;
    if (c) lines.push(`Контакт: ${esc(c.name)}${c.phones[0] ? `, ${phone(c.phones[0])}` : ''}${c.emails[0] ? `, ${esc(c.emails[0])}` : ''}`);
  }
  if (lead.counterpartyId) {
    const cp = await getCounterparty(ctx.crm, lead.counterpartyId).catch(() => null);
    hasPhone ||= !!cp?.phones.length;
    if (cp) lines.push(`Клиент: ${esc(cp.name)} (/client ${cp.id})`);
  }
  lines.push(`Ответственный: ${esc(await userName(ctx, lead.responsibleId))}`);
  const participants = await listLeadParticipants(ctx.crm, lead.id);
  if (participants.length) lines.push(`Участники: ${participants.map((p) => esc(p.name)).join(', ')}`);
  if (lead.comment) lines.push(`Комментарий: ${esc(lead.comment)}`);
  lines.push(`Создан: ${when(ctx, lead.createdAt)}`);
  const open = lead.status === 'new' || lead.status === 'in_progress';
  const kb = new InlineKeyboard();
  if (open) {
    if (lead.responsibleId !== ctx.staff?.id) kb.text('Взять', `lead:take:${lead.id}`);
    else if (lead.status === 'new') kb.text('В работу', `lead:take:${lead.id}`);
    kb.text('Участник +', `lead:addp:${lead.id}`).row();
    kb.text('В сделку', `lead:conv:${lead.id}`).text('Работа +', `work:new:lead:${lead.id}`).row();
    kb.text('Заметка', `note:new:lead:${lead.id}`);
    if (!lead.counterpartyId) kb.text('Контрагент', `lead:cp:${lead.id}`);
    kb.row().text('Закрыть', `lead:close:${lead.id}`);
    if (isHead(ctx)) kb.text('Передать', `lead:pass:${lead.id}`);
    // R23: the client's message was a support request, not a sale
    kb.row().text('Сделать обращением', `lead:ticket:${lead.id}`);
  } else {
    kb.text('Работа +', `work:new:lead:${lead.id}`).text('Заметка', `note:new:lead:${lead.id}`);
  }
  if (hasPhone && ctx.canCall) kb.row().text('📞 Позвонить', `tel:lead:${lead.id}`);
  return { text: lines.join('\n') + (await historyLines(ctx, 'lead', lead.id)), keyboard: kb, lead };
}

export async function dealCard(ctx: BotContext, dealId: number): Promise<{ text: string; keyboard: InlineKeyboard; deal: Deal }> {
  const deal = await getDeal(ctx.crm, dealId);
  const stages = await listDealStages(ctx.crm);
  const stage = stages.find((s) => s.id === deal.stageId);
  const lines = [`<b>Сделка №${deal.id}: ${esc(deal.title)}</b>`, `Стадия: ${esc(stage?.name ?? '?')}`, `Сумма: ${money(deal.amountKopecks, deal.currency)}`];
  let hasPhone = false;
  if (deal.counterpartyId) {
    const cp = await getCounterparty(ctx.crm, deal.counterpartyId).catch(() => null);
    hasPhone ||= !!cp?.phones.length;
    if (cp) lines.push(`Клиент: ${esc(cp.name)} (/client ${cp.id})`);
  }
  if (deal.contactId) hasPhone ||= !!(await getContact(ctx.crm, deal.contactId).catch(() => null))?.phones.length;
  if (deal.leadId) lines.push(`Из лида №${deal.leadId}`);
  lines.push(`Ответственный: ${esc(await userName(ctx, deal.responsibleId))}`);
  if (deal.paidOn) lines.push(`Оплачена: ${deal.paidOn.slice(8)}.${deal.paidOn.slice(5, 7)}.${deal.paidOn.slice(0, 4)}`);
  const kb = new InlineKeyboard().text('Стадия', `deal:stages:${deal.id}`).text('Сумма', `deal:amount:${deal.id}`).text('Изменить', `deal:edit:${deal.id}`).row();
  kb.text('Работа +', `work:new:deal:${deal.id}`).text('Заметка', `note:new:deal:${deal.id}`);
  if (hasPhone && ctx.canCall) kb.text('📞 Позвонить', `tel:deal:${deal.id}`);
  kb.row();
  if (!deal.closedAt) kb.text('Оплачена', `deal:won:${deal.id}`).text('Проиграна', `deal:lost:${deal.id}`);
  return { text: lines.join('\n') + (await historyLines(ctx, 'deal', deal.id)), keyboard: kb, deal };
}

export async function clientCard(ctx: BotContext, id: number): Promise<{ text: string; keyboard: InlineKeyboard }> {
  const cp = await getCounterparty(ctx.crm, id);
  const lines = [`<b>${esc(cp.name)}</b> (${kindLabel[cp.kind]}, №${cp.id})`];
  if (cp.inn) lines.push(`ИНН ${cp.inn}${cp.kpp ? `, КПП ${cp.kpp}` : ''}${cp.ogrn ? `, ${cp.kind === 'legal_entity' ? 'ОГРН' : 'ОГРНИП'} ${cp.ogrn}` : ''}`);
  if (cp.region || cp.industry) lines.push([cp.region, cp.industry].filter(Boolean).map(esc).join(' · '));
  if (cp.phones.length) lines.push(`Тел.: ${cp.phones.map(phone).join(', ')}`);
  if (cp.emails.length) lines.push(`E-mail: ${cp.emails.map(esc).join(', ')}`);
  if (cp.address) lines.push(`Адрес: ${esc(cp.address)}`);
  lines.push(`Ответственный: ${esc(await userName(ctx, cp.responsibleId))}${cp.isActiveClient ? ' · действующий клиент' : ''}`);
  const kb = new InlineKeyboard()
    .text('Контакты', `client:tab:${cp.id}:contacts`)
    .text('Работы', `client:tab:${cp.id}:works`)
    .row()
    .text('Лиды', `client:tab:${cp.id}:leads`)
    .text('Сделки', `client:tab:${cp.id}:deals`)
    .row()
    .text('История', `client:tab:${cp.id}:history`)
    .text('Работа +', `work:new:cp:${cp.id}`)
    .row()
    .text('Заметка', `note:new:cp:${cp.id}`)
    .text('Новая сделка', `deal:new:cp:${cp.id}`);
  // the company's own numbers, or its people's
  const people = cp.phones.length || !ctx.canCall ? [] : (await listContacts(ctx.crm, { counterpartyId: cp.id }, { limit: 30 })).items;
  if (ctx.canCall && (cp.phones.length || people.some((c) => c.phones.length))) kb.row().text('📞 Позвонить', `tel:cp:${cp.id}`);
  return { text: lines.join('\n'), keyboard: kb };
}

/** A contact on its own (a messenger client often has no company): who, how to reach, and what to do. */
export async function contactCard(ctx: BotContext, id: number): Promise<{ text: string; keyboard: InlineKeyboard; contact: Contact }> {
  const c = await getContact(ctx.crm, id);
  const lines = [`<b>Контакт №${c.id}: ${esc(c.name)}</b>`];
  if (c.position) lines.push(`Должность: ${esc(c.position)}`);
  lines.push(`Тел.: ${c.phones.length ? c.phones.map(phone).join(', ') : '—'}`);
  lines.push(`E-mail: ${c.emails.length ? c.emails.map(esc).join(', ') : '—'}`);
  if (c.counterpartyId) {
    const cp = await getCounterparty(ctx.crm, c.counterpartyId).catch(() => null);
    if (cp) lines.push(`Компания: ${esc(cp.name)} (/client ${cp.id})`);
  } else lines.push('Без компании');
  if (c.comment) lines.push(`Комментарий: ${esc(c.comment)}`);
  const kb = new InlineKeyboard()
    .text('Имя', `contact:edit:${c.id}:name`)
    .text('Телефон', `contact:edit:${c.id}:phone`)
    .text('E-mail', `contact:edit:${c.id}:email`)
    .row()
    .text('Работа +', `work:new:contact:${c.id}`)
    .text('Заметка', `note:new:contact:${c.id}`)
    .row()
    .text('Новая сделка', `deal:new:contact:${c.id}`);
  if (c.phones.length && ctx.canCall) kb.text('📞 Позвонить', `tel:contact:${c.id}`);
  return { text: lines.join('\n'), keyboard: kb, contact: c };
}

/** Head and admin: they see the whole team and may hand records over. */
export const isHead = (ctx: BotContext) => ctx.staff?.role === 'head' || ctx.staff?.role === 'admin';

/** Reads a record through its getX verb, so a refusal comes before any typing. */
export async function requireVisible(ctx: BotContext, ref: RecordRef): Promise<void> {
  if (ref.type === 'lead') await getLead(ctx.crm, ref.id);
  else if (ref.type === 'deal') await getDeal(ctx.crm, ref.id);
  else if (ref.type === 'contact') await getContact(ctx.crm, ref.id);
  else await getCounterparty(ctx.crm, ref.id);
}

/** «лида №12», «сделки №7»: a record named in a reply. */
export const recordWord: Record<RecordRef['type'], string> = { lead: 'лида', deal: 'сделки', contact: 'контакта', cp: 'контрагента' };

export async function workLine(ctx: BotContext, work: Work): Promise<{ text: string; keyboard: InlineKeyboard }> {
  const actions = await listActions(ctx.crm);
  const action = actions.find((a) => a.id === work.actionId);
  const cp = work.counterpartyId ? await getCounterparty(ctx.crm, work.counterpartyId).catch(() => null) : null;
  const contact = work.contactId ? await getContact(ctx.crm, work.contactId).catch(() => null) : null;
  const overdue = work.status === 'planned' && work.deadline < ctx.crm.clock.now();
  const text = [
    `<b>${esc(action?.name ?? 'Работа')}</b> №${work.id}${overdue ? ' ⚠️ просрочена' : ''}`,
    `Срок: ${when(ctx, work.deadline)}`,
    cp ? `Клиент: ${esc(cp.name)} (/client ${cp.id})` : '',
    contact ? `Контакт: ${esc(contact.name)} (/contact ${contact.id})` : '',
    work.leadId ? `Лид №${work.leadId} (/lead ${work.leadId})` : '',
    work.dealId ? `Сделка №${work.dealId} (/deal ${work.dealId})` : '',
    work.comment ? `Комментарий: ${esc(work.comment)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const kb = new InlineKeyboard();
  if (work.status === 'planned') kb.text('Выполнить', `work:done:${work.id}`).text('Перенести', `work:move:${work.id}`).row().text('Отменить', `work:cancel:${work.id}`);
  kb.text('На основании', `work:follow:${work.id}`);
  return { text, keyboard: kb };
}

export { html };

/**
 * «Передать»: a button per active user who could take a lead or deal over (not its current
 * responsible, not an admin), each calling `data(userId)`; null when there is nobody.
 */
export async function handOverKeyboard(ctx: BotContext, currentId: number | null, data: (userId: number) => string): Promise<InlineKeyboard | null> {
  const people = (await listUsers(ctx.crm, { activeOnly: true })).filter((u) => u.id !== currentId && u.role !== 'admin');
  if (!people.length) return null;
  const kb = new InlineKeyboard();
  for (const u of people.slice(0, 30)) kb.text(u.name, data(u.id)).row();
  return kb;
}
