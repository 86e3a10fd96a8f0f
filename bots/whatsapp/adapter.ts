import type { Logger } from 'pino';
import qrcode from 'qrcode-terminal';
import { ChannelSendError } from '../../core/channels/send-error.js';
import type { AdapterStatus, ChannelAdapter, InboundMessage, OutboundFile, OutboundMessage } from '../../core/channels/types.js';
import { isClientMessage, notAClient, phoneFromJid, toInbound } from './inbound.js';
import { toMedia, type WhatsAppChatLike, type WhatsAppClientLike, type WhatsAppMediaLike, type WhatsAppMessageLike, type WhatsAppSendOptions } from './client.js';

export interface WhatsAppAdapterOptions {
  /** hands a client's message to the core (the channel's inbound sink, which retries) */
  sink: (message: InboundMessage) => Promise<unknown>;
  log: Logger;
  /** after a logout, how long before a new session (and QR code) is started */
  restartDelayMs?: number;
  /** after a failed start (no browser, no network), how long before the next try */
  retryDelayMs?: number;
  /** keeps the current pairing code where the admin panel reads it (null once paired) */
  onPairingCode?: (code: string | null) => Promise<void>;
  /** a manager's file as the client's media; whatsapp-web.js's MessageMedia unless told otherwise */
  toMedia?: (file: OutboundFile) => Promise<WhatsAppMediaLike>;
}

/**
 * The catch-up after `ready` reads at most this many chats with unread messages (the most
 * recently active) and at most this many messages of each: a long outage must not keep the
 * browser busy for an hour.
 */
export const CATCH_UP_CHATS = 50;
export const CATCH_UP_MESSAGES = 100;

/** WhatsApp shows up to 1024 characters under a photo or a file; a longer text goes as its own message */
const MAX_CAPTION = 1024;
/** the kinds WhatsApp shows a caption under */
const captioned = new Set<OutboundFile['kind']>(['photo', 'video', 'video_note', 'document']);

type State = 'starting' | 'qr' | 'ready' | 'logged_out' | 'auth_failure' | 'failed';

const detail: Record<Exclude<State, 'ready'>, string> = {
  starting: 'WhatsApp: подключается',
  qr: 'WhatsApp: требуется вход по QR-коду',
  logged_out: 'WhatsApp: сеанс завершён, требуется вход по QR-коду',
  auth_failure: 'WhatsApp: ошибка входа, требуется новый QR-код',
  failed: 'WhatsApp: не удалось запустить (браузер или WhatsApp Web недоступны)',
};

/**
 * WhatsApp through whatsapp-web.js (an unofficial client driving WhatsApp Web). Runs only with
 * WHATSAPP_ENABLED=true. Outbound is slowed down on purpose: WhatsApp bans numbers that send a
 * lot, especially to people who never wrote to them.
 */
export class WhatsAppAdapter implements ChannelAdapter {
  readonly kind = 'whatsapp' as const;
  readonly sendRate = { max: 1, durationMs: 3000 };
  private state: State = 'starting';
  private qr: string | null = null;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();
  /** bumped on every `ready` and disconnect: a catch-up of an earlier session gives up */
  private session = 0;

  constructor(
    private readonly client: WhatsAppClientLike,
    private readonly opts: WhatsAppAdapterOptions,
  ) {
    client.on('qr', (qr) => this.onQr(qr));
    client.on('ready', () => {
      this.state = 'ready';
      this.qr = null;
      this.session++;
      this.sharePairingCode(null);
      opts.log.info('whatsapp: ready');
      // in the background: `ready` (and sending) does not wait for the chats to be read
      this.track(this.catchUp(this.session));
    });
    client.on('disconnected', (reason) => this.onDisconnected(reason));
    client.on('auth_failure', (message) => {
      this.state = 'auth_failure';
      opts.log.error({ reason: message }, 'whatsapp: authentication failed');
    });
    client.on('message', (m) => this.track(this.onMessage(m)));
  }

  /** stop() waits for the work under way */
  private track(work: Promise<void>): void {
    const done = work.finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  /** Starts the browser session; returns at once (pairing may wait for a QR scan for a long time). */
  start(): void {
    this.stopped = false;
    this.state = 'starting';
    this.initialize();
  }

  private initialize(): void {
    this.client.initialize().catch((err: unknown) => {
      this.state = 'failed';
      this.opts.log.error({ err }, 'whatsapp: could not start the client; trying again in a minute');
      this.restartLater(this.opts.retryDelayMs ?? 60_000);
    });
  }

  /** a fresh session after `ms`: a new QR code after a logout, another try after a failed start */
  private restartLater(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      void this.client
        .destroy()
        .catch(() => undefined)
        .then(() => {
          // still logged out or failed (not «starting») until WhatsApp Web is ready again
          if (!this.stopped) this.initialize();
        });
    }, ms);
    this.restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await Promise.all(this.inflight);
    await this.client.destroy().catch((err: unknown) => this.opts.log.warn({ err }, 'whatsapp: destroy failed'));
  }

  /** The code to scan in WhatsApp → Linked devices, while pairing is needed (for the admin panel). */
  currentQr(): string | null {
    return this.qr;
  }

  status(): AdapterStatus {
    if (this.state === 'ready') return { ok: true };
    // still starting is not an outage yet: Chromium and WhatsApp Web take a while to load
    if (this.state === 'starting') return { ok: true, detail: detail.starting };
    return { ok: false, detail: detail[this.state] };
  }

  /**
   * The text and the files: the text is the caption of a single file that shows one, otherwise it
   * goes first as its own message. The first message WhatsApp accepted stands for all of them.
   */
  async send(message: OutboundMessage): Promise<{ providerMessageId: string }> {
    if (this.state !== 'ready') {
      throw new ChannelSendError(`whatsapp is ${this.state}`, { adapterDown: true, reason: 'WhatsApp не подключён (нужен вход по QR-коду)' });
    }
    const chatId = message.externalChatId;
    const files = message.files ?? [];
    const text = withChoices(message);
    const caption = files.length === 1 && captioned.has(files[0]!.kind) && text.length <= MAX_CAPTION ? text : '';
    const textAlone = !files.length || (text !== '' && !caption);
    const parts = files.length + (textAlone ? 1 : 0);
    const ids: string[] = [];
    try {
      if (textAlone) ids.push(await this.post(chatId, text));
      for (const file of files) ids.push(await this.post(chatId, await (this.opts.toMedia ?? toMedia)(file), mediaOptions(file, caption)));
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      // trying again would send the parts already out a second time
      if (ids.length) throw new ChannelSendError(text, { permanent: true, reason: `WhatsApp принял не всё: отправлено ${ids.length} из ${parts}` });
      throw new ChannelSendError(text, { reason: 'WhatsApp не принял сообщение' });
    }
    return { providerMessageId: ids[0]! };
  }

  private async post(chatId: string, content: string | WhatsAppMediaLike, options?: WhatsAppSendOptions): Promise<string> {
    const sent = options ? await this.client.sendMessage(chatId, content, options) : await this.client.sendMessage(chatId, content);
    // whatsapp-web.js answers nothing when WhatsApp Web has no such chat
    if (!sent) throw new Error(`whatsapp-web.js sent nothing to ${chatId}`);
    return sent.id._serialized;
  }

  private sharePairingCode(code: string | null): void {
    void this.opts.onPairingCode?.(code).catch((err: unknown) => this.opts.log.warn({ err }, 'whatsapp: pairing code not saved'));
  }

  private onQr(qr: string): void {
    this.state = 'qr';
    this.qr = qr;
    this.sharePairingCode(qr);
    qrcode.generate(qr, { small: true }, (ascii) => {
      this.opts.log.warn(`whatsapp: scan this QR code in WhatsApp → Linked devices (also on the admin panel's integrations page)\n${ascii}`);
    });
  }

  private onDisconnected(reason: string): void {
    this.state = 'logged_out';
    this.session++;
    this.qr = null;
    this.sharePairingCode(null);
    this.opts.log.warn({ reason }, 'whatsapp: disconnected');
    this.restartLater(this.opts.restartDelayMs ?? 5000);
  }

  private async onMessage(m: WhatsAppMessageLike): Promise<void> {
    if (!isClientMessage(m)) return;
    try {
      await this.opts.sink(await toInbound(m, { phoneOfLinkedId: (jid) => this.phoneOfLinkedId(jid) }));
    } catch (err) {
      // WhatsApp Web does not deliver it again: the sink has retried, so this is logged for an operator
      this.opts.log.error({ err, id: m.id._serialized }, 'whatsapp: a message could not be stored');
    }
  }

  /** WhatsApp's own link from a `…@lid` id to the phone behind it, when it knows one */
  private async phoneOfLinkedId(jid: string): Promise<string | undefined> {
    try {
      const [link] = await this.client.getContactLidAndPhone([jid]);
      return link?.pn ? phoneFromJid(link.pn) : undefined;
    } catch (err) {
      this.opts.log.warn({ err, jid }, 'whatsapp: no phone for a linked id');
      return undefined;
    }
  }

  /**
   * WhatsApp Web does not replay what arrived while no session was open: the unread client
   * messages of the most recently active chats are handed to the sink, oldest first. A message
   * already stored is stored once (the core keys it by its id), so reading it again is harmless.
   * The chats are left unread in WhatsApp: a read receipt would tell the client someone read it.
   */
  private async catchUp(session: number): Promise<void> {
    const current = () => !this.stopped && this.session === session;
    let chats: WhatsAppChatLike[];
    try {
      chats = (await this.client.getChats())
        .filter((c) => c.unreadCount > 0 && !c.isGroup && !notAClient(c.id._serialized))
        .sort((a, b) => b.timestamp - a.timestamp)
        .slice(0, CATCH_UP_CHATS);
    } catch (err) {
      if (current()) this.opts.log.error({ err }, 'whatsapp: the chat list could not be read; unread messages are not taken in');
      return;
    }
    let handed = 0;
    for (const chat of chats) {
      if (!current()) return;
      let unread: WhatsAppMessageLike[];
      try {
        unread = await chat.fetchMessages({ limit: Math.min(chat.unreadCount, CATCH_UP_MESSAGES), fromMe: false });
      } catch (err) {
        if (current()) this.opts.log.error({ err, chat: chat.id._serialized }, 'whatsapp: unread messages of a chat could not be read');
        continue;
      }
      for (const m of unread.filter(isClientMessage).sort((a, b) => a.timestamp - b.timestamp)) {
        if (!current()) return;
        await this.onMessage(m);
        handed++;
      }
    }
    if (handed) this.opts.log.info({ messages: handed, chats: chats.length }, 'whatsapp: unread messages taken in after the session opened');
  }
}

/**
 * WhatsApp Web gives a linked device no buttons: a message's choices (a rating 1–5) are a line
 * under the text, and the client's typed answer comes back as an ordinary message.
 */
export function withChoices(message: Pick<OutboundMessage, 'text' | 'choices'>): string {
  const choices = message.choices ?? [];
  if (!choices.length) return message.text;
  const digits = choices.every((c) => /^\d+$/.test(c.label));
  const line = digits
    ? `Ответьте цифрой: ${choices.map((c) => c.label).join(' ')}`
    : `Ответьте одним из вариантов: ${choices.map((c) => c.label).join(', ')}`;
  return [message.text, line].filter(Boolean).join('\n\n');
}

/** how WhatsApp is to show a file: a voice note with a waveform, a sticker, a document with its name */
function mediaOptions(file: OutboundFile, caption: string): WhatsAppSendOptions | undefined {
  const options: WhatsAppSendOptions = {};
  if (caption) options.caption = caption;
  if (file.kind === 'voice') options.sendAudioAsVoice = true;
  // whatsapp-web.js turns an image into a sticker itself; other sticker formats go as files
  else if (file.kind === 'sticker') options[file.mime.startsWith('image/') ? 'sendMediaAsSticker' : 'sendMediaAsDocument'] = true;
  else if (file.kind === 'document') options.sendMediaAsDocument = true;
  return Object.keys(options).length ? options : undefined;
}
