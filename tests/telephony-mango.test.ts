import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { FakeTelegram } from './helpers/fake-telegram.js';
import { startFakeMango, mangoEvents as ev, type FakeMango } from './helpers/fake-mango.js';
import { openTestServices } from './helpers/services.js';
import { PanelClient } from './helpers/http-client.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { createLine, setUserExtensions, type PhoneLine } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { placeCall } from '../core/telephony/calls.js';
import { isServiceError } from '../core/errors.js';
import { TelephonyError, type TelephonyClients } from '../core/telephony/types.js';

/**
 * Mango Office end to end: the CRM (web, worker, bot) listening on loopback, a fake Mango VPBX that
 * posts signed events to it and checks the signs of our commands, a fake Telegram for the managers'
 * cards. Анна (ext. 101) and Борис (ext. 102) are managers; «Офис» is the Mango line; the rule gives
 * a call on it to the client's responsible.
 */
const KEY = 'mango-key-telephony-test';
const SALT = 'mango-salt-telephony-test';
const LINE = '74951234567';
const MARIA = '79161234567'; // Анна's client, with an open lead
const PETR = '79267654321'; // Борис's client, with an open lead
const ANNA_TG = 7101;
const BORIS_TG = 7102;
const MP3 = Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000fake mango recording', 'binary');

let mango: FakeMango;
let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User, boris: User, admin: User;
let line: PhoneLine;
let mariaLead: number, petrLead: number;
let clients: TelephonyClients;

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
interface CallRow {
  id: number;
  status: string;
  direction: string;
  user_id: number | null;
  lead_id: number | null;
  contact_id: number | null;
  line_id: number | null;
  duration_sec: number;
  answered_at: Date | null;
  ended_at: Date | null;
  follow_up_work_id: number | null;
  recording_status: string | null;
  command_id: string | null;
  provider_call_id: string | null;
}
const callsOf = (entryId: string) => rows<CallRow>(sql`SELECT * FROM calls WHERE provider = 'mango' AND provider_call_id = ${entryId}`);
const callOf = async (entryId: string) => (await callsOf(entryId))[0];
let seq = 0;
const entry = () => `E-${process.pid}-${++seq}`;
const post = async (path: Parameters<FakeMango['postEvent']>[1], json: object) => {
  const status = await mango.postEvent(crm.base, path, json);
  assert.equal(status, 200, `${path} answered ${status}`);
};
const tgTo = (chat: number) => tg.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === chat);

before(async () => {
  mango = await startFakeMango({ apiKey: KEY, apiSalt: SALT });
  tg = await new FakeTelegram().start();
  s = await openTestServices({
    MANGO_API_KEY: KEY,
    MANGO_API_SALT: SALT,
    MANGO_API_ROOT: mango.url,
    TELEGRAM_BOT_TOKEN: '123456:TEST-token',
    TELEGRAM_API_ROOT: tg.url,
  });
  const sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@mango.test', name: 'Анна', role: 'manager', password: 'password123' });
  boris = await createUser(sys, { email: 'boris@mango.test', name: 'Борис', role: 'manager' });
  admin = await createUser(sys, { email: 'admin@mango.test', name: 'Админ', role: 'admin' });
  await rows(sql`UPDATE users SET telegram_id = ${ANNA_TG} WHERE id = ${anna.id}`);
  await rows(sql`UPDATE users SET telegram_id = ${BORIS_TG} WHERE id = ${boris.id}`);
  const adm = s.ctx(userActor(admin));
  await setUserExtensions(adm, anna.id, { mango: '101' });
  await setUserExtensions(adm, boris.id, { mango: '102' });
  line = await createLine(adm, { provider: 'mango', number: `+${LINE}`, name: 'Офис' });
  await createCallRule(adm, { name: 'Клиенту — его менеджер', lineId: line.id, target: 'responsible' });
  const maria = await createContact(sys, { name: 'Мария Звонкова', phones: [`+${MARIA}`] });
  mariaLead = (await createLead(sys, { title: 'Окна в дом', source: 'website', contactId: maria.id, responsibleId: anna.id })).id;
  const petr = await createContact(sys, { name: 'Пётр Тихонов', phones: [`+${PETR}`] });
  petrLead = (await createLead(sys, { title: 'Двери', source: 'website', contactId: petr.id, responsibleId: boris.id })).id;
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  const mangoClient = crm.telephony.mango?.client;
  assert.ok(mangoClient, 'Mango is configured');
  clients = { mango: mangoClient };
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
  await mango?.close();
});

describe('an incoming Mango call', () => {
  let callId = 0;

  test('rings the client’s manager in Telegram (by the rule), is answered, ends, and is kept on the client’s lead', async () => {
    const e = entry();
    const leg = { entryId: e, callId: `${e}:1`, from: MARIA, line: LINE };
    const borisBefore = tgTo(BORIS_TG).length;
    await post('events/call', ev.incomingAppeared({ ...leg, extension: '101', seq: 1 }));

    await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA_TG && /Мария|916/.test(String(p.text)), { timeoutMs: 30_000 });
    const ringing = await callOf(e);
    assert.equal(ringing?.user_id, anna.id);
    assert.equal(ringing?.direction, 'in');

    await post('events/call', ev.connected({ ...leg, extension: '101', seq: 2 }));
    await waitFor('the call talking', async () => (await callOf(e))?.status === 'talking');
    await post('events/call', ev.disconnected({ ...leg, extension: '101', seq: 3, reason: 1120 }));
    const end = Math.floor(Date.now() / 1000);
    await post('events/summary', ev.summary({ entryId: e, client: MARIA, line: LINE, extension: '101', createTime: end - 100, talkTime: end - 75, endTime: end }));

    const done = await waitFor('the call answered', async () => {
      const c = await callOf(e);
      return c?.status === 'answered' && c.ended_at ? c : null;
    });
    assert.equal(done.duration_sec, 75);
    assert.equal(done.lead_id, mariaLead);
    assert.equal(done.user_id, anna.id);
    assert.equal(done.line_id, line.id);
    assert.ok(done.answered_at);
    assert.equal((await callsOf(e)).length, 1);
    // Борис is not the client's manager: his Telegram heard nothing of this call
    assert.ok(!tgTo(BORIS_TG).slice(borisBefore).some((c) => /Мария|916/.test(String(c.params.text))));
    callId = done.id;
  });

  test('its recording is fetched from Mango by the job and plays in the panel for the manager', async () => {
    assert.ok(callId, 'the answered call of the previous test');
    const [{ provider_call_id: e }] = (await rows<{ provider_call_id: string }>(sql`SELECT provider_call_id FROM calls WHERE id = ${callId}`)) as [{ provider_call_id: string }];
    const recordingId = `REC-${e}`;
    mango.setRecording(recordingId, MP3);
    await post('events/recording', ev.recordingCompleted({ entryId: e, callId: `${e}:1`, recordingId, extension: '101' }));

    await waitFor('the recording stored', async () => (await callOf(e))?.recording_status === 'stored', 30_000);
    assert.ok(mango.commands.some((c) => c.path === 'queries/recording/post' && c.json.recording_id === recordingId && c.json.action === 'download'));

    const panel = new PanelClient(crm.app!);
    await panel.signIn('anna@mango.test');
    const res = await panel.get(`/admin/calls/${callId}/recording`);
    assert.equal(res.statusCode, 200, res.body.slice(0, 200));
    assert.match(String(res.headers['content-type']), /^audio\/mpeg/);
    assert.deepEqual(res.rawPayload, MP3);
  });

  test('a missed call leaves one work «Позвонить» for the client’s responsible', async () => {
    const e = entry();
    const leg = { entryId: e, callId: `${e}:1`, from: PETR, line: LINE };
    await post('events/call', ev.incomingAppeared({ ...leg, seq: 1 }));
    await post('events/call', ev.disconnected({ ...leg, seq: 2, reason: 1110 }));
    const summary = ev.summary({ entryId: e, client: PETR, line: LINE, entryResult: 0, disconnectReason: 1110 });
    await post('events/summary', summary);
    // Mango repeats a delivery it is not sure of: the work is still one
    await post('events/summary', summary);

    const missed = await waitFor('the call missed with its work', async () => {
      const c = await callOf(e);
      return c?.status === 'missed' && c.follow_up_work_id ? c : null;
    });
    assert.equal(missed.user_id, boris.id);
    const works = await rows<{ responsible_id: number; lead_id: number | null; action: string }>(
      sql`SELECT w.responsible_id, w.lead_id, a.name AS action FROM works w JOIN actions a ON a.id = w.action_id WHERE w.id = ${missed.follow_up_work_id}`,
    );
    assert.equal(works.length, 1);
    assert.equal(works[0]!.responsible_id, boris.id);
    assert.equal(works[0]!.lead_id, petrLead);
    assert.equal(works[0]!.action, 'Позвонить');
    const [{ n }] = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM works WHERE lead_id = ${petrLead}`)) as [{ n: number }];
    assert.equal(n, 1);
  });

  test('a summary delivered before the call events still makes one correct call', async () => {
    const e = entry();
    const leg = { entryId: e, callId: `${e}:1`, from: MARIA, line: LINE };
    const end = Math.floor(Date.now() / 1000);
    await post('events/summary', ev.summary({ entryId: e, client: MARIA, line: LINE, extension: '101', createTime: end - 60, talkTime: end - 40, endTime: end }));
    const first = await waitFor('the call from its summary', () => callOf(e));
    assert.equal(first.status, 'answered');
    assert.equal(first.direction, 'in');
    assert.equal(first.lead_id, mariaLead);

    await post('events/call', ev.incomingAppeared({ ...leg, extension: '101', seq: 1 }));
    await post('events/call', ev.connected({ ...leg, extension: '101', seq: 2 }));
    await post('events/call', ev.disconnected({ ...leg, extension: '101', seq: 3, reason: 1120 }));
    const all = await callsOf(e);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.status, 'answered');
    assert.equal(all[0]!.duration_sec, 40);
    assert.equal(all[0]!.user_id, anna.id);
  });

  test('repeated events are stored once', async () => {
    const e = entry();
    const leg = { entryId: e, callId: `${e}:1`, from: MARIA, line: LINE };
    const appeared = ev.incomingAppeared({ ...leg, extension: '101', seq: 1 });
    const connected = ev.connected({ ...leg, extension: '101', seq: 2 });
    for (const json of [appeared, appeared, connected, appeared, connected]) await post('events/call', json);
    await waitFor('the call talking', async () => (await callOf(e))?.status === 'talking');
    assert.equal((await callsOf(e)).length, 1);
  });
});

describe('what Mango posts is checked', () => {
  test('a forged sign gets 401 and stores nothing', async () => {
    const e = entry();
    const status = await mango.postEvent(crm.base, 'events/call', ev.incomingAppeared({ entryId: e, callId: `${e}:1`, from: MARIA, line: LINE }), { forge: true });
    assert.equal(status, 401);
    const summary = await mango.postEvent(crm.base, 'events/summary', ev.summary({ entryId: e, client: MARIA, line: LINE }), { forge: true });
    assert.equal(summary, 401);
    assert.equal((await callsOf(e)).length, 0);
  });

  test('another VPBX’s key gets 401, even signed with it', async () => {
    const e = entry();
    const status = await mango.postEvent(crm.base, 'events/call', ev.incomingAppeared({ entryId: e, callId: `${e}:1`, from: MARIA, line: LINE }), { key: 'someone-elses-vpbx' });
    assert.equal(status, 401);
    assert.equal((await callsOf(e)).length, 0);
  });

  test('a post without the form gets 401 in the CRM’s shape', async () => {
    const res = await fetch(`${crm.base}/webhooks/mango/events/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'json=%7B%7D',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'forbidden');
  });

  test('ping (the cabinet’s «Проверить подключение») and command results answer 200', async () => {
    assert.equal(await mango.postEvent(crm.base, 'ping', {}), 200);
    assert.equal(await mango.postEvent(crm.base, 'result/callback', ev.callbackResult({ commandId: 'no-such-command' })), 200);
  });
});

describe('click-to-call through Mango', () => {
  test('rings the manager’s extension first and dials the client from the chosen line', async () => {
    const since = mango.commands.length;
    const call = await placeCall(s.ctx(userActor(anna)), clients, { number: '+7 916 123-45-67', lineId: line.id, leadId: mariaLead });
    const cmd = mango.commands.slice(since).find((c) => c.path === 'commands/callback');
    assert.ok(cmd, 'the fake received a verified commands/callback');
    assert.deepEqual(cmd.json.from, { extension: '101' });
    assert.equal(cmd.json.to_number, MARIA);
    assert.equal(cmd.json.line_number, LINE);
    assert.equal(cmd.json.command_id, call.commandId);

    // Mango's events for it carry our command_id: they find the row made at the click
    const e = entry();
    await post('events/call', ev.outgoingAppeared({ entryId: e, callId: `${e}:1`, extension: '101', to: MARIA, line: LINE, commandId: call.commandId!, seq: 1 }));
    const adopted = await waitFor('the click-to-call row adopted', async () => (await callOf(e)) ?? null);
    assert.equal(adopted.id, call.id);
    assert.equal(adopted.direction, 'out');
  });

  test('a refused key or sign fails the call with a reason the admin can act on', async () => {
    mango.failNext('commands/callback', 3102);
    await assert.rejects(
      placeCall(s.ctx(userActor(boris)), clients, { number: `+${PETR}`, lineId: line.id }),
      (err: unknown) => isServiceError(err) && /MANGO_API_KEY и MANGO_API_SALT/.test(err.message),
    );
    const [failed] = await rows<{ status: string }>(sql`SELECT status FROM calls WHERE user_id = ${boris.id} AND direction = 'out' ORDER BY id DESC LIMIT 1`);
    assert.equal(failed?.status, 'failed');
  });
});

describe('the Mango client', () => {
  test('«Принять» routes the ringing leg to the user’s extension with commands/route', async () => {
    const since = mango.commands.length;
    await clients.mango!.routeCall!({ legId: 'E-route:1', extension: '102', commandId: 'route-cmd-1' });
    const cmd = mango.commands.slice(since).find((c) => c.path === 'commands/route');
    assert.deepEqual(cmd?.json, { command_id: 'route-cmd-1', call_id: 'E-route:1', to_number: '102' });
  });

  test('Mango’s overload and rate limit are worth retrying; a recording not in the cloud yet too', async () => {
    const attempt = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail('expected a TelephonyError'),
        (err: unknown) => err as TelephonyError,
      );
    mango.failNext('commands/callback', 5001);
    const down = await attempt(clients.mango!.placeCall({ extension: '101', toNumber: `+${MARIA}`, lineNumber: `+${LINE}`, commandId: 'c-5001' }));
    assert.ok(down instanceof TelephonyError);
    assert.equal(down.retryable, true);
    assert.match(down.message, /временно недоступен/);
    mango.failNext('commands/callback', 429);
    assert.equal((await attempt(clients.mango!.placeCall({ extension: '101', toNumber: `+${MARIA}`, lineNumber: null, commandId: 'c-429' }))).retryable, true);
    const notYet = await attempt(clients.mango!.fetchRecording({ recordingId: 'not-uploaded-yet', callKey: 'E-x' }));
    assert.equal(notYet.retryable, true);
    mango.failNext('commands/callback', 3330);
    const wrong = await attempt(clients.mango!.placeCall({ extension: '101', toNumber: '+70000000000', lineNumber: null, commandId: 'c-3330' }));
    assert.equal(wrong.retryable, false);
    assert.match(wrong.message, /номер/);
  });
});
