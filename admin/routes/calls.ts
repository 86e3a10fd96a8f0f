import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { callLinesFor, claimCall, listCalls, placeCall, ringingCallsFor, callRecording, type CallFilter } from '../../core/telephony/calls.js';
import { recordingFile } from '../../core/telephony/recordings.js';
import { callCard } from '../../core/telephony/card.js';
import { listLines, userExtensions } from '../../core/telephony/lines.js';
import { callDirectionLabels, callStatusLabels, phoneProviderLabels } from '../../core/telephony/labels.js';
import type { CallSignal, CallStatus, PhoneProvider } from '../../core/telephony/types.js';
import { listenSignals } from '../../core/shared/signals.js';
import { sessionUser } from '../../core/sessions/sessions.js';
import { isServiceError, notFound } from '../../core/errors.js';
import { userActor, type User } from '../../core/users/users.js';
import { formatPhone } from '../../core/validation/phone.js';
import { startOfDayInZone } from '../../core/validation/time.js';
import { body, type FormBody, idParam, int, query, str } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { formatters } from '../format.js';
import { cardPath, PAGE_SIZE, pageOf, userNames } from '../lists.js';
import { ctxOf, hasRole, render, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';

/** What a call list row needs besides the calls: the labels, once, typed by their enums. */
export const callListLabels = { status: callStatusLabels, direction: callDirectionLabels };

const statuses = Object.keys(callStatusLabels) as CallStatus[];
const day = /^\d{4}-\d{2}-\d{2}$/;
const KEEP_ALIVE_MS = 25_000;

/** The record a call is placed from: where the user goes back to, and what the call is linked to. */
const recordKeys = ['dealId', 'leadId', 'counterpartyId', 'contactId'] as const;
type RecordKey = (typeof recordKeys)[number];
const recordEntity: Record<RecordKey, keyof typeof cardPath> = { contactId: 'contact', counterpartyId: 'counterparty', leadId: 'lead', dealId: 'deal' };

/** An optional record number of a hidden field: '' is none. */
const optionalId = z
  .string()
  .trim()
  .optional()
  .transform((s) => (!s ? null : /^\d{1,10}$/.test(s) && Number(s) <= 2_147_483_647 ? Number(s) : NaN))
  .refine((n) => n === null || (Number.isInteger(n) && n > 0), 'выберите линию из списка');

/** «Позвонить»: the client's number, the line chosen (when there are several) and the record it is about. */
const dialForm = z.object({
  number: z.string('не указан номер').trim().min(1, 'не указан номер'),
  lineId: optionalId,
  contactId: optionalId,
  counterpartyId: optionalId,
  leadId: optionalId,
  dealId: optionalId,
});

/** The card a dial started from (the first record given), on its «Звонки» tab. */
function recordBack(ids: Partial<Record<RecordKey, number | null | undefined>>): string {
  for (const k of recordKeys) {
    const id = ids[k];
    if (id) return `/admin/${cardPath[recordEntity[k]]}/${id}?tab=calls`;
  }
  return '/admin/calls';
}

const recordIds = (q: FormBody) => Object.fromEntries(recordKeys.flatMap((k) => (int(q, k) ? [[k, int(q, k)!]] : []))) as Partial<Record<RecordKey, number>>;

/**
 * «Звонки» (R20): the list of calls with their recordings, the recording itself (with seeking),
 * click-to-call from any phone of a card, and the live incoming-call window every page of a
 * signed-in user opens (server-sent events on /admin/calls/live, see admin/static/calls-live.js).
 */
export default async function callRoutes(app: FastifyInstance, deps: AdminDeps) {
  const { services } = deps;
  const zoneOf = (user: User | null) => user?.timeZone ?? services.config.TIME_ZONE;

  app.get('/calls', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: CallFilter = {};
    const fq: Record<string, string> = {};
    const direction = str(q, 'direction');
    if (direction === 'in' || direction === 'out') filter.direction = fq.direction = direction;
    const status = str(q, 'status');
    if ((statuses as string[]).includes(status)) filter.status = fq.status = status as CallStatus;
    const userId = int(q, 'userId');
    if (userId) {
      filter.userId = userId;
      fq.userId = String(userId);
    }
    // the period is the user's calendar days, whole: «по 20.05» includes the evening of the 20th
    const zone = zoneOf(req.adminUser);
    if (day.test(str(q, 'from'))) {
      fq.from = str(q, 'from');
      filter.from = startOfDayInZone(fq.from, zone);
    }
    if (day.test(str(q, 'to'))) {
      fq.to = str(q, 'to');
      filter.to = new Date(startOfDayInZone(fq.to, zone).getTime() + 86_400_000);
    }
    const page = pageOf(q);
    const [rows, n] = await Promise.all([listCalls(ctx, { ...filter, limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE }), userNames(ctx)]);
    return render(deps, req, reply, 'calls/list', {
      title: 'Звонки',
      calls: rows.slice(0, PAGE_SIZE),
      hasMore: rows.length > PAGE_SIZE,
      page,
      fq,
      base: '/admin/calls',
      withQuery,
      statuses,
      users: n.users,
      labels: callListLabels,
    });
  });

  // the recording plays in the page's <audio> and seeks: a Range request gets just its bytes
  app.get('/calls/:id/recording', async (req, reply) => {
    const rec = await callRecording(ctxOf(deps, req), idParam(req.params));
    const file = recordingFile(services.config.DATA_DIR, rec.path);
    const size = await stat(file).then(
      (s) => s.size,
      () => {
        throw notFound('Файл записи не найден');
      },
    );
    reply
      .type(rec.mime)
      .header('accept-ranges', 'bytes')
      .header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(rec.name)}`)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=3600');
    const range = byteRange(req.headers.range, size);
    if (range === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${size}`).send();
    if (!range) return reply.header('content-length', size).send(createReadStream(file));
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1)
      .send(createReadStream(file, range));
  });

  // ── click-to-call ──
  app.get('/calls/dial', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const number = str(q, 'number');
    const ids = recordIds(q);
    const lines = await callLinesFor(ctx, deps.telephony);
    return render(deps, req, reply, 'calls/dial', {
      title: 'Позвонить',
      number,
      shown: number ? formatPhone(number) : '',
      ids,
      back: recordBack(ids),
      lines,
      providerLabels: phoneProviderLabels,
      why: lines.length ? null : await whyNoLine(req),
    });
  });

  app.post('/calls/dial', async (req, reply) => {
    const form = body(req);
    const ids = recordIds(form);
    const again = withQuery('/admin/calls/dial', { number: str(form, 'number'), ...ids });
    return formAction(
      deps,
      reply,
      again,
      () => {
        const f = parseForm(dialForm, form);
        return placeCall(ctxOf(deps, req), deps.telephony, f);
      },
      () => ({ text: 'Звоним: сначала зазвонит ваш телефон, затем клиент', to: recordBack(ids) }),
      'Звонок не начат: ',
    );
  });

  /** Why the user has no line to call from, in words they can act on, and whom to ask. */
  async function whyNoLine(req: FastifyRequest): Promise<{ text: string; link?: { href: string; label: string } }> {
    const ctx = ctxOf(deps, req);
    const staff = hasRole(req, 'admin', 'head');
    const admin = hasRole(req, 'admin');
    const configured = Object.keys(deps.telephony) as PhoneProvider[];
    const names = (ps: PhoneProvider[]) => ps.map((p) => phoneProviderLabels[p]).join(', ');
    if (!configured.length) {
      return { text: 'Телефония не подключена: в настройках сервера не заданы ключи Mango Office или Zebra Telecom. Обратитесь к администратору CRM.' };
    }
    const lines = await listLines(ctx).catch(() => []);
    const usable = lines.filter((l) => l.active && configured.includes(l.provider));
    if (!usable.length) {
      return {
        text: `Нет ни одной линии (номера компании) у ${names(configured)}. Линии добавляет администратор или руководитель отдела продаж в справочнике «Линии».`,
        ...(staff ? { link: { href: '/admin/books/phone-lines', label: 'Открыть «Линии»' } } : {}),
      };
    }
    const mine = await userExtensions(ctx, req.adminUser!.id).catch(() => ({}) as Partial<Record<PhoneProvider, string>>);
    const providers = [...new Set(usable.map((l) => l.provider))].filter((p) => !mine[p]);
    return {
      text: `У вас не указан внутренний номер (добавочный) в ${names(providers)}: без него АТС не знает, чей телефон звонить первым. Его указывает администратор CRM в разделе «Пользователи».`,
      ...(admin ? { link: { href: `/admin/users/${req.adminUser!.id}`, label: 'Открыть мою карточку пользователя' } } : {}),
    };
  }

  // ── the live incoming-call window ──
  const hub = new LiveCalls(app, deps);
  // an open event stream would keep the server from closing: end them first, then stop listening
  app.addHook('preClose', async () => hub.endAll());
  app.addHook('onClose', async () => hub.close());

  app.get('/calls/live', async (req, reply) => {
    const user = req.adminUser!;
    // a handful of tabs each hold a stream; past that a tab gets no live window (a refused EventSource
    // does not retry) rather than anyone holding unbounded connections and timers
    if (hub.streamsOf(user) >= MAX_STREAMS_PER_USER) return reply.status(429).send('Окно входящих звонков уже открыто в других вкладках');
    await hub.ready();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // a proxy must pass each event on at once
      'x-accel-buffering': 'no',
    });
    res.write('retry: 5000\n\n');
    const conn = hub.add(user, req.adminToken ?? '', res);
    res.on('close', () => hub.remove(conn));
    hub.greet(conn);
    return reply;
  });

  // «Принять»: from the live window (JSON) or as a plain form
  app.post('/calls/:id/claim', async (req, reply) => {
    const id = idParam(req.params);
    if (req.headers.accept?.startsWith('application/json')) {
      await claimCall(ctxOf(deps, req), deps.telephony, id);
      const card = await hub.render(req.adminUser!, id);
      return { ok: true, text: 'Звонок ваш', ...card };
    }
    return formAction(
      deps,
      reply,
      '/admin/calls',
      () => claimCall(ctxOf(deps, req), deps.telephony, id),
      (call) => ({ text: 'Звонок ваш', to: call.contactId ? `/admin/contacts/${call.contactId}` : '/admin/calls' }),
      'Звонок не принят: ',
    );
  });
}

/** A single «bytes=a-b» range of a file of `size` bytes; several ranges are answered whole. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // «bytes=-500»: the last 500 bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** What the window shows of a call for this user: their call ringing, taken by them, taken by another, or over. */
type LiveState = 'ringing' | 'mine' | 'taken' | 'ended';

interface LiveConn {
  user: User;
  token: string;
  res: ServerResponse;
  /** the calls the user's window shows: their later signals update it whoever they are for */
  shown: Set<number>;
  /** events of one stream go out in order: a card read for an early signal never lands after a later one */
  queue: Promise<void>;
  timer: NodeJS.Timeout;
}

/**
 * One LISTEN on the crm_calls channel per process, fanned out to the users with an open page.
 * A signal carries ids only; each user's card is read with their own access rules.
 */
const MAX_STREAMS_PER_USER = 5;

class LiveCalls {
  private conns = new Set<LiveConn>();
  private listening: Promise<() => Promise<void>> | null = null;

  constructor(
    private readonly app: FastifyInstance,
    private readonly deps: AdminDeps,
  ) {}

  async ready(): Promise<void> {
    this.listening ??= listenSignals<CallSignal>(this.deps.services.database, 'crm_calls', (s) => this.signal(s));
    try {
      await this.listening;
    } catch (e) {
      // try again on the next page open
      this.listening = null;
      throw e;
    }
  }

  /** how many streams the user holds: each open tab of theirs has one */
  streamsOf(user: User): number {
    let n = 0;
    for (const c of this.conns) if (c.user.id === user.id) n++;
    return n;
  }

  add(user: User, token: string, res: LiveConn['res']): LiveConn {
    const conn: LiveConn = { user, token, res, shown: new Set(), queue: Promise.resolve(), timer: setInterval(() => void this.keepAlive(conn), KEEP_ALIVE_MS) };
    this.conns.add(conn);
    return conn;
  }

  remove(conn: LiveConn): void {
    clearInterval(conn.timer);
    this.conns.delete(conn);
  }

  endAll(): void {
    for (const c of this.conns) {
      this.remove(c);
      c.res.end();
    }
  }

  async close(): Promise<void> {
    this.endAll();
    const stop = this.listening;
    this.listening = null;
    if (stop) await (await stop.catch(() => null))?.();
  }

  private signal(s: CallSignal): void {
    if (typeof s?.callId !== 'number') return;
    for (const c of this.conns) if (s.userId === c.user.id || c.shown.has(s.callId)) this.push(c, s.callId);
  }

  /**
   * First on a new stream: the calls ringing for the user now (a reconnected window drops those that
   * stopped meanwhile), then their cards. Queued first, so a signal heard meanwhile comes after it.
   */
  greet(conn: LiveConn): void {
    conn.queue = conn.queue.then(async () => {
      const ringing = await ringingCallsFor(this.deps.services.ctx(userActor(conn.user))).catch(() => []);
      if (!this.conns.has(conn)) return;
      conn.res.write(`event: ringing\ndata: ${JSON.stringify({ callIds: ringing.map((c) => c.id) })}\n\n`);
      for (const c of ringing) this.push(conn, c.id);
    });
  }

  /** Sends the user's card of the call (or its disappearance) on their stream, after what is queued. */
  push(conn: LiveConn, callId: number): void {
    conn.queue = conn.queue.then(async () => {
      if (!this.conns.has(conn)) return;
      const card = await this.render(conn.user, callId).catch((e: unknown) => {
        if (!isServiceError(e)) this.app.log.warn({ err: e, callId }, 'live call card failed');
        return null;
      });
      if (!this.conns.has(conn)) return;
      // a call the window never showed appears while it is the user's; someone else's or an ended one is no news
      if (card && !conn.shown.has(callId) && (card.state === 'taken' || card.state === 'ended')) return;
      if (card) conn.shown.add(callId);
      else conn.shown.delete(callId);
      conn.res.write(`event: call\ndata: ${JSON.stringify(card ? { callId, ...card } : { callId, state: 'gone' })}\n\n`);
    });
  }

  /** The window's card of a call for a user, read with their access. */
  async render(user: User, callId: number): Promise<{ state: LiveState; html: string } | null> {
    const ctx = this.deps.services.ctx(userActor(user));
    const card = await callCard(ctx, callId);
    const { call } = card;
    const over = call.status !== 'ringing' && call.status !== 'talking';
    const state: LiveState = over ? 'ended' : call.userId !== user.id ? 'taken' : call.status === 'ringing' && !call.claimedAt ? 'ringing' : 'mine';
    const html = await this.app.view('partials/call-live', {
      card,
      state,
      labels: callListLabels,
      f: formatters(user.timeZone ?? this.deps.services.config.TIME_ZONE),
    });
    return { state, html };
  }

  /** A comment line keeps proxies from closing a quiet stream; a session that ended closes it. */
  private async keepAlive(conn: LiveConn): Promise<void> {
    const user = await sessionUser(this.deps.services.ctx(), conn.token).catch(() => conn.user);
    if (!user || user.id !== conn.user.id) {
      this.remove(conn);
      conn.res.end();
      return;
    }
    conn.user = user;
    conn.res.write(': keep-alive\n\n');
  }
}
