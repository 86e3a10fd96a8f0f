import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A Bot API server on loopback that speaks enough of Telegram's protocol for grammY: long-polled
 * getUpdates fed by the test, recorded sendMessage/editMessageText/answerCallbackQuery calls, and
 * injectable errors such as 429 with retry_after.
 */
export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** answered with an error injected by failNext */
  failed?: boolean;
  /** what the fake answered (e.g. the sent message with its message_id) */
  result?: Record<string, unknown>;
}

type Update = Record<string, unknown> & { update_id: number };

export class FakeTelegram {
  readonly calls: ApiCall[] = [];
  private server!: Server;
  private updates: Update[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private waiters: (() => void)[] = [];
  private failures: { method: string; status: number; body: Record<string, unknown>; when: (p: Record<string, unknown>) => boolean }[] = [];
  private callWaiters: { pred: (c: ApiCall) => boolean; resolve: (c: ApiCall) => void }[] = [];
  url = '';

  /** while true, every connection is dropped: Telegram unreachable from this machine */
  offline = false;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (this.offline) return void req.socket.destroy();
      void this.handle(req).then(({ status, body }) => {
      if (Buffer.isBuffer(body)) {
        res.writeHead(status, { 'content-type': 'application/octet-stream' });
        return res.end(body);
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.waiters.splice(0).forEach((w) => w());
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The next call to `method` fails with this status (e.g. 429 and retry_after seconds). */
  failNext(method: string, status: number, body: Record<string, unknown>, when: (p: Record<string, unknown>) => boolean = () => true) {
    this.failures.push({ method, status, body, when });
  }

  /** files a client "uploaded": file_id → content, served at /file/bot<token>/<file_id> */
  readonly files = new Map<string, Buffer>();

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const file = /^\/file\/bot[^/]+\/(.+)$/.exec(req.url ?? '');
    if (file) {
      const data = this.files.get(decodeURIComponent(file[1]!));
      return data ? { status: 200, body: data } : { status: 404, body: { ok: false } };
    }
    const m = /^\/bot[^/]+\/(\w+)/.exec(req.url ?? '');
    const method = m?.[1] ?? '';
    const raw = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
    let params: Record<string, unknown> = {};
    const type = req.headers['content-type'] ?? '';
    if (raw.length && type.includes('json')) params = JSON.parse(raw.toString('utf8'));
    if (raw.length && type.includes('multipart/form-data')) params = this.multipart(type, raw);
    const failure = this.failures.findIndex((f) => f.method === method && f.when(params));
    if (failure >= 0) {
      const f = this.failures.splice(failure, 1)[0]!;
      this.record(method, params, true);
      return { status: f.status, body: { ok: false, error_code: f.status, ...f.body } };
    }
    const business = typeof params.business_connection_id === 'string' ? params.business_connection_id : undefined;
    if (business && method.startsWith('send')) {
      const refusal = this.businessRefusal(business);
      if (refusal) {
        this.record(method, params, true);
        return { status: refusal.status, body: { ok: false, error_code: refusal.status, description: refusal.description } };
      }
    }
    const call = method !== 'getUpdates' ? this.record(method, params) : undefined;
    const ok = (result: unknown) => {
      if (call && result && typeof result === 'object') call.result = result as Record<string, unknown>;
      return { status: 200, body: { ok: true, result } };
    };
    switch (method) {
      case 'getMe':
        return ok({ ...this.bot, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'getUpdates':
        return ok(await this.nextUpdates(Number(params.offset ?? 0), Number(params.timeout ?? 0)));
      case 'sendMessage':
        return ok({
          message_id: this.nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: params.chat_id, type: 'private' },
          text: params.text,
          ...(business ? { business_connection_id: business, sender_business_bot: this.bot, from: this.from(this.businessOwner(business)) } : {}),
        });
      case 'getFile':
        return ok({ file_id: params.file_id, file_unique_id: params.file_id, file_path: params.file_id });
      case 'sendPhoto':
      case 'sendVoice':
      case 'sendAudio':
      case 'sendVideo':
      case 'sendVideoNote':
      case 'sendSticker':
      case 'sendDocument':
        return ok({
          message_id: this.nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: Number(params.chat_id), type: 'private' },
          caption: params.caption,
          ...(business ? { business_connection_id: business, sender_business_bot: this.bot, from: this.from(this.businessOwner(business)) } : {}),
        });
      case 'editMessageText':
        return ok({ message_id: params.message_id, date: Math.floor(Date.now() / 1000), chat: { id: params.chat_id, type: 'private' }, text: params.text });
      default:
        return ok(true);
    }
  }

  /** files sent to the fake (sendPhoto, sendVoice…): the field name → its bytes and file name */
  readonly uploads: { method: string; chatId: number; field: string; name: string; data: Buffer }[] = [];

  /** grammY sends files as multipart/form-data: fields are JSON-encoded values, files are attached */
  private multipart(type: string, raw: Buffer): Record<string, unknown> {
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    const params: Record<string, unknown> = {};
    const files: { field: string; name: string; data: Buffer }[] = [];
    if (!boundary) return params;
    // a small reader of the parts grammY writes: headers, a blank line, the bytes, CRLF, boundary
    const delimiter = Buffer.from(`--${boundary}`);
    let at = raw.indexOf(delimiter);
    while (at >= 0) {
      const start = at + delimiter.length;
      if (raw.subarray(start, start + 2).toString() === '--') break;
      const next = raw.indexOf(delimiter, start);
      if (next < 0) break;
      const part = raw.subarray(start + 2, next - 2);
      const split = part.indexOf('\r\n\r\n');
      const headers = part.subarray(0, split).toString('utf8');
      const body = part.subarray(split + 4);
      const field = /name="([^"]*)"/.exec(headers)?.[1] ?? '';
      // grammY leaves the file name unquoted: filename=photo.jpg
      const fn = /filename=(?:"([^"]*)"|([^;\r\n]*))/.exec(headers);
      const filename = fn ? (fn[1] ?? fn[2] ?? '') : undefined;
      if (filename !== undefined) {
        files.push({ field, name: filename, data: Buffer.from(body) });
      } else {
        const value = body.toString('utf8');
        try {
          params[field] = JSON.parse(value);
        } catch {
          params[field] = value;
        }
      }
      at = next;
    }
    // the method's file field refers to the attached part: attach://<id>
    for (const [key, value] of Object.entries(params)) {
      const ref = typeof value === 'string' ? /^attach:\/\/(.+)$/.exec(value) : null;
      const file = ref ? files.find((f) => f.field === ref[1]) : undefined;
      if (file) params[key] = { name: file.name, size: file.data.length, data: file.data };
    }
    return params;
  }

  private record(method: string, params: Record<string, unknown>, failed = false): ApiCall {
    const call: ApiCall = { method, params, at: Date.now(), ...(failed ? { failed } : {}) };
    this.calls.push(call);
    for (const w of [...this.callWaiters]) {
      if (w.pred(call)) {
        this.callWaiters.splice(this.callWaiters.indexOf(w), 1);
        w.resolve(call);
      }
    }
    return call;
  }

  private async nextUpdates(offset: number, timeoutSec: number): Promise<Update[]> {
    this.updates = this.updates.filter((u) => u.update_id >= offset);
    if (!this.updates.length && timeoutSec > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(timeoutSec, 2) * 1000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.updates.slice(0, 100);
  }

  private readonly pushed: Update[] = [];

  private push(update: Omit<Update, 'update_id'>) {
    const u = { update_id: this.nextUpdateId++, ...update };
    this.pushed.push(u);
    this.updates.push(u);
    this.waiters.splice(0).forEach((w) => w());
  }

  private from(userId: number, firstName = 'Тест') {
    return { id: userId, is_bot: false, first_name: firstName, language_code: 'ru' };
  }

  /** A private text message from a user (commands are text starting with '/'). */
  say(userId: number, text: string, extra: Record<string, unknown> = {}) {
    const entities = text.startsWith('/') ? [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] : undefined;
    this.push({
      message: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, from: this.from(userId), text, ...(entities ? { entities } : {}), ...extra },
    });
  }

  /** Any other private message (a contact, a photo…); pass message_id to re-deliver one. */
  send(userId: number, message: Record<string, unknown>, firstName = 'Тест') {
    this.push({ message: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, from: this.from(userId, firstName), ...message } });
  }

  /** Pressing an inline button under a message the bot sent. */
  press(userId: number, data: string, messageId = 1) {
    this.push({
      callback_query: {
        id: String(this.nextUpdateId * 7),
        from: this.from(userId),
        chat_instance: '1',
        data,
        message: { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, text: '…' },
      },
    });
  }

  // --- Telegram Business -------------------------------------------------------------------------

  readonly bot = { id: 999000, is_bot: true, first_name: 'CRM', username: 'crm_test_bot' };
  /** connections as Telegram knows them: a send through a disabled one (or without can_reply) is refused */
  readonly businessConnections = new Map<string, { owner: number; enabled: boolean; canReply: boolean }>();

  private businessOwner(id: string): number {
    return this.businessConnections.get(id)?.owner ?? 0;
  }

  /** What Telegram answers a send through a connection that cannot carry it (the real descriptions). */
  private businessRefusal(id: string): { status: number; description: string } | null {
    const c = this.businessConnections.get(id);
    if (!c || !c.enabled) return { status: 400, description: 'Bad Request: BUSINESS_CONNECTION_INVALID' };
    if (!c.canReply) return { status: 403, description: 'Forbidden: BUSINESS_CONNECTION_NOT_ALLOWED' };
    return null;
  }

  /**
   * A manager connects (or changes, or disconnects) the bot in Telegram for Business. Both the
   * Bot API 9 `rights.can_reply` and the older top-level `can_reply` are sent, as a server in
   * between would; `legacy` sends only the old field.
   */
  businessConnect(ownerId: number, opts: { id?: string; canReply?: boolean; enabled?: boolean; legacy?: boolean; date?: number; firstName?: string } = {}): string {
    const id = opts.id ?? `bc-${ownerId}`;
    const canReply = opts.canReply ?? true;
    const enabled = opts.enabled ?? true;
    this.businessConnections.set(id, { owner: ownerId, enabled, canReply });
    this.push({
      business_connection: {
        id,
        user: this.from(ownerId, opts.firstName ?? 'Менеджер'),
        user_chat_id: ownerId,
        date: opts.date ?? Math.floor(Date.now() / 1000),
        is_enabled: enabled,
        can_reply: canReply,
        ...(opts.legacy ? {} : { rights: { can_reply: canReply, can_read_messages: true } }),
      },
    });
    return id;
  }

  private businessMessageOf(connectionId: string, client: { id: number; firstName: string; lastName?: string }, fromId: number, message: Record<string, unknown>) {
    const owner = this.businessOwner(connectionId);
    const sender = fromId === owner ? this.from(owner, 'Менеджер') : { ...this.from(client.id, client.firstName), ...(client.lastName ? { last_name: client.lastName } : {}) };
    return {
      business_connection_id: connectionId,
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: client.id, type: 'private', first_name: client.firstName, ...(client.lastName ? { last_name: client.lastName } : {}) },
      from: sender,
      ...message,
    };
  }

  /**
   * A message in a manager's business chat with a client: from the client, or (`fromOwner`) the
   * manager's own. Pass message_id to re-deliver one. Returns the message as sent.
   */
  businessMessage(connectionId: string, client: { id: number; firstName: string; lastName?: string }, message: Record<string, unknown>, opts: { fromOwner?: boolean } = {}): Record<string, unknown> {
    const m = this.businessMessageOf(connectionId, client, opts.fromOwner ? this.businessOwner(connectionId) : client.id, message);
    this.push({ business_message: m });
    return m;
  }

  /**
   * Telegram's own copy of a message the bot sent through a connection (as Telegram delivers it
   * back); `withoutBot` drops sender_business_bot, so it looks like the owner's own message.
   */
  businessEcho(call: ApiCall, opts: { withoutBot?: boolean } = {}) {
    const { sender_business_bot: bot, ...rest } = call.result!;
    this.push({ business_message: { ...rest, ...(opts.withoutBot ? {} : { sender_business_bot: bot }) } });
  }

  /** The sender edited a business message (pass the message as sent and the new fields). */
  editBusinessMessage(original: Record<string, unknown>, changes: Record<string, unknown>) {
    this.push({ edited_business_message: { ...original, ...changes, edit_date: Math.floor(Date.now() / 1000) } });
  }

  /** Messages deleted in a business chat. */
  deleteBusinessMessages(connectionId: string, chatId: number, messageIds: number[]) {
    this.push({ deleted_business_messages: { business_connection_id: connectionId, chat: { id: chatId, type: 'private' }, message_ids: messageIds } });
  }

  /** The same update again (Telegram re-delivers after a missed confirmation): the last `kind` update pushed. */
  redeliverLast(kind: string) {
    const last = [...this.pushed].reverse().find((u) => kind in u);
    if (!last) throw new Error(`no ${kind} update to re-deliver`);
    const { update_id: _id, ...rest } = last;
    void _id;
    this.push(rest);
  }

  /** Resolves with the first call (already made after `since`, or coming) that matches. */
  waitFor(method: string, pred: (p: Record<string, unknown>) => boolean = () => true, opts: { since?: number; timeoutMs?: number } = {}): Promise<ApiCall> {
    // generous by default: on a loaded machine the bot may still be connecting when a test first asks
    const limit = opts.timeoutMs ?? 20_000;
    const match = (c: ApiCall) => c.method === method && !c.failed && pred(c.params);
    const done = this.calls.slice(opts.since ?? 0).find(match);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${method} call matched within ${limit} ms; calls: ${JSON.stringify(this.calls.slice(-5).map((c) => [c.method, c.params.text ?? c.params]))}`)), limit);
      this.callWaiters.push({ pred: match, resolve: (c) => (clearTimeout(t), resolve(c)) });
    });
  }

  /** Sends a text and returns the bot's next reply to that chat (queued notifications aside). */
  async ask(userId: number, text: string, timeoutMs?: number): Promise<ApiCall> {
    const since = this.calls.length;
    this.say(userId, text);
    return this.waitFor('sendMessage', (p) => p.chat_id === userId && !isNotification(p), { since, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  async pressAndWait(userId: number, data: string, method = 'sendMessage', timeoutMs?: number): Promise<ApiCall> {
    const since = this.calls.length;
    this.press(userId, data);
    return this.waitFor(method, (p) => (p.chat_id === userId && !isNotification(p)) || method === 'answerCallbackQuery', { since, ...(timeoutMs ? { timeoutMs } : {}) });
  }
}

/** Notifications arrive from the queue at any time; they open with a bold emoji title. */
export const isNotification = (p: Record<string, unknown>) => /^<b>(🆕|👤|💬|⏰|📋|❌|📎|🔁|⚠️ Канал|✉️|📞 Входящий звонок<\/b>|📵 Пропущенный звонок<\/b>|🎫|⏳|🚨|🔗)/.test(String(p.text ?? ''));

/** The inline keyboard of a sent message as [text, callback_data] pairs. */
export function buttons(call: ApiCall): [string, string][] {
  const markup = call.params.reply_markup as { inline_keyboard?: { text: string; callback_data?: string; url?: string }[][] } | undefined;
  return (markup?.inline_keyboard ?? []).flat().map((b) => [b.text, b.callback_data ?? b.url ?? '']);
}
