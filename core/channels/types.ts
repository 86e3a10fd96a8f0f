/** The messengers clients write on. Wiring adapters in a Record<ChannelKind, …> makes a missing one a type error. */
export type ChannelKind = 'telegram' | 'whatsapp' | 'viber';
export const channelKinds: readonly ChannelKind[] = ['telegram', 'whatsapp', 'viber'];

export const channelLabel: Record<ChannelKind, string> = { telegram: 'Telegram', whatsapp: 'WhatsApp', viber: 'Viber' };

/** What a file is to a person: a voice note is played, a photo shown, a document opened. */
export const attachmentKinds = ['photo', 'video', 'video_note', 'voice', 'audio', 'sticker', 'document'] as const;
export type AttachmentKind = (typeof attachmentKinds)[number];

export const attachmentKindLabel: Record<AttachmentKind, string> = {
  photo: 'фото',
  video: 'видео',
  video_note: 'видеосообщение',
  voice: 'голосовое сообщение',
  audio: 'аудио',
  sticker: 'стикер',
  document: 'файл',
};

/** The kind a file's type suggests, for channels that do not say. */
export function attachmentKindOf(mime: string): AttachmentKind {
  if (mime.startsWith('image/')) return mime === 'image/webp' ? 'sticker' : 'photo';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/ogg') || mime.startsWith('audio/opus')) return 'voice';
  if (mime.startsWith('audio/')) return 'audio';
  return 'document';
}

export interface InboundAttachment {
  name: string;
  mime: string;
  data: Buffer;
  kind?: AttachmentKind | undefined;
}

/** A provider update, turned by an adapter into what the core understands. */
export interface InboundMessage {
  channel: ChannelKind;
  /** the client's account id on the channel (Telegram user id, WhatsApp jid, Viber user id) */
  externalUserId: string;
  /** where replies go; usually the same as externalUserId */
  externalChatId: string;
  /** the provider's message id: unique per channel, so a retried delivery is stored once */
  providerMessageId: string;
  name?: string | undefined;
  /** a phone the channel vouches for (WhatsApp number, a shared Telegram contact) */
  phone?: string | undefined;
  text?: string | undefined;
  attachments?: InboundAttachment[] | undefined;
  at?: Date | undefined;
  /**
   * Telegram Business: the chat is a manager's own Telegram chat with the client, seen through the
   * connection. What it opens is the manager's (lead responsible, ticket assignee); replies from the
   * CRM go out through the connection. externalChatId and providerMessageId are then the keys
   * core/channels/business.ts makes, so they never meet the bot's own chat with the same person.
   */
  business?: { connectionId: string; userId: number } | undefined;
  /** the manager wrote this one (their own Telegram): stored as an outgoing message of theirs, opens nothing, answers the ticket */
  outgoing?: { authorUserId: number } | undefined;
}

/** A file a manager sends to a client. */
export interface OutboundFile {
  name: string;
  mime: string;
  kind: AttachmentKind;
  data: Buffer;
  /** a public, expiring link to the file (core/channels/file-links.ts), when PUBLIC_URL is set: for channels that fetch files by URL */
  url?: string | undefined;
}

/** A button offered with a message (a rating 1–5). A channel without buttons lists the labels in the text. */
export interface OutboundChoice {
  label: string;
  /** what comes back as the client's message when pressed */
  value: string;
}

export interface OutboundMessage {
  externalChatId: string;
  /** may be empty when files carry the message */
  text: string;
  files?: OutboundFile[] | undefined;
  choices?: OutboundChoice[] | undefined;
  /** Telegram Business: send as the manager's own account through this connection */
  businessConnectionId?: string | undefined;
}

export interface AdapterStatus {
  ok: boolean;
  /** shown to admins in Russian when not ok, e.g. «WhatsApp: требуется вход по QR-коду» */
  detail?: string;
}

/** One per messenger, in bots/<channel>/. */
export interface ChannelAdapter {
  readonly kind: ChannelKind;
  send(message: OutboundMessage): Promise<{ providerMessageId: string }>;
  status(): AdapterStatus;
  /** re-checks the provider (e.g. Viber's get_account_info) so that status() is current */
  refresh?(): Promise<void>;
  /**
   * Why this channel cannot carry a manager's files (shown to the manager, in Russian), or
   * undefined when it can. Checked before a reply with files is queued.
   */
  readonly filesUnsupported?: string | undefined;
  /** at most `max` sends per `durationMs` from one process (the provider's limits, or a ban risk) */
  readonly sendRate?: { max: number; durationMs: number };
}
