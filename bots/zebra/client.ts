import type { Logger } from 'pino';
import { TelephonyError, type PlaceCallRequest, type TelephonyProvider } from '../../core/telephony/types.js';
import { COMMAND_VAR, dateToGregorian } from './inbound.js';

export interface ZebraClientOptions {
  /** https://api.zebratelecom.ru/v1/kazoos, or a local fake in tests */
  apiRoot: string;
  login: string;
  password: string;
  /** the cabinet's SIP domain, NNNNN.ztpbx.ru */
  realm: string;
  log: Logger;
  timeoutMs?: number;
  /** a recording larger than this is refused */
  maxRecordingBytes?: number;
}

interface Session {
  token: string;
  accountId: string;
}

type Json = Record<string, unknown>;

const PROVIDER = 'Зебра Телеком';
const unreachable = () => new TelephonyError(`${PROVIDER} не отвечает, попробуйте позже`, true);
const badCredentials = () =>
  new TelephonyError(`${PROVIDER} не принимает логин, пароль или домен из настроек (ZEBRA_LOGIN, ZEBRA_PASSWORD, ZEBRA_REALM)`, false);

/** a number as Zebra dials it: digits only (E.164 without the plus) */
const digits = (n: string) => n.replace(/\D/g, '');

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);

/**
 * Zebra Telecom's API gateway in front of Kazoo's Crossbar (paths mirror /v2, under /v1/kazoos).
 * A session token from user_auth (login, password, realm) is kept and shared by concurrent calls;
 * a 401 means it expired, so the client signs in again once and repeats the request.
 * No routeCall: moving a live call needs Kazoo's channels API, a paid module Zebra does not sell.
 */
export class ZebraClient implements TelephonyProvider {
  readonly provider = 'zebra' as const;
  private session: Promise<Session> | null = null;
  private readonly root: string;

  constructor(private readonly opts: ZebraClientOptions) {
    this.root = opts.apiRoot.replace(/\/+$/, '');
  }

  /**
   * Kazoo's quickcall on the manager's device (our extension at Zebra is the device id): the phone
   * rings, and once picked up Kazoo dials the client with the line as caller id. POST blocks until
   * the device's channel starts, so an unregistered phone is reported now, not silently dropped.
   * Our command id travels in custom_application_vars and comes back on the call's hooks.
   */
  async placeCall(req: PlaceCallRequest): Promise<{ callKey?: string | undefined }> {
    const number = digits(req.toNumber);
    if (!number) throw new TelephonyError('Не указан номер, на который звонить', false);
    const query = new URLSearchParams();
    if (req.lineNumber && digits(req.lineNumber)) query.set('cid-number', digits(req.lineNumber));
    const res = await this.api('POST', (acc) => `accounts/${acc}/devices/${encodeURIComponent(req.extension)}/quickcall/${number}?${query}`, {
      data: { custom_application_vars: { [COMMAND_VAR]: req.commandId } },
    });
    const body = await readJson(res);
    if (res.status === 404) {
      throw new TelephonyError(`${PROVIDER} не знает устройство «${req.extension}»: проверьте внутренний номер сотрудника (id устройства в кабинете)`, false);
    }
    if (!res.ok) {
      const reason = str((body.data as Json | undefined)?.error_message) ?? str(body.message) ?? `HTTP ${res.status}`;
      this.opts.log.warn({ status: res.status, reason }, 'zebra: quickcall refused');
      if (reason === 'DESTINATION_OUT_OF_ORDER' || reason === 'USER_NOT_REGISTERED' || reason === 'SUBSCRIBER_ABSENT') {
        throw new TelephonyError(`Телефон сотрудника не в сети (${PROVIDER}: ${reason}): включите телефон или софтфон и повторите`, false);
      }
      throw new TelephonyError(`${PROVIDER} не начала звонок: ${reason}`, res.status >= 500);
    }
    // the originated leg's id as Kazoo documents it ("<id>-quickcall"); the hooks carry the command id too
    const endpoints = (body.data as Json | undefined)?.endpoints;
    const callKey = Array.isArray(endpoints) ? str((endpoints[0] as Json | undefined)?.outbound_call_id) : undefined;
    return callKey?.endsWith('-quickcall') ? { callKey } : {};
  }

  /**
   * Zebra files recordings in its CDRs: the row of the call's bridge (our callKey, the first leg)
   * carries REC_LINK (a folder URL) and REC_FILE; the file is fetched with the same token.
   */
  async fetchRecording(req: { recordingId: string; callKey: string }): Promise<{ data: Buffer; mime: string }> {
    const now = new Date();
    const query = new URLSearchParams({
      filter_bridge_id: req.recordingId,
      // Crossbar reads CDRs by date range (at most a month); a week back covers the job's retries
      created_from: String(dateToGregorian(new Date(now.getTime() - 7 * 24 * 3600_000))),
      created_to: String(dateToGregorian(new Date(now.getTime() + 3600_000))),
      paginate: 'false',
    });
    const res = await this.api('GET', (acc) => `accounts/${acc}/cdrs?${query}`);
    const body = await readJson(res);
    if (!res.ok) throw new TelephonyError(`${PROVIDER} не выдала журнал звонков: HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    const rows = Array.isArray(body.data) ? (body.data as Json[]) : [];
    const row = rows.find((r) => str(r.REC_FILE ?? r.rec_file) && str(r.REC_LINK ?? r.rec_link));
    if (!row) {
      // the CDR is written a little after the hangup; a call that was not recorded never gets a file
      throw new TelephonyError(rows.length ? 'Разговор не записан' : 'Запись разговора ещё не готова', rows.length === 0);
    }
    const link = str(row.REC_LINK ?? row.rec_link)!;
    const url = new URL(encodeURI(str(row.REC_FILE ?? row.rec_file)!), link.endsWith('/') ? link : `${link}/`);
    // the token goes only to Zebra's own API host, never to a host a CDR names
    const ours = url.host === new URL(this.root).host;
    const file = ours ? await this.api('GET', () => url.toString(), undefined, 'audio/mpeg') : await this.fetch('GET', url.toString(), {});
    if (!file.ok) throw new TelephonyError(`Файл записи не получен: HTTP ${file.status}`, file.status === 404 || file.status >= 500);
    const max = this.opts.maxRecordingBytes ?? 200 * 1024 * 1024;
    if (Number(file.headers.get('content-length') ?? 0) > max) throw new TelephonyError('Файл записи слишком большой', false);
    const data = Buffer.from(await file.arrayBuffer());
    if (data.length > max) throw new TelephonyError('Файл записи слишком большой', false);
    const type = file.headers.get('content-type')?.split(';')[0]?.trim();
    return { data, mime: type && type.startsWith('audio/') ? type : 'audio/mpeg' };
  }

  /**
   * A request with the session token; a 401 (the token expired or was revoked) signs in again
   * once and repeats it. `path` gets the account id; an absolute URL is used as is.
   */
  private async api(method: string, path: (accountId: string) => string, body?: Json, accept?: string): Promise<Response> {
    let session = await this.signIn();
    for (let attempt = 0; ; attempt++) {
      const target = path(session.accountId);
      const url = /^https?:/.test(target) ? target : `${this.root}/${target}`;
      const res = await this.fetch(method, url, { 'x-auth-token': session.token, ...(accept ? { accept } : {}) }, body);
      if (res.status !== 401 || attempt > 0) {
        if (res.status === 401) throw badCredentials();
        return res;
      }
      await res.body?.cancel();
      this.opts.log.info('zebra: the session token expired, signing in again');
      session = await this.renew(session);
    }
  }

  /** the session, signing in when there is none; concurrent callers share one user_auth, a failed one is forgotten */
  private signIn(): Promise<Session> {
    if (!this.session) {
      const p = this.userAuth();
      this.session = p;
      p.catch(() => {
        if (this.session === p) this.session = null;
      });
    }
    return this.session;
  }

  /** after a 401: a new session, unless a concurrent request has made one already */
  private async renew(stale: Session): Promise<Session> {
    const p = this.session;
    const current = p ? await p.catch(() => null) : null;
    if (current && current.token !== stale.token) return current;
    if (this.session === p) this.session = null;
    return this.signIn();
  }

  private async userAuth(): Promise<Session> {
    const { login, password, realm } = this.opts;
    const res = await this.fetch('PUT', `${this.root}/user_auth`, {}, { data: { login, password, realm } });
    const body = await readJson(res);
    const data = (body.data ?? {}) as Json;
    const errorCode = str(body.error_code);
    const token = str(data.auth_token) ?? str(body.auth_token);
    const accountId = str(data.account_id) ?? str(body.ACCOUNT_ID);
    if (res.status === 401 || res.status === 403 || (errorCode && errorCode !== '0')) {
      this.opts.log.warn({ status: res.status, errorCode, message: body.error_message ?? body.message }, 'zebra: user_auth refused');
      throw badCredentials();
    }
    if (!res.ok || !token || !accountId) {
      this.opts.log.warn({ status: res.status }, 'zebra: user_auth answered without a token');
      throw new TelephonyError(`${PROVIDER} не выдала ключ доступа (HTTP ${res.status}), попробуйте позже`, true);
    }
    return { token, accountId };
  }

  private async fetch(method: string, url: string, headers: Record<string, string>, body?: Json): Promise<Response> {
    try {
      return await fetch(url, {
        method,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 20_000),
      });
    } catch (err) {
      this.opts.log.warn({ err, url: url.replace(/\?.*$/, '') }, 'zebra: API unreachable');
      throw unreachable();
    }
  }
}

async function readJson(res: Response): Promise<Json> {
  try {
    const v: unknown = await res.json();
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
}
