import type { Message, User } from 'grammy/types';
import type { InboundAttachment, InboundMessage } from '../../core/channels/types.js';
import { formatPhone, normalizePhone } from '../../core/validation/phone.js';

/** A place as a link anyone can open: Yandex Maps is what Russian clients and managers use. */
export const mapLink = (lat: number, lon: number) => `https://yandex.ru/maps/?pt=${lon},${lat}&z=16&l=map`;

/** The phones of a vCard's TEL lines (`TEL;TYPE=CELL:+7 916 …`), normalised where they can be. */
export function vcardPhones(vcard: string | undefined): string[] {
  if (!vcard) return [];
  const out: string[] = [];
  for (const line of vcard.split(/\r?\n/)) {
    const m = /^(?:item\d+\.)?TEL[^:]*:(.+)$/i.exec(line.trim());
    if (!m) continue;
    const raw = m[1]!.replace(/^tel:/i, '').trim();
    const p = normalizePhone(raw);
    if (!out.includes(p ?? raw)) out.push(p ?? raw);
  }
  return out;
}

const personName = (u: Pick<User, 'first_name' | 'last_name' | 'username' | 'id'>) =>
  [u.first_name, u.last_name].filter(Boolean).join(' ') || u.username || `Telegram ${u.id}`;

/**
 * A client's Telegram message as the core's InboundMessage: every kind is kept. Files come in
 * already downloaded; a location becomes a map link, a shared contact its name and phones (the
 * client's own number becomes their phone), a sticker its emoji beside the file, a poll its question.
 */
export function toInbound(m: Message, from: User, files: InboundAttachment[], missing: string[] = []): InboundMessage {
  const parts: string[] = [];
  const text = m.text ?? m.caption;
  if (text) parts.push(text);
  let phone: string | undefined;
  if (m.contact) {
    const c = m.contact;
    const phones = [c.phone_number, ...vcardPhones(c.vcard)].map((p) => normalizePhone(p) ?? p).filter((p, i, all) => all.indexOf(p) === i);
    // only the client's own number is theirs: a forwarded card of someone else is information
    if (c.user_id === from.id) phone = c.phone_number;
    const who = [c.first_name, c.last_name].filter(Boolean).join(' ');
    parts.push(`📇 Контакт: ${[who, ...phones.map((p) => (p.startsWith('+') ? formatPhone(p) : p))].filter(Boolean).join(', ')}`);
  }
  if (m.venue) {
    parts.push(`📍 ${m.venue.title}${m.venue.address ? `, ${m.venue.address}` : ''}: ${mapLink(m.venue.location.latitude, m.venue.location.longitude)}`);
  } else if (m.location) {
    parts.push(`📍 Геопозиция: ${mapLink(m.location.latitude, m.location.longitude)}`);
  }
  if (m.sticker) parts.push(`[стикер${m.sticker.emoji ? ` ${m.sticker.emoji}` : ''}]`);
  if (m.poll) parts.push(`📊 Опрос: ${m.poll.question} (${m.poll.options.map((o) => o.text).join(' / ')})`);
  if (m.dice) parts.push(`🎲 ${m.dice.emoji} ${m.dice.value}`);
  for (const name of missing) parts.push(`[файл «${name}» слишком большой для бота: попросите прислать его иначе]`);
  return {
    channel: 'telegram',
    externalUserId: String(from.id),
    externalChatId: String(m.chat.id),
    providerMessageId: `${m.chat.id}:${m.message_id}`,
    name: personName(from),
    phone,
    text: parts.length ? parts.join('\n') : undefined,
    attachments: files.length ? files : undefined,
    at: new Date(m.date * 1000),
  };
}
