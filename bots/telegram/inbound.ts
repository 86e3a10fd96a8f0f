import type { Message, User } from 'grammy/types';
import type { InboundAttachment, InboundMessage } from '../../core/channels/types.js';
import { formatPhone, normalizePhone } from '../../core/validation/phone.js';
import { locationText, parseVCard } from '../../core/channels/location-and-vcard.js';

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
    // only the client's own number is theirs: a forwarded card of someone else is information
    if (c.user_id === from.id) phone = c.phone_number;
    const own = normalizePhone(c.phone_number);
    const card = c.vcard ? parseVCard(c.vcard) : { name: undefined, phones: [] };
    const phones = [own ? formatPhone(own) : c.phone_number, ...card.phones].filter((p, i, all) => all.indexOf(p) === i);
    const who = [c.first_name, c.last_name].filter(Boolean).join(' ') || card.name;
    parts.push(`📇 Контакт: ${[who, ...phones].filter(Boolean).join(', ')}`);
  }
  if (m.venue) parts.push(locationText({ ...m.venue.location, name: m.venue.title, address: m.venue.address }));
  else if (m.location) parts.push(locationText(m.location));
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
