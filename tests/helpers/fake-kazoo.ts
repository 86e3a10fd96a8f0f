import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeQuickcall {
  deviceId: string;
  number: string;
  /** the query string (cid-number…) */
  query: Record<string, string>;
  /** the JSON body's data (custom_application_vars…) */
  data: Record<string, unknown>;
  /** the originated leg's id the fake answered with ("<id>-quickcall") */
  callId: string;
}

export interface FakeKazoo {
  /** ZEBRA_API_ROOT */
  url: string;
  accountId: string;
  quickcalls: FakeQuickcall[];
  /** user_auth calls that issued a token */
  signIns: number;
  /** requests refused for a stale or missing X-Auth-Token */
  refused: number;
  /** devices whose phone is off: quickcall answers 500 DESTINATION_OUT_OF_ORDER */
  offline: Set<string>;
  /** Zebra's CDR for a bridge gets REC_LINK + REC_FILE, and the file is served with a token */
  setRecording(bridgeId: string, bytes: Buffer): void;
  /** the token expires: the next request with it gets 401 */
  expireToken(): void;
  close(): Promise<void>;
  /** posts one of Kazoo's channel hooks to our /webhooks/zebra/<secret>/<hook>, form-encoded as Kazoo does (or JSON) */
  postHook(crmBase: string, secret: string, hook: string, fields: Record<string, unknown>, opts?: { json?: boolean }): Promise<Response>;
}

/**
 * A stand-in for Zebra Telecom's API gateway (https://api.zebratelecom.ru/v1/kazoos) on 127.0.0.1:
 * user_auth with login, password and realm; X-Auth-Token checked on every other call; quickcall
 * recorded and answered with Kazoo's originate data; cdrs filtered by bridge id with REC_LINK and
 * REC_FILE; the recorded files. And Kazoo's side of the webhooks: form-data hooks with nested
 * `custom_channel_vars[key]` fields.
 */
export async function startFakeKazoo(creds: { login: string; password: string; realm: string }): Promise<FakeKazoo> {
  const accountId = randomBytes(16).toString('hex');
  let token = '';
  const recordings = new Map<string, { file: string; data: Buffer }>();
  let base = '';

  const fake: FakeKazoo = {
    url: '',
    accountId,
    quickcalls: [],
    signIns: 0,
    refused: 0,
    offline: new Set(),
    setRecording(bridgeId, bytes) {
      recordings.set(bridgeId, { file: `20250301-101500-${accountId}-call_recording_${bridgeId}.mp3`, data: bytes });
    },
    expireToken() {
      token = `expired-${token}`;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    postHook: (crmBase, secret, hook, fields, opts = {}) =>
      fetch(`${crmBase}/webhooks/zebra/${encodeURIComponent(secret)}/${hook}`, {
        method: 'POST',
        headers: { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded', 'x-hook-id': 'hook-1', 'x-account-id': accountId },
        body: opts.json ? JSON.stringify({ hook_event: hook, ...fields }) : kazooFormData({ hook_event: hook, ...fields }),
      }),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return json(res, 400, { status: 'error', error: '400', message: 'invalid json' });
      }
    }
    const path = url.pathname.replace(/^\/v1\/kazoos/, '');

    if (path === '/user_auth' && req.method === 'PUT') {
      const d = (body.data ?? {}) as Record<string, unknown>;
      if (d.login !== creds.login || d.password !== creds.password || d.realm !== creds.realm) {
        return json(res, 401, { status: 'error', error_code: '1', error_message: 'invalid_credentials' });
      }
      token = randomBytes(12).toString('hex');
      fake.signIns++;
      return json(res, 201, {
        status: 'success',
        error_code: '0',
        error_message: 'Success',
        auth_token: token,
        ACCOUNT_ID: accountId,
        ACCOUNT_REALM: creds.realm,
        data: { auth_token: token, account_id: accountId, owner_id: 'owner-1' },
      });
    }

    if (!token || req.headers['x-auth-token'] !== token) {
      fake.refused++;
      return json(res, 401, { status: 'error', error: '401', message: 'invalid_credentials', data: { message: 'invalid credentials' } });
    }

    const acc = `/accounts/${accountId}`;
    const quickcall = new RegExp(`^${acc}/devices/([^/]+)/quickcall/([^/]+)$`).exec(path);
    if (quickcall && (req.method === 'POST' || req.method === 'GET')) {
      const deviceId = decodeURIComponent(quickcall[1]!);
      const number = decodeURIComponent(quickcall[2]!);
      if (fake.offline.has(deviceId)) {
        return json(res, 500, { status: 'error', error: '500', message: 'quickcall initiation failed', data: { error_message: 'DESTINATION_OUT_OF_ORDER' } });
      }
      const callId = `${randomBytes(8).toString('hex')}-quickcall`;
      fake.quickcalls.push({ deviceId, number, query: Object.fromEntries(url.searchParams), data: (body.data ?? {}) as Record<string, unknown>, callId });
      return json(res, 202, {
        status: 'success',
        auth_token: token,
        data: {
          application_name: 'transfer',
          application_data: { route: number },
          custom_channel_vars: { authorizing_id: deviceId, authorizing_type: 'device', account_id: accountId },
          endpoints: [{ outbound_call_id: callId, endpoint_id: deviceId }],
        },
      });
    }

    if (path === `${acc}/cdrs` && req.method === 'GET') {
      const bridge = url.searchParams.get('filter_bridge_id');
      const rec = bridge ? recordings.get(bridge) : undefined;
      const rows = rec
        ? [
            {
              BRIDGE_ID: bridge,
              CALL_DIRECTION: 'inbound',
              BILLING_SECONDS: '42',
              HANGUP_CAUSE: 'NORMAL_CLEARING',
              ACCOUNT_ID: accountId,
              REC_LINK: `${fake.url}${acc}/recorded/`,
              REC_FILE: rec.file,
            },
          ]
        : [];
      return json(res, 200, { status: 'success', auth_token: token, data: rows });
    }

    const recorded = new RegExp(`^${acc}/recorded/(.+)$`).exec(path);
    if (recorded && req.method === 'GET') {
      const rec = [...recordings.values()].find((r) => r.file === decodeURIComponent(recorded[1]!));
      if (!rec) return json(res, 404, { status: 'error', error: '404', message: 'not found' });
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': rec.data.length });
      return void res.end(rec.data);
    }

    return json(res, 404, { status: 'error', error: '404', message: 'bad identifier' });
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = `${base}/v1/kazoos`;
  return fake;
}

/** Kazoo's form-data encoding (webhooks_util): top-level fields as is, nested objects as `key[sub]=value`. */
export function kazooFormData(fields: Record<string, unknown>): string {
  const out = new URLSearchParams();
  const put = (prefix: string, v: unknown) => {
    if (v === undefined || v === null) return;
    if (typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) put(`${prefix}[${k}]`, x);
    } else out.append(prefix, String(v));
  };
  for (const [k, v] of Object.entries(fields)) put(k, v);
  return out.toString();
}
