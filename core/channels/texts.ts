import { formatPhone } from '../validation/phone.js';
import { channelLabel, type ChannelKind } from './types.js';

/** Russian texts of the notifications the inbound pipeline sends; Telegram shows them as they are. */

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export interface MessageNoticeFacts {
  channel: ChannelKind;
  contactName: string;
  phone?: string | null | undefined;
  leadId?: number | null | undefined;
  leadTitle?: string | null | undefined;
  dealId?: number | null | undefined;
  dealTitle?: string | null | undefined;
  conversationId: number;
  text?: string | null | undefined;
  attachments: number;
}

function who(f: Pick<MessageNoticeFacts, 'contactName' | 'phone'>): string {
  return f.phone ? `${f.contactName} (${formatPhone(f.phone)})` : f.contactName;
}

function body(f: MessageNoticeFacts): string[] {
  const lines: string[] = [];
  if (f.text?.trim()) lines.push(`«${clip(f.text.trim(), 1500)}»`);
  if (f.attachments) lines.push(`📎 Вложений: ${f.attachments}`);
  if (!lines.length) lines.push('(пустое сообщение)');
  return lines;
}

function record(f: MessageNoticeFacts): string | null {
  if (f.leadId) return `Лид №${f.leadId}${f.leadTitle ? `: ${f.leadTitle}` : ''}`;
  if (f.dealId) return `Сделка №${f.dealId}${f.dealTitle ? `: ${f.dealTitle}` : ''}`;
  return null;
}

const replyHint = (conversationId: number) => `Ответьте на это сообщение или: /reply ${conversationId} текст`;

export function clientMessageText(f: MessageNoticeFacts): string {
  const rec = record(f);
  return [`💬 ${channelLabel[f.channel]} · ${who(f)}`, ...(rec ? [rec] : []), ...body(f), '', replyHint(f.conversationId)].join('\n');
}

export function deliveryFailedText(f: { channel: ChannelKind; contactName: string; conversationId: number; text: string | null; reason: string }): string {
  return [
    `❌ Сообщение не доставлено: ${f.contactName} (${channelLabel[f.channel]})`,
    ...(f.text ? [`«${clip(f.text, 500)}»`] : []),
    `Причина: ${f.reason}`,
    `Диалог: /reply ${f.conversationId} текст — чтобы попробовать ещё раз`,
  ].join('\n');
}

export function filesNotSentText(f: { channel: ChannelKind; contactName: string; conversationId: number; files: string[]; reason: string }): string {
  return [
    `Текст отправлен, файлы — нет: ${f.contactName} (${channelLabel[f.channel]})`,
    `Файлы: ${clip(f.files.join(', '), 500)}`,
    `Причина: ${f.reason}`,
    `Диалог: /reply ${f.conversationId} текст`,
  ].join('\n');
}

export function adapterDownText(channel: ChannelKind, detail: string | undefined): string {
  return [
    `⚠️ Канал ${channelLabel[channel]} не работает${detail ? `: ${detail}` : ''}.`,
    'Сообщения клиентов из этого канала не поступают, ответы не отправляются. Остальные каналы работают.',
  ].join('\n');
}
