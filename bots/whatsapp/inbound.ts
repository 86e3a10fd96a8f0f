import { attachmentKindOf, type AttachmentKind, type InboundAttachment, type InboundMessage } from '../../core/channels/types.js';
import { formatPhone, normalizePhone } from '../../core/validation/phone.js';
import type { WhatsAppLocationLike, WhatsAppMessageLike } from './client.js';

/** Chats that are not one client: groups, status updates, broadcast lists, channels. */
export const notAClient = (jid: string) => /@(g\.us|broadcast|newsletter)$/.test(jid);

/** A linked id (`…@lid`): WhatsApp hides the phone behind it; its digits are not a phone. */
export const isLinkedId = (jid: string) => jid.endsWith('@lid');

/**
 * Entries WhatsApp Web keeps in a chat that nobody wrote: security-code changes, call logs,
 * deleted messages, messages not decrypted yet.
 */
const systemTypes = new Set([
  'e2e_notification',
  'notification',
  'notification_template',
  'gp2',
  'protocol',
  'ciphertext',
  'revoked',
  'broadcast_notification',
  'call_log',
  'debug',
]);

/** A message a client wrote to us: not ours, not in a group, status or channel, not a system entry. */
export function isClientMessage(m: Pick<WhatsAppMessageLike, 'from' | 'fromMe' | 'isStatus' | 'type'>): boolean {
  return !m.fromMe && !m.isStatus && !notAClient(m.from) && !systemTypes.has(m.type);
}

/** A phone from a WhatsApp id: `79161234567@c.us` → +79161234567 (linked `@lid` ids carry none). */
export function phoneFromJid(jid: string): string | undefined {
  const digits = /^(\d{7,15})@(c\.us|s\.whatsapp\.net)$/.exec(jid)?.[1];
  return digits ? `+${digits}` : undefined;
}

/** What a file is, from the WhatsApp message type (an `audio/ogg` is a voice note only when it is a `ptt`). */
export function attachmentKindOfType(type: string, mime: string): AttachmentKind {
  switch (type) {
    case 'ptt':
      return 'voice';
    case 'audio':
      return 'audio';
    case 'video':
      return 'video';
    // a round video message
    case 'ptv':
      return 'video_note';
    case 'image':
      return 'photo';
    case 'sticker':
      return 'sticker';
    case 'document':
      return 'document';
    default:
      return attachmentKindOf(mime);
  }
}

/** A name for a file WhatsApp sends without one (photos, voice notes): `voice.ogg`, `photo.jpeg`. */
export function mediaFileName(kind: AttachmentKind, mime: string, filename?: string | null): string {
  if (filename) return filename;
  const subtype = mime.split(';')[0]!.trim().split('/')[1] ?? '';
  const ext = { mpeg: 'mp3', 'x-m4a': 'm4a', quicktime: 'mov', plain: 'txt' }[subtype] ?? (/^[a-z0-9]{1,5}$/.test(subtype) ? subtype : 'bin');
  return `${kind}.${ext}`;
}

/** «📍 Геопозиция: Красная площадь, Москва https://yandex.ru/maps/…» — a link opens the point on a map. */
export function locationText(loc: WhatsAppLocationLike): string {
  const place = [loc.name, loc.address]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(', ');
  const lat = Number(loc.latitude);
  const lon = Number(loc.longitude);
  const head = place ? `📍 Геопозиция: ${place}` : '📍 Геопозиция:';
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return place ? head : '📍 Геопозиция (без координат)';
  // Yandex Maps takes the point as longitude,latitude
  return `${head} https://yandex.ru/maps/?pt=${coordinate(lon)},${coordinate(lat)}&z=16&l=map`;
}

/** up to 6 decimals (about 10 cm), never in exponent notation */
const coordinate = (x: number) => String(Number(x.toFixed(6)));

export interface VCardSummary {
  name?: string | undefined;
  /** as people read them: +7 916 123 45 67 (kept as written when not a valid number) */
  phones: string[];
}

/** The name and phones of a vCard (3.0 as WhatsApp writes it: `item1.TEL;waid=79161234567:+7 916 123-45-67`). */
export function parseVCard(card: string): VCardSummary {
  let fn: string | undefined;
  let n: string | undefined;
  const phones: string[] = [];
  // a line starting with a space or a tab continues the previous one
  for (const line of card.replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const [prop = '', ...params] = line.slice(0, colon).split(';');
    const value = line.slice(colon + 1);
    // a group prefix (`item1.`) says which label goes with which phone: not needed here
    const name = prop.slice(prop.lastIndexOf('.') + 1).toUpperCase();
    if (name === 'FN') fn = unescapeVCard(value).trim() || fn;
    else if (name === 'N') n = value;
    else if (name === 'TEL') {
      const waid = params.map((p) => /^waid=(\d{7,15})$/i.exec(p)?.[1]).find(Boolean);
      const e164 = (waid && normalizePhone(`+${waid}`)) || normalizePhone(value.replace(/^tel:/i, ''));
      const shown = e164 ? formatPhone(e164) : value.trim();
      if (shown && !phones.includes(shown)) phones.push(shown);
    }
  }
  // N is «family;given;middle;prefix;suffix»: people read it «given middle family»
  const [family = '', given = '', middle = ''] = (n ?? '').split(';').map(unescapeVCard);
  const fromN = [given, middle, family]
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  return { name: fn || fromN || undefined, phones };
}

const unescapeVCard = (s: string) => s.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? ' ' : c));

/** «📇 Контакт: Иван Петров, +7 903 555 01 02», one line a card. */
export function vCardText(cards: string[]): string {
  return cards
    .map((card) => {
      const { name, phones } = parseVCard(card);
      const parts = [name, ...phones].filter(Boolean);
      return parts.length ? `📇 Контакт: ${parts.join(', ')}` : '📇 Контакт';
    })
    .join('\n');
}

/** The vCards a message carries (`vcard`, `multi_vcard`), or none. */
export function vCardsOf(m: Pick<WhatsAppMessageLike, 'type' | 'body' | 'vCards'>): string[] {
  if (m.type !== 'vcard' && m.type !== 'multi_vcard') return [];
  if (m.vCards?.length) return m.vCards;
  return /^BEGIN:VCARD/i.test(m.body.trim()) ? [m.body] : [];
}

export interface ToInboundOptions {
  /** the phone WhatsApp links a `…@lid` id to (E.164), if it knows one */
  phoneOfLinkedId?: ((jid: string) => Promise<string | undefined>) | undefined;
}

/** A WhatsApp message as the core's InboundMessage. */
export async function toInbound(m: WhatsAppMessageLike, opts: ToInboundOptions = {}): Promise<InboundMessage> {
  // a linked id's contact «number» is the id's digits, not a phone: only WhatsApp's link says it
  const phone = isLinkedId(m.from) ? await opts.phoneOfLinkedId?.(m.from).catch(() => undefined) : phoneFromJid(m.from);
  const contact = m.getContact ? await m.getContact().catch(() => undefined) : undefined;
  const name = contact?.pushname || contact?.name || undefined;

  const attachments: InboundAttachment[] = [];
  const parts: string[] = [];
  const cards = vCardsOf(m);
  if (m.type === 'location' && m.location) {
    // the body of a location is its map thumbnail, not words
    parts.push(locationText(m.location));
  } else if (cards.length) {
    parts.push(vCardText(cards));
    const file = cards.map((c) => c.trim()).join('\r\n');
    attachments.push({ name: cards.length > 1 ? 'contacts.vcf' : 'contact.vcf', mime: 'text/vcard', kind: 'document', data: Buffer.from(file) });
  } else {
    // a media message's body is its caption
    if (m.body) parts.push(m.body);
    if (m.hasMedia) {
      const media = await m.downloadMedia().catch(() => undefined);
      if (media?.data) {
        const kind = attachmentKindOfType(m.type, media.mimetype);
        attachments.push({ name: mediaFileName(kind, media.mimetype, media.filename), mime: media.mimetype, kind, data: Buffer.from(media.data, 'base64') });
      } else {
        parts.push('[файл не удалось загрузить]');
      }
    }
  }
  return {
    channel: 'whatsapp',
    externalUserId: m.from,
    externalChatId: m.from,
    providerMessageId: m.id._serialized,
    name,
    phone,
    text: parts.length ? parts.join('\n') : undefined,
    attachments: attachments.length ? attachments : undefined,
    at: m.timestamp ? new Date(m.timestamp * 1000) : undefined,
  };
}
