import { InlineKeyboard } from 'grammy';
import type { ServiceContext } from '../../core/context.js';
import { callCard, type CallCard } from '../../core/telephony/card.js';
import { callDirectionLabels, callStatusLabels, formatCallDuration } from '../../core/telephony/labels.js';
import { formatInZone } from '../../core/validation/time.js';
import type { RecordRef } from './context.js';
import { esc, phone } from './format.js';

/**
 * How the card is shown: the moment a call rings, after it was missed, or opened later
 * (from `/call`), when it says how the call went.
 */
export type CallCardMode = 'incoming' | 'missed' | 'view';

export interface CallCardOptions {
  mode: CallCardMode;
  /** the recipient's zone: dates read as the manager lives them */
  timeZone: string;
  /** the panel's address: the card links to the records' pages there */
  publicUrl?: string | undefined;
  /** a provider that places calls is configured: «📞 Перезвонить» is offered */
  canCall: boolean;
}

const digits = (s: string) => s.replace(/\D/g, '');

/**
 * The core names the contact of an unknown number by the number itself; while nobody has renamed
 * it, the caller is still unknown to us.
 */
function unknownCaller(card: CallCard): boolean {
  if (!card.contact) return true;
  return !/\p{L}/u.test(card.contact.name) && digits(card.contact.name) === digits(card.number);
}

/** The record a note or a follow-up belongs to: the open deal first, then the lead, the contact, the company. */
export function callRecord(card: Pick<CallCard, 'deal' | 'lead' | 'contact' | 'counterparty'>): RecordRef | null {
  if (card.deal) return { type: 'deal', id: card.deal.id };
  if (card.lead) return { type: 'lead', id: card.lead.id };
  if (card.contact) return { type: 'contact', id: card.contact.id };
  if (card.counterparty) return { type: 'cp', id: card.counterparty.id };
  return null;
}

/** Who is calling, in a line: the contact's name or the number. */
export function callerName(card: CallCard): string {
  return card.contact && !unknownCaller(card) ? card.contact.name : card.number;
}

function title(card: CallCard, mode: CallCardMode): string {
  if (mode === 'incoming') return '📞 Входящий звонок';
  if (mode === 'missed') return '📵 Пропущенный звонок';
  const { call } = card;
  const how = call.status === 'answered' && call.durationSec ? `${callStatusLabels[call.status]}, ${formatCallDuration(call.durationSec)}` : callStatusLabels[call.status];
  return `${call.direction === 'in' ? '📞' : '📲'} ${callDirectionLabels[call.direction]} звонок №${call.id} — ${how}`;
}

function panelLinks(card: CallCard, publicUrl: string | undefined): string {
  if (!publicUrl) return '';
  const link = (path: string, label: string) => `<a href="${esc(new URL(path, publicUrl).toString())}">${label}</a>`;
  const links = [
    card.contact ? link(`/admin/contacts/${card.contact.id}`, 'контакт') : '',
    card.counterparty ? link(`/admin/counterparties/${card.counterparty.id}`, 'клиент') : '',
    card.lead ? link(`/admin/leads/${card.lead.id}`, `лид №${card.lead.id}`) : '',
    card.deal ? link(`/admin/deals/${card.deal.id}`, `сделка №${card.deal.id}`) : '',
  ].filter(Boolean);
  return links.length ? `В панели: ${links.join(' · ')}` : '';
}

/**
 * The incoming-call card (R20): who is calling and with what — the company, the open lead or deal,
 * the last interactions — so the manager picks up knowing the client; with the buttons for what
 * follows a call. HTML; every value from the database is escaped.
 */
export function renderCallCard(card: CallCard, opts: CallCardOptions): { text: string; keyboard: InlineKeyboard } {
  const { call } = card;
  const zone = opts.timeZone;
  const lines = [`<b>${esc(title(card, opts.mode))}</b>`];
  if (unknownCaller(card)) {
    lines.push(`<b>Неизвестный номер</b> ${esc(card.number)}${card.lead ? ` — создан лид №${card.lead.id}` : ''}`);
  } else {
    lines.push(`<b>${esc(card.contact!.name)}</b>, ${esc(card.number)} (/contact ${card.contact!.id})`);
  }
  if (card.counterparty) lines.push(`Клиент: ${esc(card.counterparty.name)} (/client ${card.counterparty.id})`);
  if (card.lead) lines.push(`Лид №${card.lead.id}: ${esc(card.lead.title)} (/lead ${card.lead.id})`);
  if (card.deal) lines.push(`Сделка №${card.deal.id}: ${esc(card.deal.title)} (/deal ${card.deal.id})`);
  if (!card.lead && !card.deal) lines.push('Открытых лидов и сделок нет');
  if (call.lineName || call.lineNumber) lines.push(`Линия: ${esc([call.lineName, call.lineNumber && phone(call.lineNumber)].filter(Boolean).join(', '))}`);
  if (opts.mode === 'view' && call.userName) lines.push(`Сотрудник: ${esc(call.userName)}`);
  lines.push(`Время: ${formatInZone(call.at, zone)}`);
  if (opts.mode === 'missed') {
    lines.push(call.followUpWorkId ? `Звонок пропущен. Создана работа «Перезвонить» №${call.followUpWorkId} (/works).` : 'Звонок пропущен.');
  }
  // the call itself is already on the client's timeline: the card shows what came before it
  const last = card.last.filter((i) => !(i.kind === 'call' && i.id === call.id)).slice(0, 3);
  if (last.length) {
    lines.push('', '<b>Последние события</b>');
    for (const i of last) lines.push(`• ${formatInZone(i.at, zone)} — ${esc(i.title)}${i.text ? `: ${esc(i.text.slice(0, 100))}` : ''}`);
  }
  const links = panelLinks(card, opts.publicUrl);
  if (links) lines.push('', links);

  const record = callRecord(card);
  const rows = [
    [...(record ? [InlineKeyboard.text('📝 Заметка', `note:new:${record.type}:${record.id}`)] : []), InlineKeyboard.text('⏰ Перезвонить позже', `call:later:${call.id}`)],
    [
      ...(!card.lead && !card.deal ? [InlineKeyboard.text('➕ Создать лид', `call:lead:${call.id}`)] : []),
      ...(call.clientNumber && opts.canCall ? [InlineKeyboard.text('📞 Перезвонить', `call:back:${call.id}`)] : []),
    ],
    call.recordingStatus === 'stored' ? [InlineKeyboard.text('🎧 Запись', `call:rec:${call.id}`)] : [],
  ];
  const kb = InlineKeyboard.from(rows.filter((r) => r.length));
  return { text: lines.join('\n'), keyboard: kb };
}

/** The card of a call as `ctx`'s user may see it (the core checks access). */
export async function callCardMessage(ctx: ServiceContext, callId: number, opts: CallCardOptions): Promise<{ text: string; keyboard: InlineKeyboard; card: CallCard }> {
  const card = await callCard(ctx, callId);
  return { ...renderCallCard(card, opts), card };
}
