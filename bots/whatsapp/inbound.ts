import { attachmentKindOf, type AttachmentKind, type InboundAttachment, type InboundMessage } from '../../core/channels/types.js';
import type { WhatsAppMessageLike } from './client.js';
import { locationText, vCardText } from '../../core/channels/location-and-vcard.js';

export { locationText, parseVCard, vCardText } from '../../core/channels/location-and-vcard.js';

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
