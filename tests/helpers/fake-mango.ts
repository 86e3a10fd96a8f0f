import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mangoSign } from '../../bots/mango/sign.js';

/**
 * A stand-in for Mango Office's VPBX API on 127.0.0.1, both ways.
 *
 *   const mango = await startFakeMango({ apiKey: KEY, apiSalt: SALT });
 *   env: MANGO_API_KEY = KEY, MANGO_API_SALT = SALT, MANGO_API_ROOT = mango.url
 *
 * Commands we send (POST form vpbx_api_key, sign, json to `<url>/<path>`):
 * - every request's key and sign are checked; a wrong key answers {"result":3105}, a wrong sign
 *   {"result":3102}, and neither is recorded.
 * - `mango.commands`: the verified ones in order, `{ path: 'commands/callback', json: {...} }`
 *   (path without the leading slash; also 'commands/route', 'queries/recording/post').
 * - `failNext(path, code)`: the next request to that path answers {"result":code} (HTTP 429 for 429,
 *   HTTP 200 otherwise, as Mango does) and is not recorded.
 * - `setRecording(recordingId, bytes)`: queries/recording/post {recording_id, action} then answers
 *   302 to `<origin>/files/<recordingId>.mp3`, a single-use link serving the bytes as audio/mpeg;
 *   an unknown recording answers {"result":3320}.
 *
 * Events Mango posts to us: `postEvent(crmBase, 'events/call', json, { forge? , key? })` POSTs the
 * signed form to `<crmBase>/webhooks/mango/events/call` and resolves with the HTTP status. `forge`
 * signs with a wrong salt; `key` sends another vpbx_api_key. `json` may be an object or the exact
 * string. Builders for typical events: incomingAppeared, outgoingAppeared, connected, disconnected,
 * summary, recordingCompleted, recordAdded, callbackResult (exported below and on the fake).
 */
export interface MangoCommand {
  path: string;
  json: Record<string, unknown>;
}

export type MangoEventPath = 'events/call' | 'events/summary' | 'events/recording' | 'events/record/added' | 'result/callback' | 'result/route' | 'ping';

export interface FakeMango {
  /** MANGO_API_ROOT: `http://127.0.0.1:<port>/vpbx` */
  readonly url: string;
  readonly commands: MangoCommand[];
  /** requests refused for a wrong key or sign */
  readonly refused: { path: string; result: number }[];
  setRecording(recordingId: string, bytes: Buffer): void;
  failNext(path: string, result: number): void;
  postEvent(crmBase: string, path: MangoEventPath, json: object | string, opts?: { forge?: boolean; key?: string }): Promise<number>;
  close(): Promise<void>;
  readonly events: typeof mangoEvents;
}

export async function startFakeMango(opts: { apiKey: string; apiSalt: string }): Promise<FakeMango> {
  const { apiKey, apiSalt } = opts;
  const commands: MangoCommand[] = [];
  const refused: { path: string; result: number }[] = [];
  const recordings = new Map<string, Buffer>();
  const links = new Map<string, Buffer>();
  const failures: { path: string; result: number }[] = [];
  let origin = '';

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname.startsWith('/files/')) {
      const data = links.get(url.pathname);
      if (!data) return answer(res, 404, { result: 3320 });
      links.delete(url.pathname);
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': data.length });
      return void res.end(data);
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/vpbx/')) return answer(res, 200, { result: 3101 });
    const path = url.pathname.slice('/vpbx/'.length).replace(/\/$/, '');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const key = form.get('vpbx_api_key');
    const sign = form.get('sign');
    const json = form.get('json');
    if (key !== apiKey) {
      refused.push({ path, result: 3105 });
      return answer(res, 200, { result: 3105 });
    }
    if (json === null || sign !== mangoSign(apiKey, json, apiSalt)) {
      refused.push({ path, result: 3102 });
      return answer(res, 200, { result: 3102 });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(json) as Record<string, unknown>;
    } catch {
      return answer(res, 200, { result: 3104 });
    }
    const failure = failures.findIndex((f) => f.path === path);
    if (failure >= 0) {
      const { result } = failures.splice(failure, 1)[0]!;
      return answer(res, result === 429 ? 429 : 200, { result });
    }
    commands.push({ path, json: body });
    if (path === 'queries/recording/post') {
      const id = String(body.recording_id ?? '');
      const data = recordings.get(id);
      if (!data) return answer(res, 200, { result: 3320 });
      const link = `/files/${encodeURIComponent(id)}.mp3`;
      links.set(link, data);
      res.writeHead(302, { location: `${origin}${link}` });
      return void res.end();
    }
    return answer(res, 200, { result: 1000 });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => answer(res, 500, { result: 5000 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${origin}/vpbx`,
    commands,
    refused,
    events: mangoEvents,
    setRecording: (id, bytes) => void recordings.set(id, bytes),
    failNext: (path, result) => void failures.push({ path: path.replace(/^\//, ''), result }),
    async postEvent(crmBase, path, json, o = {}) {
      const text = typeof json === 'string' ? json : JSON.stringify(json);
      const sendKey = o.key ?? apiKey;
      const sign = mangoSign(sendKey, text, o.forge ? `${apiSalt}-forged` : apiSalt);
      const res = await fetch(`${crmBase}/webhooks/mango/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ vpbx_api_key: sendKey, sign, json: text }).toString(),
      });
      await res.arrayBuffer();
      return res.status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);
const sipOf = (extension: string) => `sip:user${extension}@vpbx400000001.mangosip.ru`;

interface LegOpts {
  entryId: string;
  callId: string;
  /** the client's number, e.g. '79161234567' */
  from: string;
  /** our line (DID) the client called */
  line: string;
  seq?: number;
  /** the employee's leg; absent: the call is in the IVR / queue */
  extension?: string;
  commandId?: string;
  timestamp?: number;
}

function leg(o: LegOpts, state: string, extra: Record<string, unknown> = {}) {
  return {
    entry_id: o.entryId,
    call_id: o.callId,
    timestamp: o.timestamp ?? now(),
    seq: o.seq ?? 1,
    call_state: state,
    location: o.extension ? 'abonent' : 'ivr',
    from: { number: o.from },
    to: o.extension ? { extension: o.extension, number: sipOf(o.extension), line_number: o.line } : { number: o.line, line_number: o.line },
    dct: { type: 0 },
    ...(o.commandId ? { command_id: o.commandId } : {}),
    ...extra,
  };
}

interface OutLegOpts {
  entryId: string;
  callId: string;
  extension: string;
  /** the client's number dialled */
  to: string;
  line: string;
  seq?: number;
  commandId?: string;
  timestamp?: number;
}

function outLeg(o: OutLegOpts, state: string, extra: Record<string, unknown> = {}) {
  return {
    entry_id: o.entryId,
    call_id: o.callId,
    timestamp: o.timestamp ?? now(),
    seq: o.seq ?? 1,
    call_state: state,
    location: 'abonent',
    from: { extension: o.extension, number: sipOf(o.extension) },
    to: { number: o.to, line_number: o.line },
    dct: { type: 0 },
    ...(o.commandId ? { command_id: o.commandId, callback_initiator: 'API' } : {}),
    ...extra,
  };
}

export interface SummaryOpts {
  entryId: string;
  /** 'in' → call_direction 1, 'out' → 2, 'internal' → 0 */
  direction?: 'in' | 'out' | 'internal';
  /** the client's number (from for in, to for out) */
  client: string;
  line: string;
  /** the employee who answered (in) or placed (out) */
  extension?: string;
  /** unix seconds; defaults: create = now - 60 */
  createTime?: number;
  /** unix seconds when answered; 0 or absent: not answered */
  talkTime?: number;
  endTime?: number;
  /** defaults: 1 when talkTime, else 0 */
  entryResult?: 0 | 1;
  disconnectReason?: number;
}

/** Typical events as Mango sends them (json of the form); numbers as numbers. */
export const mangoEvents = {
  /** an incoming call appears: in the IVR (no extension) or on an employee's phone (extension) */
  incomingAppeared: (o: LegOpts) => leg(o, 'Appeared'),
  /** the employee (extension) picked up */
  connected: (o: LegOpts & { extension: string }) => leg({ seq: 2, ...o }, 'Connected'),
  /** one leg hung up (1110 caller hung up, 1120 callee, 1111 no answer…) */
  disconnected: (o: LegOpts & { reason?: number }) => leg({ seq: 3, ...o }, 'Disconnected', { disconnect_reason: o.reason ?? 1110 }),
  /** click-to-call: the employee's leg of commands/callback */
  outgoingAppeared: (o: OutLegOpts) => outLeg(o, 'Appeared'),
  outgoingConnected: (o: OutLegOpts) => outLeg({ seq: 2, ...o }, 'Connected'),
  summary(o: SummaryOpts) {
    const end = o.endTime ?? now();
    const create = o.createTime ?? end - 60;
    const talk = o.talkTime ?? 0;
    const direction = o.direction ?? 'in';
    const employee = o.extension ? { extension: o.extension, number: sipOf(o.extension) } : { number: o.line };
    return {
      entry_id: o.entryId,
      call_direction: direction === 'in' ? 1 : direction === 'out' ? 2 : 0,
      from: direction === 'out' ? employee : { number: o.client },
      to: direction === 'out' ? { number: o.client } : employee,
      line_number: o.line,
      create_time: create,
      forward_time: talk ? create + 5 : 0,
      talk_time: talk,
      end_time: end,
      entry_result: o.entryResult ?? (talk ? 1 : 0),
      disconnect_reason: o.disconnectReason ?? (talk ? 1120 : 1110),
    };
  },
  recordingCompleted: (o: { entryId: string; callId: string; recordingId: string; extension?: string; completionCode?: number; seq?: number }) => ({
    entry_id: o.entryId,
    call_id: o.callId,
    recording_id: o.recordingId,
    recording_state: 'Completed',
    seq: o.seq ?? 2,
    extension: o.extension ?? '',
    timestamp: now(),
    completion_code: o.completionCode ?? 1000,
    recipient: 'Cloud',
  }),
  recordAdded: (o: { entryId: string; recordingId: string }) => ({
    entry_id: o.entryId,
    product_id: 400000001,
    user_id: -1,
    recording_id: o.recordingId,
    timestamp: now(),
  }),
  callbackResult: (o: { commandId: string; result?: number }) => ({ command_id: o.commandId, result: o.result ?? 1000 }),
};

export const { incomingAppeared, connected, disconnected, outgoingAppeared, outgoingConnected, summary, recordingCompleted, recordAdded, callbackResult } = mangoEvents;

/** A fresh Mango-looking id (entry_id, call_id, recording_id). */
export const mangoId = (prefix = '') => `${prefix}${randomBytes(9).toString('base64url')}`;
