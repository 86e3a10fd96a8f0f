import type { Logger } from 'pino';
import { TelephonyError, type PlaceCallRequest, type TelephonyProvider } from '../../core/telephony/types.js';
import { mangoForm } from './sign.js';

export interface MangoClientOptions {
  apiKey: string;
  apiSalt: string;
  /** https://app.mango-office.ru/vpbx, or a fake on loopback in tests */
  apiRoot: string;
  log: Logger;
  /** per request to Mango; the recording's download gets longer */
  timeoutMs?: number;
}

type Command = 'commands/callback' | 'commands/route' | 'queries/recording/post';

const KEY_OR_SIGN = 'Mango Office: неверный ключ или подпись API — проверьте MANGO_API_KEY и MANGO_API_SALT';
const UNAVAILABLE = 'Mango Office временно недоступен, попробуйте позже';

/** Mango wants numbers as digits only: 74951234567. */
const digits = (phone: string) => phone.replace(/\D/g, '');

/**
 * What Mango's result code means for the user, by command (VPBX API v1.9, result codes). 1000 is
 * success and never gets here. Retryable: Mango's own failures (5xxx), and a recording not yet in
 * the cloud (3320: Mango says to ask again in about a minute).
 */
export function mangoResultError(command: Command, code: number): TelephonyError {
  if (code === 3102 || code === 3105) return new TelephonyError(KEY_OR_SIGN, false);
  if (code >= 5000 && code < 6000) return new TelephonyError(UNAVAILABLE, true);
  if (command === 'queries/recording/post' && (code === 3320 || code === 3300)) {
    return new TelephonyError('Mango Office: запись разговора ещё не готова', true);
  }
  if (code === 3200 || code === 3330) return new TelephonyError('Mango Office: неверный или несуществующий номер абонента', false);
  if (code === 3310 || code === 4101) return new TelephonyError('Mango Office: звонок уже завершён или не найден', false);
  if (code >= 3300 && code < 3400) {
    return new TelephonyError(
      command === 'queries/recording/post'
        ? 'Mango Office: запись разговора не найдена'
        : 'Mango Office: не найден номер или внутренний номер сотрудника — проверьте внутренний номер пользователя и линию',
      false,
    );
  }
  if (code >= 3100 && code < 3200) return new TelephonyError(`Mango Office отклонил запрос как неверный (код ${code})`, false);
  if (code >= 2000 && code < 3000) return new TelephonyError(`Mango Office: звонок запрещён ограничениями счёта или тарифа (код ${code})`, false);
  if (code >= 4200 && code < 4300) return new TelephonyError('Mango Office: не удалось связаться с абонентом', false);
  if (code === 4001) return new TelephonyError('Mango Office: команда не поддерживается вашей АТС', false);
  return new TelephonyError(`Mango Office отказал (код ${code})`, false);
}

/**
 * The Mango Office VPBX API: click-to-call (commands/callback), sending a ringing call to an
 * employee (commands/route) and recordings (queries/recording/post answers a redirect to a
 * single-use link). Every request is a signed form; neither the salt nor a sign is ever logged.
 */
export class MangoClient implements TelephonyProvider {
  readonly provider = 'mango' as const;
  private readonly root: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: MangoClientOptions) {
    this.root = opts.apiRoot.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async placeCall(req: PlaceCallRequest): Promise<{ callKey?: string | undefined }> {
    await this.command('commands/callback', {
      command_id: req.commandId,
      from: { extension: req.extension },
      to_number: digits(req.toNumber),
      ...(req.lineNumber ? { line_number: digits(req.lineNumber) } : {}),
    });
    // Mango's events carry our command_id; the entry_id comes with them
    return {};
  }

  async routeCall(req: { legId: string; extension: string; commandId: string }): Promise<void> {
    await this.command('commands/route', { command_id: req.commandId, call_id: req.legId, to_number: req.extension });
  }

  async fetchRecording(req: { recordingId: string; callKey: string }): Promise<{ data: Buffer; mime: string }> {
    const res = await this.post('queries/recording/post', { recording_id: req.recordingId, action: 'download' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      await this.check('queries/recording/post', res);
      throw new TelephonyError('Mango Office не дал ссылку на запись разговора', true);
    }
    await res.arrayBuffer();
    // the link is temporary and single-use: fetched at once, never stored
    let file: Response;
    try {
      file = await fetch(new URL(location, this.root), { signal: AbortSignal.timeout(Math.max(this.timeoutMs, 60_000)) });
    } catch {
      throw new TelephonyError('Mango Office: не удалось скачать запись разговора', true);
    }
    if (!file.ok) {
      await file.arrayBuffer().catch(() => undefined);
      throw new TelephonyError(`Mango Office: запись разговора не скачалась (HTTP ${file.status})`, true);
    }
    const data = Buffer.from(await file.arrayBuffer());
    const mime = file.headers.get('content-type')?.split(';')[0]?.trim() || 'audio/mpeg';
    return { data, mime: mime === 'application/octet-stream' ? 'audio/mpeg' : mime };
  }

  private async command(path: Command, payload: Record<string, unknown>): Promise<void> {
    await this.check(path, await this.post(path, payload));
  }

  private async post(path: Command, payload: Record<string, unknown>): Promise<Response> {
    try {
      return await fetch(`${this.root}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: mangoForm(this.opts.apiKey, this.opts.apiSalt, payload).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      this.opts.log.warn({ path, err: (err as Error).name }, 'mango: request failed');
      throw new TelephonyError('Mango Office не отвечает, попробуйте позже', true);
    }
  }

  /** Throws the TelephonyError of an answer that is not {"result":1000}. */
  private async check(path: Command, res: Response): Promise<void> {
    const text = await res.text().catch(() => '');
    if (res.status === 429) {
      this.opts.log.warn({ path, status: 429 }, 'mango: rate limited');
      throw new TelephonyError('Mango Office: слишком много запросов, повторите через минуту', true);
    }
    if (res.status >= 500) {
      this.opts.log.warn({ path, status: res.status }, 'mango: server error');
      throw new TelephonyError(UNAVAILABLE, true);
    }
    let body: { result?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: judged by the HTTP status below
    }
    const code = Number(body.result);
    if (code === 1000) return;
    if (Number.isInteger(code) && code > 0) {
      this.opts.log.warn({ path, result: code }, 'mango: command refused');
      throw mangoResultError(path, code);
    }
    // Mango answers 401 once it has seen too many invalid requests
    if (res.status === 401 || res.status === 403) throw new TelephonyError(KEY_OR_SIGN, false);
    this.opts.log.warn({ path, status: res.status }, 'mango: unexpected answer');
    const message = typeof body.message === 'string' && body.message ? `: ${body.message.slice(0, 200)}` : ` (HTTP ${res.status})`;
    throw new TelephonyError(`Mango Office отказал${message}`, false);
  }
}
