import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { PanelClient, pageText } from './helpers/http-client.js';
import { startFakeMango, mangoId, type FakeMango } from './helpers/fake-mango.js';
import { randomInn } from './helpers/world.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createDeal } from '../core/deals/deals.js';
import { createLine, setUserExtensions, type PhoneLine } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { recordCallEvent } from '../core/telephony/calls.js';
import type { CallEvent, TelephonyProvider } from '../core/telephony/types.js';
import { buildApp } from '../api/app.js';

/**
 * «Звонки» in the panel (R20), over HTTP against the composed CRM with a fake Mango VPBX on
 * loopback: the list and its filters with each manager's access, the «Звонки» tab of every card, the
 * recording with seeking, click-to-call with the line chosen, and the live window's event stream.
 */
const KEY = 'panel-calls-key';
const SALT = 'panel-calls-salt';
const OFFICE = '+74950001111';
const SALES = '+74950002222';
const IVAN = '+79161112233';
const PETR = '+79162223344';
const MP3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(4093, 7)]);

let mango: FakeMango;
let s: Services & { dataDir: string };
let crm: TestCrm;
let admin: User, anna: User, boris: User, carl: User;
let office: PhoneLine, sales: PhoneLine;
let ivanId: number, petrId: number;
let answeredId: number, missedId: number;
const panels = new Map<User, PanelClient>();

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const event = (e: Omit<CallEvent, 'provider' | 'at'> & { at?: Date }) => recordCallEvent(s.ctx(), { provider: 'mango', at: new Date(), ...e });
const cookieOf = (p: PanelClient) => [...p.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

async function panel(user: User): Promise<PanelClient> {
  let p = panels.get(user);
  if (!p) {
    p = new PanelClient(crm.app!);
    await p.signIn(user.email);
    panels.set(user, p);
  }
  return p;
}

/** An incoming call from `client` on `line`, as the provider reports it; the rules give it to the client's responsible. */
async function incoming(client: string, line: string, at = new Date()) {
  const callKey = mangoId('entry-');
  const { callId } = await event({ callKey, kind: 'ringing', at, direction: 'in', clientNumber: client, lineNumber: line, legId: mangoId('leg-') });
  return { callKey, callId };
}

before(async () => {
  mango = await startFakeMango({ apiKey: KEY, apiSalt: SALT });
  s = await openTestServices({ MANGO_API_KEY: KEY, MANGO_API_SALT: SALT, MANGO_API_ROOT: mango.url });
  const sys = s.ctx();
  const segA = (await createSegment(sys, { name: 'Звонки А' })).id;
  const segB = (await createSegment(sys, { name: 'Звонки Б' })).id;
  const user = async (role: 'admin' | 'manager', name: string, email: string, segments: number[] = []) => {
    const u = await createUser(sys, { email, name, role, password: 'password123' });
    if (segments.length) await setUserSegments(sys, u.id, segments);
    return u;
  };
  admin = await user('admin', 'Ольга Админова', 'admin@calls.test');
  anna = await user('manager', 'Анна Звонкова', 'anna@calls.test', [segA]);
  boris = await user('manager', 'Борис Тихонов', 'boris@calls.test', [segB]);
  carl = await user('manager', 'Карл Безномерный', 'carl@calls.test', [segA]);
  const asAdmin = s.ctx(userActor(admin));
  office = await createLine(asAdmin, { provider: 'mango', number: OFFICE, name: 'Офис' });
  sales = await createLine(asAdmin, { provider: 'mango', number: SALES, name: 'Продажи' });
  await setUserExtensions(asAdmin, anna.id, { mango: '101' });
  await setUserExtensions(asAdmin, boris.id, { mango: '102' });
  await createCallRule(asAdmin, { name: 'Ответственному', target: 'responsible' });

  const cpA = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Звонкий Опт', inn: randomInn('legal_entity'), segmentId: segA, responsibleId: anna.id });
  ivanId = (await createContact(sys, { name: 'Иван Звонарёв', phones: [IVAN], counterpartyId: cpA.id })).id;
  await createDeal(s.ctx(userActor(anna)), { title: 'Поставка колоколов', counterpartyId: cpA.id, contactId: ivanId });
  const cpB = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Тихая Гавань', inn: randomInn('legal_entity'), segmentId: segB, responsibleId: boris.id });
  petrId = (await createContact(sys, { name: 'Пётр Молчанов', phones: [PETR], counterpartyId: cpB.id })).id;

  crm = await startTestCrm(s, { bots: false }, { skipWorkerJobs: ['mail'] });

  // an hour ago Ivan called the office, Anna talked to him for 2:05, the recording came later
  const hourAgo = new Date(Date.now() - 3600_000);
  const a = await incoming(IVAN, OFFICE, hourAgo);
  answeredId = a.callId;
  await event({ callKey: a.callKey, kind: 'answered', at: new Date(hourAgo.getTime() + 5000), extension: '101' });
  await event({ callKey: a.callKey, kind: 'ended', at: new Date(hourAgo.getTime() + 130_000), result: 'answered', answeredAt: new Date(hourAgo.getTime() + 5000), endedAt: new Date(hourAgo.getTime() + 130_000), durationSec: 125 });
  const recordingId = mangoId('rec-');
  mango.setRecording(recordingId, MP3);
  await event({ callKey: a.callKey, kind: 'recording', recordingId });
  // then Petr called sales and nobody answered
  const b = await incoming(PETR, SALES);
  missedId = b.callId;
  await event({ callKey: b.callKey, kind: 'ended', result: 'missed' });
  await waitFor('the recording fetched', async () => (await rows<{ s: string }>(sql`SELECT recording_status AS s FROM calls WHERE id = ${answeredId}`))[0]?.s === 'stored', 20_000);
});

after(async () => {
  await crm?.close();
  await s?.close();
  await mango?.close();
});

describe('«Звонки»', () => {
  test('the list shows every call newest first with direction, client, line, manager, duration, result and the recording', async () => {
    const res = await (await panel(admin)).get('/admin/calls');
    assert.equal(res.statusCode, 200);
    const text = pageText(res.body);
    assert.ok(text.indexOf('Пётр Молчанов') < text.indexOf('Иван Звонарёв'), 'newest first');
    for (const s of ['Входящий', 'состоялся', 'пропущен', 'Иван Звонарёв', 'ООО Звонкий Опт', '+7 916 111 22 33', 'Офис', 'Продажи', 'Анна Звонкова', '2:05']) assert.ok(text.includes(s), `${s} in ${text}`);
    assert.match(res.body, new RegExp(`<audio controls preload="none" src="/admin/calls/${answeredId}/recording"`));
    assert.match(res.body, new RegExp(`href="/admin/contacts/${ivanId}"`));
  });

  test('filters: result, direction, manager and period', async () => {
    const p = await panel(admin);
    const ids = async (q: string) => [...(await p.get(`/admin/calls?${q}`)).body.matchAll(/data-call-id="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(await ids('status=missed'), [missedId]);
    assert.deepEqual(await ids(`userId=${anna.id}`), [answeredId]);
    assert.deepEqual(await ids('direction=out'), []);
    const tomorrow = new Date(Date.now() + 36 * 3600_000).toISOString().slice(0, 10);
    assert.deepEqual(await ids(`from=${tomorrow}`), []);
    assert.deepEqual((await ids(`to=${tomorrow}&direction=in`)).sort(), [answeredId, missedId].sort());
  });

  test('a manager sees only the calls of their clients', async () => {
    const annas = pageText((await (await panel(anna)).get('/admin/calls')).body);
    assert.ok(annas.includes('Иван Звонарёв'));
    assert.ok(!annas.includes('Пётр Молчанов'), 'another segment’s call is not listed');
    const boriss = pageText((await (await panel(boris)).get('/admin/calls')).body);
    assert.ok(boriss.includes('Пётр Молчанов'));
    assert.ok(!boriss.includes('Иван Звонарёв'));
  });

  test('the «Звонки» tab of the contact, counterparty, lead and deal the call belongs to lists it with its recording', async () => {
    const [call] = await rows<{ contact_id: number | null; counterparty_id: number | null; lead_id: number | null; deal_id: number | null }>(
      sql`SELECT contact_id, counterparty_id, lead_id, deal_id FROM calls WHERE id = ${answeredId}`,
    );
    assert.equal(call!.contact_id, ivanId);
    assert.ok(call!.counterparty_id);
    assert.ok(call!.deal_id || call!.lead_id, 'the call is on the open deal or lead');
    const cards = [`/admin/contacts/${call!.contact_id}`, `/admin/counterparties/${call!.counterparty_id}`];
    if (call!.deal_id) cards.push(`/admin/deals/${call!.deal_id}`);
    if (call!.lead_id) cards.push(`/admin/leads/${call!.lead_id}`);
    const p = await panel(anna);
    for (const card of cards) {
      const res = await p.get(`${card}?tab=calls`);
      assert.equal(res.statusCode, 200, card);
      assert.match(res.body, new RegExp(`data-call-id="${answeredId}"`), card);
      assert.doesNotMatch(res.body, new RegExp(`data-call-id="${missedId}"`), card);
      assert.match(res.body, new RegExp(`src="/admin/calls/${answeredId}/recording"`), card);
      assert.ok(pageText(res.body).includes('2:05'), card);
    }
    const petrs = await p.get(`/admin/contacts/${petrId}?tab=calls`);
    assert.notEqual(petrs.statusCode, 200, 'a contact of another segment stays closed');
  });

  test('the recording plays and seeks for whoever sees the call, and is not there for anyone else', async () => {
    const p = await panel(anna);
    const whole = await p.get(`/admin/calls/${answeredId}/recording`);
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers['content-type'], 'audio/mpeg');
    assert.match(String(whole.headers['content-disposition']), /^inline;/);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.deepEqual(whole.rawPayload, MP3);
    const part = await crm.app!.inject({ url: `/admin/calls/${answeredId}/recording`, headers: { cookie: cookieOf(p), range: 'bytes=100-199' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], `bytes 100-199/${MP3.length}`);
    assert.deepEqual(part.rawPayload, MP3.subarray(100, 200));
    const beyond = await crm.app!.inject({ url: `/admin/calls/${answeredId}/recording`, headers: { cookie: cookieOf(p), range: `bytes=${MP3.length}-` } });
    assert.equal(beyond.statusCode, 416);
    assert.equal((await (await panel(boris)).get(`/admin/calls/${answeredId}/recording`)).statusCode, 404);
    assert.equal((await p.get(`/admin/calls/${missedId}/recording`)).statusCode, 404, 'no recording: not found');
  });
});

describe('click-to-call', () => {
  test('every phone of a card opens the dial page; with two lines the user chooses one and Mango rings their extension first', async () => {
    const p = await panel(anna);
    const card = await p.get(`/admin/contacts/${ivanId}`);
    const href = `/admin/calls/dial?number=${encodeURIComponent(IVAN)}&amp;contactId=${ivanId}`;
    assert.ok(card.body.includes(`href="${href}"`), 'the phone is a click-to-call link');
    const page = await p.get(href.replace('&amp;', '&'));
    assert.equal(page.statusCode, 200);
    const text = pageText(page.body);
    assert.match(text, /Выбрать из списка оператора/);
    assert.match(text, /Офис · \+7 495 000 11 11/);
    assert.match(text, /Продажи · \+7 495 000 22 22/);

    // no line chosen: said on the same page
    const none = await p.post('/admin/calls/dial', { number: IVAN, contactId: String(ivanId) });
    assert.equal(none.statusCode, 303);
    const again = await p.get(none.headers.location as string);
    assert.match(pageText(again.body), /Звонок не начат: выберите линию/);

    const before = mango.commands.length;
    const done = await p.submit('/admin/calls/dial', { number: IVAN, contactId: String(ivanId), lineId: String(sales.id) });
    assert.match(pageText(done.body), /Звоним: сначала зазвонит ваш телефон, затем клиент/);
    assert.match(pageText(done.body), /Иван Звонарёв/, 'back on the contact card');
    const cmd = await waitFor('commands/callback at Mango', () => mango.commands.slice(before).find((c) => c.path === 'commands/callback'));
    assert.deepEqual((cmd.json.from as { extension: string }).extension, '101');
    assert.match(String(cmd.json.to_number), /79161112233$/);
    assert.match(String(cmd.json.line_number), /74950002222$/);
    const [placed] = await rows<{ direction: string; user_id: number; line_id: number; contact_id: number }>(
      sql`SELECT direction, user_id, line_id, contact_id FROM calls WHERE direction = 'out' ORDER BY id DESC LIMIT 1`,
    );
    assert.deepEqual(placed, { direction: 'out', user_id: anna.id, line_id: sales.id, contact_id: ivanId });
  });

  test('Mango busy for a moment: the user is told on the page to try again, and the call is kept as not made', async () => {
    const p = await panel(anna);
    mango.failNext('commands/callback', 5001);
    const res = await p.post('/admin/calls/dial', { number: IVAN, contactId: String(ivanId), lineId: String(office.id) });
    assert.equal(res.statusCode, 303, 'back to the dial page, not an error page');
    const back = await p.get(res.headers.location as string);
    const flash = /<div class="flash error"[^>]*>([^<]*)/.exec(back.body)?.[1] ?? '';
    assert.match(flash, /Mango Office/);
    const [last] = await rows<{ status: string }>(sql`SELECT status FROM calls WHERE direction = 'out' ORDER BY id DESC LIMIT 1`);
    assert.equal(last!.status, 'failed');
  });

  test('a user without an extension is told why on the dial page, and a call posted anyway is refused in Russian', async () => {
    const p = await panel(carl);
    const page = await p.get(`/admin/calls/dial?number=${encodeURIComponent(IVAN)}&contactId=${ivanId}`);
    assert.equal(page.statusCode, 200);
    assert.match(pageText(page.body), /не указан внутренний номер \(добавочный\) в Mango Office/);
    assert.match(pageText(page.body), /администратор CRM в разделе «Пользователи»/);
    assert.doesNotMatch(page.body, /action="\/admin\/calls\/dial"/);
    const before = mango.commands.length;
    const res = await p.post('/admin/calls/dial', { number: IVAN, contactId: String(ivanId), lineId: String(office.id) });
    assert.equal(res.statusCode, 303);
    const back = await p.get(res.headers.location as string);
    const flash = /<div class="flash error"[^>]*>([^<]*)/.exec(back.body)?.[1] ?? '';
    assert.match(flash, /^Звонок не начат: .*[а-я]/);
    assert.equal(mango.commands.length, before, 'nothing reached Mango');
  });

  test('without a provider, or without its lines, the dial page says so and whom to ask', async () => {
    const zebra: TelephonyProvider = {
      provider: 'zebra',
      placeCall: async () => ({}),
      fetchRecording: async () => ({ data: Buffer.alloc(0), mime: 'audio/mpeg' }),
    };
    for (const [telephony, said] of [
      [{}, /Телефония не подключена: в настройках сервера не заданы ключи Mango Office или Zebra Telecom\. Обратитесь к администратору CRM/],
      [{ zebra }, /Нет ни одной линии \(номера компании\) у Zebra Telecom\. Линии добавляет администратор или руководитель отдела продаж в справочнике «Линии»/],
    ] as const) {
      const app = await buildApp(s, { admin: { telephony } });
      try {
        const p = new PanelClient(app);
        await p.signIn(anna.email);
        const page = await p.get(`/admin/calls/dial?number=${encodeURIComponent(IVAN)}&contactId=${ivanId}`);
        assert.equal(page.statusCode, 200);
        assert.match(pageText(page.body), said);
        assert.match(pageText(page.body), /Можно набрать номер со своего телефона/);
      } finally {
        await app.close();
      }
    }
  });
});

/** A plain HTTP reader of the live window's event stream. */
async function openLive(p: PanelClient) {
  const abort = new AbortController();
  const res = await fetch(`${crm.base}/admin/calls/live`, { headers: { cookie: cookieOf(p), accept: 'text/event-stream' }, signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  /** the cards (event «call») in order */
  const events: { event: string; data: { callId: number; state: string; html?: string } }[] = [];
  /** what the stream said was ringing when it opened (event «ringing») */
  const ringing: number[][] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name === 'call' && data) events.push({ event: name, data: JSON.parse(data) });
          if (name === 'ringing' && data) ringing.push((JSON.parse(data) as { callIds: number[] }).callIds);
        }
      }
    } catch {
      // closed by the test
    }
  })();
  return { events, ringing, close: () => abort.abort() };
}

describe('the live incoming-call window', () => {
  test('a ringing call reaches the chosen manager’s open page at once, with the card; «Принять» claims it; another manager hears nothing of it', async () => {
    const annaLive = await openLive(await panel(anna));
    const borisLive = await openLive(await panel(boris));
    try {
      const ivan = await incoming(IVAN, OFFICE);
      const ringing = await waitFor('the ringing card on Anna’s stream', () => annaLive.events.find((e) => e.data.callId === ivan.callId));
      assert.equal(ringing.event, 'call');
      assert.equal(ringing.data.state, 'ringing');
      const html = pageText(ringing.data.html ?? '');
      for (const s of ['Входящий звонок', 'Иван Звонарёв', '+7 916 111 22 33', 'ООО Звонкий Опт', 'Офис', 'Принять', 'Скрыть']) assert.ok(html.includes(s), `${s} in ${html}`);
      assert.match(ringing.data.html ?? '', new RegExp(`href="/admin/contacts/${ivanId}"`));

      // Boris's own call is the first thing his stream carries: Anna's never came
      const petr = await incoming(PETR, SALES);
      const first = await waitFor('Boris’s ringing card', () => borisLive.events[0]);
      assert.equal(first.data.callId, petr.callId);
      assert.ok(!borisLive.events.some((e) => e.data.callId === ivan.callId));
      assert.ok(!annaLive.events.some((e) => e.data.callId === petr.callId));

      // «Принять» as the window sends it
      const p = await panel(anna);
      const claim = await crm.app!.inject({
        method: 'POST',
        url: `/admin/calls/${ivan.callId}/claim`,
        headers: { cookie: cookieOf(p), accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': p.csrf },
        payload: `_csrf=${encodeURIComponent(p.csrf)}`,
      });
      assert.equal(claim.statusCode, 200, claim.body);
      assert.equal(claim.json().state, 'mine');
      assert.match(pageText(claim.json().html), /Вы приняли звонок/);
      const [row] = await rows<{ claimed_at: Date | null; user_id: number }>(sql`SELECT claimed_at, user_id FROM calls WHERE id = ${ivan.callId}`);
      assert.ok(row!.claimed_at);
      assert.equal(row!.user_id, anna.id);
      await waitFor('the claimed card on Anna’s stream', () => annaLive.events.find((e) => e.data.callId === ivan.callId && e.data.state === 'mine'));

      // Boris cannot take Anna's client's call: the window would say why
      const b = await panel(boris);
      const refused = await crm.app!.inject({
        method: 'POST',
        url: `/admin/calls/${ivan.callId}/claim`,
        headers: { cookie: cookieOf(b), accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': b.csrf },
        payload: `_csrf=${encodeURIComponent(b.csrf)}`,
      });
      assert.ok(refused.statusCode >= 400 && refused.statusCode < 500);
      assert.match(refused.json().message, /[а-я]/);

      // the call ends: the window says so
      await event({ callKey: ivan.callKey, kind: 'ended', result: 'answered', durationSec: 30 });
      await waitFor('the ended card on Anna’s stream', () => annaLive.events.find((e) => e.data.callId === ivan.callId && e.data.state === 'ended'));
      assert.ok(!borisLive.events.some((e) => e.data.callId === ivan.callId));
    } finally {
      annaLive.close();
      borisLive.close();
    }
  });

  test('a page opened while a call rings is told of it first', async () => {
    const petr = await incoming(PETR, OFFICE);
    const live = await openLive(await panel(boris));
    try {
      const told = await waitFor('the ringing call on connect', () => live.events.find((e) => e.data.callId === petr.callId));
      assert.equal(told.data.state, 'ringing');
      assert.ok(live.ringing[0]!.includes(petr.callId), 'listed first, so a reconnected window drops calls that stopped meanwhile');
    } finally {
      live.close();
    }
    const signedOut = await fetch(`${crm.base}/admin/calls/live`, { redirect: 'manual' });
    assert.equal(signedOut.status, 303, 'the stream needs a session');
  });

  test('five tabs hold a stream each; a sixth gets no live window, and one closed makes room again', async () => {
    const p = await panel(boris);
    const tabs = [];
    try {
      for (let i = 0; i < 5; i++) tabs.push(await openLive(p));
      const sixth = await fetch(`${crm.base}/admin/calls/live`, { headers: { cookie: cookieOf(p), accept: 'text/event-stream' } });
      assert.equal(sixth.status, 429);
      assert.match(await sixth.text(), /в других вкладках/);
      tabs.shift()!.close();
      tabs.push(await waitFor('a stream once one is closed', async () => {
        try {
          return await openLive(p);
        } catch {
          return null;
        }
      }));
    } finally {
      for (const t of tabs) t.close();
    }
  });
});
