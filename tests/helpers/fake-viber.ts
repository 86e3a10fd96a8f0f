import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ViberSend {
  receiver: string;
  type: string;
  text?: string | null;
  /** picture, video and file messages: the URL Viber would fetch the file from */
  media?: string;
  /** video and file messages: the size in bytes */
  size?: number;
  /** file messages */
  file_name?: string;
  sender?: { name?: string };
  /** the token this fake answered with, as the exact digits */
  token: string;
}

/**
 * A stand-in for Viber's bot REST API (https://chatapi.viber.com/pa) on 127.0.0.1: answers
 * send_message with 64-bit message tokens, get_account_info and set_webhook, checks the
 * X-Viber-Auth-Token header, serves media files, records picture/video/file sends with their media
 * URL (real Viber fetches it later), and can play a revoked token or a blocked client.
 */
export class FakeViber {
  readonly sent: ViberSend[] = [];
  readonly webhooks: string[] = [];
  /** the event_types each set_webhook asked for */
  readonly webhookEvents: string[][] = [];
  /** every call answers status 2 (invalidAuthToken), as after the token is revoked */
  revoked = false;
  /** receivers that unsubscribed: send_message answers status 6 */
  readonly unsubscribed = new Set<string>();
  /** the next N send_message calls answer HTTP 500 */
  failNext = 0;
  private server: Server | undefined;
  private readonly media = new Map<string, { mime: string; data: Buffer }>();
  private nextToken = 5741311803571721000n;
  url = '';
  base = '';

  constructor(private readonly authToken: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.base = `http://127.0.0.1:${port}`;
    this.url = `${this.base}/pa`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** a file the fake serves, as Viber serves a client's picture; returns its URL */
  addMedia(name: string, mime: string, data: Buffer): string {
    this.media.set(`/media/${name}`, { mime, data });
    return `${this.base}/media/${name}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    if (req.method === 'GET' && this.media.has(url.pathname)) {
      const m = this.media.get(url.pathname)!;
      res.writeHead(200, { 'content-type': m.mime, 'content-length': m.data.length });
      return void res.end(m.data);
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.json(res, 400, '{"status":3,"status_message":"badData"}');
    }
    if (this.revoked || req.headers['x-viber-auth-token'] !== this.authToken || body.auth_token !== this.authToken) {
      return this.json(res, 200, '{"status":2,"status_message":"invalidAuthToken"}');
    }
    switch (url.pathname) {
      case '/pa/get_account_info':
        return this.json(res, 200, '{"status":0,"status_message":"ok","id":"pa:1","name":"CRM test bot"}');
      case '/pa/set_webhook':
        this.webhooks.push(String(body.url));
        this.webhookEvents.push(Array.isArray(body.event_types) ? body.event_types.map(String) : []);
        return this.json(res, 200, '{"status":0,"status_message":"ok","event_types":["delivered","seen","failed","message"]}');
      case '/pa/send_message': {
        if (this.failNext > 0) {
          this.failNext--;
          return this.json(res, 500, '{"status":13,"status_message":"internal"}');
        }
        const receiver = String(body.receiver ?? '');
        if (this.unsubscribed.has(receiver)) return this.json(res, 200, '{"status":6,"status_message":"receiverNotSubscribed"}');
        if (!validMedia(body)) return this.json(res, 200, '{"status":3,"status_message":"badData"}');
        const token = String(this.nextToken++);
        this.sent.push({
          receiver,
          type: String(body.type),
          text: body.text as string | null | undefined,
          ...(typeof body.media === 'string' ? { media: body.media } : {}),
          ...(typeof body.size === 'number' ? { size: body.size } : {}),
          ...(typeof body.file_name === 'string' ? { file_name: body.file_name } : {}),
          sender: body.sender as { name?: string } | undefined,
          token,
        });
        // the token as a bare 64-bit number, as Viber sends it: JSON.parse would round it
        return this.json(res, 200, `{"status":0,"status_message":"ok","message_token":${token},"chat_hostname":"SN-CHAT-05_"}`);
      }
      default:
        return this.json(res, 404, '{"status":1,"status_message":"not found"}');
    }
  }

  private json(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  }
}

/**
 * What Viber's docs require of a media message: the URL of a picture ends in .jpeg/.png/.gif and
 * that of a video in .mp4, a video and a file carry their size, a file its name (up to 256).
 */
function validMedia(body: Record<string, unknown>): boolean {
  const path = (() => {
    try {
      return new URL(String(body.media)).pathname;
    } catch {
      return null;
    }
  })();
  const sized = typeof body.size === 'number' && body.size > 0;
  switch (body.type) {
    case 'picture':
      return path !== null && /\.(jpe?g|png|gif)$/i.test(path);
    case 'video':
      return path !== null && /\.mp4$/i.test(path) && sized;
    case 'file':
      return path !== null && sized && typeof body.file_name === 'string' && body.file_name.length > 0 && body.file_name.length <= 256;
    default:
      return true;
  }
}

/** The X-Viber-Content-Signature Viber puts on a webhook call: HMAC-SHA256 of the body with the auth token, hex. */
export const viberSignature = (body: string, authToken: string) => createHmac('sha256', authToken).update(body).digest('hex');

let seq = 4912661846655238100n;
/** A Viber `message` callback body with a 64-bit token written as a bare number, as Viber does. */
export function viberMessageBody(opts: {
  userId: string;
  name?: string;
  message: Record<string, unknown>;
  token?: string;
}): { body: string; token: string } {
  const token = opts.token ?? String(seq++);
  const sender = JSON.stringify({ id: opts.userId, name: opts.name ?? 'Клиент', language: 'ru', country: 'RU', api_version: 10 });
  const body = `{"event":"message","timestamp":${Date.now()},"chat_hostname":"SN-376_","message_token":${token},"sender":${sender},"message":${JSON.stringify(opts.message)},"silent":false}`;
  return { body, token };
}
