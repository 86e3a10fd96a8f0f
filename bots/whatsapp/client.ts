import type { OutboundFile } from '../../core/channels/types.js';

/**
 * The seam between the WhatsApp adapter and whatsapp-web.js: the few members of its `Client`
 * the adapter uses. The real client (a Chromium running WhatsApp Web) satisfies it; tests use a
 * stand-in, since WhatsApp Web cannot be reached offline.
 */
export interface WhatsAppMediaLike {
  mimetype: string;
  /** base64 */
  data: string;
  filename?: string | null | undefined;
}

/** whatsapp-web.js's Location: numbers at run time, though its typings say strings */
export interface WhatsAppLocationLike {
  latitude: number | string;
  longitude: number | string;
  name?: string | undefined;
  address?: string | undefined;
}

export interface WhatsAppMessageLike {
  id: { _serialized: string };
  /** the chat: `79161234567@c.us`, a linked id `…@lid`, a group `…@g.us` */
  from: string;
  /** the text, a media message's caption, a vCard's text — or a location's base64 thumbnail */
  body: string;
  fromMe: boolean;
  /** seconds */
  timestamp: number;
  /** `chat`, `image`, `ptt`, `location`, `vcard`, `multi_vcard`… (whatsapp-web.js MessageTypes) */
  type: string;
  hasMedia: boolean;
  isStatus?: boolean;
  /** set on `location` messages */
  location?: WhatsAppLocationLike | undefined;
  /** the cards of `vcard` and `multi_vcard` messages */
  vCards?: string[];
  downloadMedia(): Promise<WhatsAppMediaLike | undefined>;
  getContact?(): Promise<{ number?: string; pushname?: string; name?: string }>;
}

/** A chat in WhatsApp Web's list (whatsapp-web.js Chat). */
export interface WhatsAppChatLike {
  id: { _serialized: string };
  isGroup: boolean;
  unreadCount: number;
  /** seconds: the last activity */
  timestamp: number;
  /** the last `limit` messages (of the client's only with `fromMe: false`), oldest first */
  fetchMessages(options: { limit: number; fromMe?: boolean }): Promise<WhatsAppMessageLike[]>;
}

/** The options of Client.sendMessage the adapter uses. */
export interface WhatsAppSendOptions {
  caption?: string;
  sendAudioAsVoice?: boolean;
  sendMediaAsSticker?: boolean;
  sendMediaAsDocument?: boolean;
}

export interface WhatsAppClientLike {
  on(event: 'qr', listener: (qr: string) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'message', listener: (message: WhatsAppMessageLike) => void): unknown;
  on(event: 'disconnected', listener: (reason: string) => void): unknown;
  on(event: 'auth_failure', listener: (message: string) => void): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  /** media must be whatsapp-web.js's own MessageMedia for the real client (see toMedia) */
  sendMessage(chatId: string, content: string | WhatsAppMediaLike, options?: WhatsAppSendOptions): Promise<{ id: { _serialized: string } } | null | undefined>;
  getChats(): Promise<WhatsAppChatLike[]>;
  /** the phone a linked id stands for (and back): `pn` is `79161234567@c.us`, missing when unknown */
  getContactLidAndPhone(userIds: string[]): Promise<{ lid?: string | undefined; pn?: string | undefined }[]>;
}

export interface WhatsAppClientOptions {
  /** LocalAuth keeps the paired session here, so a restart needs no new QR code */
  sessionDir: string;
  /** Debian's chromium; the project never downloads a browser */
  chromiumPath: string;
}

/**
 * A manager's file as whatsapp-web.js's MessageMedia: the real client sends media only when it is
 * an instance of that class. Loaded on demand, like the client.
 */
export async function toMedia(file: OutboundFile): Promise<WhatsAppMediaLike> {
  const wweb = (await import('whatsapp-web.js')).default;
  return new wweb.MessageMedia(file.mime, file.data.toString('base64'), file.name, file.data.length);
}

/** The real whatsapp-web.js client. Loaded on demand: importing it pulls puppeteer. */
export async function createWhatsAppClient(opts: WhatsAppClientOptions): Promise<WhatsAppClientLike> {
  const wweb = (await import('whatsapp-web.js')).default;
  const client: WhatsAppClientLike = new wweb.Client({
    authStrategy: new wweb.LocalAuth({ dataPath: opts.sessionDir }),
    puppeteer: {
      executablePath: opts.chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  });
  return client;
}
