import type { InboundAttachment, InboundMessage } from '../../core/channels/types.js';
import type { WhatsAppMessageLike } from './client.js';

/** Chats that are not one client: groups, status updates, broadcast lists, channels. */
export const notAClient = (jid: string) => /@(g\.us|broadcast|newsletter)$/.test(jid);

/** A phone from a WhatsApp id: `79161234567@c.us` → +79161234567 (linked `@lid` ids carry none). */
export function phoneFromJid(jid: string): string | undefined {
  const digits = /^(\d{7,15})@c\.us$/.exec(jid)?.[1];
  return digits ? `+${digits}` : undefined;
}

/** A WhatsApp message as the core's InboundMessage. */
export async function toInbound(m: WhatsAppMessageLike): Promise<InboundMessage> {
  let phone = phoneFromJid(m.from);
  let name: string | undefined;
  if (m.getContact) {
    const c = await m.getContact().catch(() => undefined);
    name = c?.pushname || c?.name || undefined;
    if (!phone && c?.number && /^\d{7,15}$/.test(c.number)) phone = `+${c.number}`;
  }
  const attachments: InboundAttachment[] = [];
  const parts: string[] = [];
  if (m.hasMedia) {
    const media = await m.downloadMedia().catch(() => undefined);
    if (media?.data) {
      const ext = media.mimetype.split('/')[1]?.split(';')[0] ?? 'bin';
      attachments.push({ name: media.filename || `${m.type}.${ext}`, mime: media.mimetype, data: Buffer.from(media.data, 'base64') });
    } else {
      parts.push('[файл не удалось загрузить]');
    }
  }
  // a media message's body is its caption
  if (m.body) parts.unshift(m.body);
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
