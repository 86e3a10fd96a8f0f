import viber from 'viber-bot';
import type { Logger } from 'pino';
import { ChannelSendError } from '../../core/channels/send-error.js';
import type { AdapterStatus, ChannelAdapter, OutboundChoice, OutboundMessage } from '../../core/channels/types.js';
import { createViberBot, ViberApiError } from './client.js';

export interface ViberAdapterOptions {
  authToken: string;
  botName: string;
  apiRoot: string;
  avatar?: string | undefined;
  /** PUBLIC_URL: Viber takes no uploads and fetches a manager's files from the CRM's /files links */
  publicUrl?: string | undefined;
  log: Logger;
}

/** Told to the manager whose files stayed behind (the text still goes). */
export const viberFilesNeedPublicUrl =
  'Viber принимает файлы только по ссылке, а у CRM не задан адрес в интернете (PUBLIC_URL) — попросите администратора его указать';

/**
 * Viber's limits for what a bot sends (REST bot API, send_message). A picture is a JPEG/PNG of
 * up to 1 MB (iOS; Android takes 3), a video an MP4 of up to 26 MB; a bigger one still goes, as
 * a file. A file is up to 50 MB, its name up to 256 characters. A picture's caption is 512
 * characters in the current docs and 120 in the older ones: 120 shows on every client.
 * Decimal megabytes, so a file near a limit is taken for over it rather than refused by Viber.
 */
export const viberLimits = {
  pictureBytes: 1_000_000,
  videoBytes: 26_000_000,
  fileBytes: 50_000_000,
  captionChars: 120,
  fileNameChars: 256,
};

/** Viber's custom keyboard (https://developers.viber.com/docs/tools/keyboards/): buttons under the chat. */
export interface ViberKeyboard {
  Type: 'keyboard';
  DefaultHeight: boolean;
  Buttons: { Columns: number; Rows: number; ActionType: 'reply'; ActionBody: string; Text: string; TextSize: 'regular' | 'large' }[];
}

/** a row is 6 columns wide: up to 6 choices share one row, more go two to a row */
const KEYBOARD_COLUMNS = 6;

/**
 * A message's choices (a rating 1–5) as reply buttons: a tap sends the button's value as the
 * client's own message, which comes back on the webhook like anything the client types.
 */
export function viberKeyboard(choices: OutboundChoice[]): ViberKeyboard {
  const columns = choices.length <= KEYBOARD_COLUMNS ? 1 : KEYBOARD_COLUMNS / 2;
  return {
    Type: 'keyboard',
    DefaultHeight: false,
    Buttons: choices.map((c) => ({ Columns: columns, Rows: 1, ActionType: 'reply', ActionBody: c.value, Text: c.label, TextSize: 'large' })),
  };
}

/** One send_message call. */
export type ViberPart =
  | { type: 'text'; text: string; keyboard?: ViberKeyboard }
  | { type: 'picture'; media: string; caption?: string }
  | { type: 'video'; media: string; size: number }
  | { type: 'file'; media: string; size: number; fileName: string };

const megabytes = (bytes: number) => `${(bytes / 1_000_000).toFixed(1).replace('.', ',')} МБ`;

/** A file name with the extension its link ends in (Viber's clients open a file by it), within Viber's length. */
function viberFileName(name: string, url: string): string {
  const clean = name.trim() || 'file';
  const own = /\.[^./\\\s]{1,10}$/.exec(clean)?.[0];
  const ext = own ?? /\.[a-z0-9]{1,8}$/i.exec(new URL(url).pathname)?.[0] ?? '';
  const stem = own ? clean.slice(0, -own.length) : clean;
  return stem.slice(0, viberLimits.fileNameChars - ext.length) + ext;
}

/**
 * How a reply goes to Viber: the text first as its own message (or as the caption of a single
 * picture when short), then each file by its public link, as a picture, a video or a file.
 * Throws, before anything is sent, when a file cannot go at all.
 */
export function viberParts(message: OutboundMessage): ViberPart[] {
  const files = message.files ?? [];
  const tooBig = files.filter((f) => f.data.length > viberLimits.fileBytes);
  if (tooBig.length) {
    const list = tooBig.map((f) => `«${f.name}» (${megabytes(f.data.length)})`).join(', ');
    throw new ChannelSendError('files over Viber\'s 50 MB limit', {
      permanent: true,
      reason: `Viber не принимает файлы больше 50 МБ: ${list}. Сообщение не отправлено — уменьшите файл или пришлите ссылку на него`,
    });
  }
  const media: ViberPart[] = files.map((f) => {
    // the send job links every file when PUBLIC_URL is set, and the adapter refuses files without it
    if (!f.url) throw new ChannelSendError('a file without a public link', { permanent: true, reason: viberFilesNeedPublicUrl });
    const size = f.data.length;
    const mime = f.mime.toLowerCase();
    if (f.kind === 'photo' && (mime === 'image/jpeg' || mime === 'image/png') && size <= viberLimits.pictureBytes) return { type: 'picture', media: f.url };
    if ((f.kind === 'video' || f.kind === 'video_note') && mime === 'video/mp4' && size <= viberLimits.videoBytes) return { type: 'video', media: f.url, size };
    return { type: 'file', media: f.url, size, fileName: viberFileName(f.name, f.url) };
  });
  const text = message.text;
  const choices = message.choices ?? [];
  // the buttons ride on a text message, sent last so the keyboard stays up under the whole reply
  if (choices.length) return [...media, { type: 'text', text: text || choices.map((c) => c.label).join(' '), keyboard: viberKeyboard(choices) }];
  const only = media.length === 1 ? media[0] : undefined;
  if (text && only?.type === 'picture' && text.length <= viberLimits.captionChars) return [{ ...only, caption: text }];
  return text || !media.length ? [{ type: 'text', text }, ...media] : media;
}

/** Viber's answers that mean the bot itself cannot work until someone fixes it. */
const accountDown: Record<number, string> = {
  2: 'токен недействителен или отозван (VIBER_AUTH_TOKEN)',
  7: 'бот заблокирован Viber',
  8: 'бот не найден',
  9: 'бот приостановлен Viber',
  15: 'бот не авторизован',
  24: 'на счёте бота нет средств',
};
/** Answers about one recipient: trying again will not help. */
const recipientGone: Record<number, string> = {
  5: 'клиент не зарегистрирован в Viber',
  6: 'клиент отписался от бота',
  11: 'у клиента нет подходящего устройства Viber',
  21: 'страна клиента не поддерживается',
  23: 'исчерпан лимит бесплатных сообщений',
};

/**
 * Viber through the viber-bot package: replies go out by `send_message`; client messages come
 * in on the webhook (webhook.ts). Viber is blocked in Russia since December 2024 and bots are paid.
 */
export class ViberAdapter implements ChannelAdapter {
  readonly kind = 'viber' as const;
  /** Viber publishes no per-bot limit; this stays well below what it tolerates */
  readonly sendRate = { max: 10, durationMs: 1000 };
  readonly authToken: string;
  readonly filesUnsupported: string | undefined;
  private readonly bot: viber.Bot;
  private readonly log: Logger;
  private state: AdapterStatus = { ok: true };

  constructor(opts: ViberAdapterOptions) {
    this.authToken = opts.authToken;
    this.filesUnsupported = opts.publicUrl ? undefined : viberFilesNeedPublicUrl;
    this.log = opts.log;
    this.bot = createViberBot({ authToken: opts.authToken, name: opts.botName, avatar: opts.avatar, apiRoot: opts.apiRoot });
  }

  status(): AdapterStatus {
    return this.state;
  }

  /** get_account_info: a revoked token or an unreachable API shows up here, not only on the next send */
  async refresh(): Promise<void> {
    try {
      await this.bot.getBotProfile();
      this.state = { ok: true };
    } catch (err) {
      this.noteFailure(err);
    }
  }

  /**
   * The text and the files, one send_message each (see viberParts); the first message's token
   * stands for the reply. A reply that went out in part is not tried again: that would send
   * its first parts twice.
   */
  async send(message: OutboundMessage): Promise<{ providerMessageId: string }> {
    const parts = viberParts(message);
    const tokens: string[] = [];
    try {
      for (const part of parts) tokens.push(await this.sendPart(message.externalChatId, part));
    } catch (err) {
      const e = toSendError(err);
      if (!(err instanceof ChannelSendError)) this.noteFailure(err);
      if (!tokens.length) throw e;
      throw new ChannelSendError(e.message, {
        permanent: true,
        adapterDown: e.adapterDown,
        reason: `Viber принял не всё: отправлено ${tokens.length} из ${parts.length} (${e.reason})`,
      });
    }
    this.state = { ok: true };
    return { providerMessageId: tokens[0]! };
  }

  private async sendPart(receiver: string, part: ViberPart): Promise<string> {
    const tokens = await this.bot.sendMessage({ id: receiver }, toViberMessage(part));
    const token = tokens[tokens.length - 1];
    if (token === undefined || token === null) throw new ChannelSendError('Viber answered without a message token');
    return String(token);
  }

  /** Registers our webhook URL with Viber (it calls the URL at once, so the server must be listening). */
  async setWebhook(url: string): Promise<void> {
    await this.bot.setWebhook(url);
  }

  private noteFailure(err: unknown): void {
    if (err instanceof ViberApiError) {
      const down = accountDown[err.status];
      if (down) this.state = { ok: false, detail: `Viber: ${down}` };
    } else {
      this.state = { ok: false, detail: 'Viber: нет связи с сервером Viber' };
    }
    this.log.warn({ err }, 'viber: API call failed');
  }
}

export function toViberMessage(part: ViberPart): viber.ViberMessage {
  switch (part.type) {
    case 'text':
      return part.keyboard ? new viber.Message.Text(part.text, part.keyboard) : new viber.Message.Text(part.text);
    case 'picture':
      return new viber.Message.Picture(part.media, part.caption);
    case 'video':
      return new viber.Message.Video(part.media, part.size);
    case 'file':
      return new viber.Message.File(part.media, part.size, part.fileName);
  }
}

/** Answers about the message itself (bad or missing data): the same message fails again. */
const messageRefused = new Set([3, 4]);

function toSendError(err: unknown): ChannelSendError {
  if (err instanceof ChannelSendError) return err;
  if (err instanceof ViberApiError) {
    const down = accountDown[err.status];
    if (down) return new ChannelSendError(err.message, { permanent: true, adapterDown: true, reason: `Viber: ${down}` });
    const gone = recipientGone[err.status];
    if (gone) return new ChannelSendError(err.message, { permanent: true, reason: gone });
    if (err.status === 12) return new ChannelSendError(err.message, { retryAfterMs: 5000, reason: 'слишком много запросов к Viber' });
    if (messageRefused.has(err.status)) return new ChannelSendError(err.message, { permanent: true, reason: `Viber не принял сообщение: ${err.statusMessage}` });
    return new ChannelSendError(err.message, { reason: `Viber ответил ошибкой: ${err.statusMessage}` });
  }
  return new ChannelSendError(err instanceof Error ? err.message : String(err), { reason: 'нет связи с сервером Viber' });
}
