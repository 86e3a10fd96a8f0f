import { z } from 'zod';
import type { InboundAttachment, InboundMessage } from '../../core/channels/types.js';

/** Viber sends 64-bit tokens as numbers: json-bigint gives big ones as strings, small ones as numbers. */
const token = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);

const sender = z.object({ id: z.string().min(1).max(200), name: z.string().max(300).optional() });

const viberMessage = z.object({
  type: z.enum(['text', 'picture', 'video', 'file', 'contact', 'location', 'sticker', 'url', 'rich_media']).or(z.string()),
  text: z.string().optional(),
  media: z.string().optional(),
  file_name: z.string().optional(),
  size: z.number().optional(),
  contact: z.object({ name: z.string().optional(), phone_number: z.string().optional() }).optional(),
  location: z.object({ lat: z.number(), lon: z.number() }).optional(),
});

/** The callbacks of Viber's REST bot API that the CRM acts on; others are acknowledged and ignored. */
export const viberEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('message'), timestamp: z.number().optional(), message_token: token, sender, message: viberMessage }),
  z.object({ event: z.enum(['delivered', 'seen']), message_token: token, user_id: z.string().optional() }),
  z.object({ event: z.literal('failed'), message_token: token, user_id: z.string().optional(), desc: z.string().optional() }),
]);
export type ViberEvent = z.infer<typeof viberEvent>;
export type ViberMessageEvent = Extract<ViberEvent, { event: 'message' }>;

export const handledEvents = new Set(['message', 'delivered', 'seen', 'failed']);

export interface MediaFetcher {
  (url: string): Promise<InboundAttachment>;
}

/**
 * Fetches a file the client sent: Viber gives a URL that expires, so it is copied at once.
 * Limited in size and time, so one huge video cannot stall the webhook.
 */
export function httpMediaFetcher(maxBytes = 25 * 1024 * 1024, timeoutMs = 15_000): MediaFetcher {
  return async (url) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok || !res.body) throw new Error(`media download answered HTTP ${res.status}`);
    if (Number(res.headers.get('content-length') ?? 0) > maxBytes) throw new Error('media file too large');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > maxBytes) throw new Error('media file too large');
      chunks.push(Buffer.from(chunk));
    }
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'file');
    return { name, mime: res.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream', data: Buffer.concat(chunks) };
  };
}

/** A Viber `message` callback as the core's InboundMessage. Files are fetched; a failed fetch is noted in the text. */
export async function toInbound(e: ViberMessageEvent, fetchMedia: MediaFetcher): Promise<InboundMessage> {
  const m = e.message;
  const parts: string[] = [];
  const attachments: InboundAttachment[] = [];
  let phone: string | undefined;
  if (m.text) parts.push(m.text);
  switch (m.type) {
    case 'contact':
      phone = m.contact?.phone_number;
      parts.push(`📇 Контакт: ${[m.contact?.name, m.contact?.phone_number].filter(Boolean).join(', ')}`);
      break;
    case 'location':
      if (m.location) parts.push(`📍 Геопозиция: ${m.location.lat}, ${m.location.lon}`);
      break;
    case 'sticker':
      parts.push('[стикер]');
      break;
    case 'url':
      if (m.media && !m.text) parts.push(m.media);
      break;
    case 'picture':
    case 'video':
    case 'file':
      if (m.media) {
        try {
          const file = await fetchMedia(m.media);
          attachments.push(m.file_name ? { ...file, name: m.file_name } : file);
        } catch {
          parts.push(`[файл не удалось загрузить${m.file_name ? `: ${m.file_name}` : ''}]`);
        }
      }
      break;
  }
  return {
    channel: 'viber',
    externalUserId: e.sender.id,
    externalChatId: e.sender.id,
    providerMessageId: e.message_token,
    name: e.sender.name,
    phone,
    text: parts.length ? parts.join('\n') : undefined,
    attachments: attachments.length ? attachments : undefined,
    at: e.timestamp ? new Date(e.timestamp) : undefined,
  };
}
