import type { Logger } from 'pino';
import qrcode from 'qrcode-terminal';
import { ChannelSendError } from '../../core/channels/send-error.js';
import type { AdapterStatus, ChannelAdapter, InboundMessage, OutboundMessage } from '../../core/channels/types.js';
import { notAClient, toInbound } from './inbound.js';
import type { WhatsAppClientLike, WhatsAppMessageLike } from './client.js';

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
}

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

  constructor(
    private readonly client: WhatsAppClientLike,
    private readonly opts: WhatsAppAdapterOptions,
  ) {
    client.on('qr', (qr) => this.onQr(qr));
    client.on('ready', () => {
      this.state = 'ready';
      this.qr = null;
      this.sharePairingCode(null);
      opts.log.info('whatsapp: ready');
    });
    client.on('disconnected', (reason) => this.onDisconnected(reason));
    client.on('auth_failure', (message) => {
      this.state = 'auth_failure';
      opts.log.error({ reason: message }, 'whatsapp: authentication failed');
    });
    client.on('message', (m) => {
      const done = this.onMessage(m).finally(() => this.inflight.delete(done));
      this.inflight.add(done);
    });
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

  async send(message: OutboundMessage): Promise<{ providerMessageId: string }> {
    if (this.state !== 'ready') {
      throw new ChannelSendError(`whatsapp is ${this.state}`, { adapterDown: true, reason: 'WhatsApp не подключён (нужен вход по QR-коду)' });
    }
    try {
      const sent = await this.client.sendMessage(message.externalChatId, message.text);
      return { providerMessageId: sent.id._serialized };
    } catch (err) {
      throw new ChannelSendError(err instanceof Error ? err.message : String(err), { reason: 'WhatsApp не принял сообщение' });
    }
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
    this.qr = null;
    this.sharePairingCode(null);
    this.opts.log.warn({ reason }, 'whatsapp: disconnected');
    this.restartLater(this.opts.restartDelayMs ?? 5000);
  }

  private async onMessage(m: WhatsAppMessageLike): Promise<void> {
    if (m.fromMe || m.isStatus || notAClient(m.from)) return;
    try {
      await this.opts.sink(await toInbound(m));
    } catch (err) {
      // WhatsApp Web does not deliver it again: the sink has retried, so this is logged for an operator
      this.opts.log.error({ err, id: m.id._serialized }, 'whatsapp: a message could not be stored');
    }
  }
}
