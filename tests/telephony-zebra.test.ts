import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { actions, calls, leads, works } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import type { Services } from '../core/services.js';
import { callRecording, placeCall } from '../core/telephony/calls.js';
import { createLine, setUserExtensions } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import type { TelephonyClients } from '../core/telephony/types.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { dateToGregorian } from '../bots/zebra/inbound.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { startFakeKazoo, type FakeKazoo } from './helpers/fake-kazoo.js';
import { FakeTelegram } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * Zebra Telecom end to end: Kazoo's channel hooks posted by a fake Zebra over loopback into the
 * CRM, the incoming-call card in a fake Telegram, recordings and click-to-call through the fake
 * Zebra API (which checks our token on every request), on a real database and job queue.
 */
const SECRET = 'zebra-hook-secret-0123456789';
const CREDS = { login: 'office@example.ru', password: 'zebra-pass', realm: '12345.ztpbx.ru' };
const LINE = '+74951112233';
const DEVICE_ANNA = 'aaaa0000aaaa0000aaaa0000aaaa0001';
const DEVICE_BORIS = 'bbbb0000bbbb0000bbbb0000bbbb0002';

let kazoo: FakeKazoo;
let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let admin: User, anna: User, boris: User;
let clients: TelephonyClients;

/** Kazoo's timestamp of a moment `sec` seconds after `t0` (Gregorian seconds) */
const greg = (t0: number, sec: number) => String(dateToGregorian(new Date(t0 + sec * 1000)));
const hook = (name: string, fields: Record<string, unknown>, opts: { json?: boolean; secret?: string } = {}) =>
  kazoo.postHook(crm.base, opts.secret ?? SECRET, name, fields, opts);
async function ok(res: Promise<Response>) {
  const r = await res;
  assert.equal(r.status, 200, await r.text());
}
const callsByKey = (key: string) => s.ctx().db.select().from(calls).where(and(eq(calls.provider, 'zebra'), eq(calls.providerCallId, key)));
const callRow = async (id: number) => (await s.ctx().db.select().from(calls).where(eq(calls.id, id)))[0]!;

/** A client's call into our line: the carrier's leg, and one device leg per phone that rings. */
function incoming(callId: string, client: string) {
  const carrier = (extra: Record<string, unknown> = {}) => ({
    account_id: kazoo.accountId,
    call_id: callId,
    call_direction: 'inbound',
    caller_id_number: client,
    caller_id_name: client,
    request: `${LINE}@${CREDS.realm}`,
    to: `${LINE}@${CREDS.realm}`,
    from: `${client}@${CREDS.realm}`,
    custom_channel_vars: { account_id: kazoo.accountId },
    ...extra,
  });
  const device = (legId: string, deviceId: string, extra: Record<string, unknown> = {}) => ({
    account_id: kazoo.accountId,
    call_id: legId,
    other_leg_call_id: callId,
    call_direction: 'outbound',
    authorizing_type: 'device',
    authorizing_id: deviceId,
    caller_id_number: client,
    custom_channel_vars: { authorizing_id: deviceId, owner_id: 'owner' },
    ...extra,
  });
  return { carrier, device };
}

before(async () => {
  kazoo = await startFakeKazoo(CREDS);
  tg = await new FakeTelegram().start();
  s = await openTestServices({
    ZEBRA_API_ROOT: kazoo.url,
    ZEBRA_LOGIN: CREDS.login,
    ZEBRA_PASSWORD: CREDS.password,
    ZEBRA_REALM: CREDS.realm,
    ZEBRA_WEBHOOK_SECRET: SECRET,
    TELEGRAM_BOT_TOKEN: '123456:TEST-token',
    TELEGRAM_API_ROOT: tg.url,
  });
  const sys = s.ctx();
  admin = await createUser(sys, { email: 'admin@zebra.test', name: 'Админ', role: 'admin' });
  anna = await createUser(sys, { email: 'anna@zebra.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@zebra.test', name: 'Борис', role: 'manager' });
  await s.database.rows(sql`UPDATE users SET telegram_id = 700000 + id`);
  const adm = s.ctx(userActor(admin));
  await setUserExtensions(adm, anna.id, { zebra: DEVICE_ANNA });
  await setUserExtensions(adm, boris.id, { zebra: DEVICE_BORIS });
  await createLine(adm, { provider: 'zebra', number: LINE, name: 'Офис' });
  // «Прием звонков IP»: every call to the office goes to Борис
  await createCallRule(adm, { name: 'Всё Борису', target: 'user', targetUserId: boris.id });
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  clients = { zebra: crm.telephony.zebra!.client! };
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
  await kazoo?.close();
});

describe('an incoming call through Zebra', () => {
  const client = '+79161234567';
  const call = incoming('carrier-answered-1', client);
  const t0 = Date.now() - 60_000;
  let callId: number;

  test('the carrier leg ringing sends the chosen manager a card in Telegram, with the client made a lead', async () => {
    const since = tg.calls.length;
    await ok(hook('channel_create', call.carrier({ timestamp: greg(t0, 0) })));
    const card = await tg.waitFor('sendMessage', (p) => p.chat_id === 700000 + boris.id && String(p.text).includes('Входящий звонок'), { since, timeoutMs: 10_000 });
    assert.match(String(card.params.text), /916/);
    const [row] = await callsByKey('carrier-answered-1');
    assert.ok(row);
    callId = row.id;
    assert.equal(row.direction, 'in');
    assert.equal(row.status, 'ringing');
    assert.equal(row.userId, boris.id);
    assert.equal(row.clientNumber, client);
    assert.ok(row.lineId, 'the line is known by its number');
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, row.leadId!));
    assert.equal(lead?.source, 'phone');
  });

  test('device legs ringing and answering make no second call; the device that answered names the user', async () => {
    await ok(hook('channel_create', call.device('dev-leg-a', DEVICE_ANNA, { timestamp: greg(t0, 1) })));
    await ok(hook('channel_create', call.device('dev-leg-b', DEVICE_BORIS, { timestamp: greg(t0, 1) })));
    await ok(hook('channel_answer', call.carrier({ timestamp: greg(t0, 10) })));
    await ok(hook('channel_answer', call.device('dev-leg-a', DEVICE_ANNA, { timestamp: greg(t0, 10) })));
    await ok(hook('channel_destroy', call.device('dev-leg-b', DEVICE_BORIS, { timestamp: greg(t0, 10), hangup_cause: 'LOSE_RACE', billing_seconds: '0' })));
    const rows = await callsByKey('carrier-answered-1');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'talking');
    assert.equal(rows[0]!.userId, anna.id, 'Анна picked up on her phone');
  });

  test('the carrier leg hanging up ends the call as answered with its talk time, and the recording is fetched', async () => {
    kazoo.setRecording('carrier-answered-1', Buffer.from('ID3-fake-mp3-of-the-talk'));
    await ok(hook('channel_destroy', call.device('dev-leg-a', DEVICE_ANNA, { timestamp: greg(t0, 52), hangup_cause: 'NORMAL_CLEARING', billing_seconds: '42' })));
    assert.equal((await callRow(callId)).status, 'talking', 'a device leg hanging up does not end the call');
    await ok(hook('channel_destroy', call.carrier({ timestamp: greg(t0, 52), other_leg_call_id: 'dev-leg-a', hangup_cause: 'NORMAL_CLEARING', billing_seconds: '50', duration_seconds: '52' })));
    const row = await callRow(callId);
    assert.equal(row.status, 'answered');
    assert.equal(row.durationSec, 42);
    assert.equal(row.userId, anna.id);
    const stored = await waitFor('the recording stored', async () => ((await callRow(callId)).recordingStatus === 'stored' ? callRow(callId) : null), 20_000);
    assert.equal(stored.recordingMime, 'audio/mpeg');
    const file = await callRecording(s.ctx(userActor(anna)), callId);
    assert.equal(readFileSync(path.join(s.dataDir, file.path), 'utf8'), 'ID3-fake-mp3-of-the-talk');
  });

  test('hooks Kazoo repeats change nothing and announce nothing again', async () => {
    const cards = () => tg.calls.filter((c) => c.method === 'sendMessage' && String(c.params.text).includes('Входящий звонок')).length;
    const before = cards();
    await ok(hook('channel_create', call.carrier({ timestamp: greg(t0, 0) })));
    await ok(hook('channel_answer', call.device('dev-leg-a', DEVICE_ANNA, { timestamp: greg(t0, 10) })));
    await ok(hook('channel_destroy', call.carrier({ timestamp: greg(t0, 52), hangup_cause: 'NORMAL_CLEARING', billing_seconds: '50' })));
    const rows = await callsByKey('carrier-answered-1');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'answered');
    assert.equal(rows[0]!.durationSec, 42);
    assert.equal(cards(), before);
  });
});

describe('a missed call through Zebra (hooks in JSON)', () => {
  test('the caller hanging up while it rings makes a missed call and one work «Позвонить»', async () => {
    const call = incoming('carrier-missed-1', '+79035550011');
    const t0 = Date.now() - 30_000;
    await ok(hook('channel_create', call.carrier({ timestamp: greg(t0, 0) }), { json: true }));
    await ok(hook('channel_create', call.device('dev-missed-a', DEVICE_BORIS, { timestamp: greg(t0, 1) }), { json: true }));
    await ok(hook('channel_destroy', call.device('dev-missed-a', DEVICE_BORIS, { timestamp: greg(t0, 28), hangup_cause: 'ORIGINATOR_CANCEL' }), { json: true }));
    const end = call.carrier({ timestamp: greg(t0, 28), hangup_cause: 'ORIGINATOR_CANCEL', billing_seconds: '0', duration_seconds: '28' });
    await ok(hook('channel_destroy', end, { json: true }));
    await ok(hook('channel_destroy', end, { json: true }));
    const [row] = await callsByKey('carrier-missed-1');
    assert.equal(row!.status, 'missed');
    assert.equal(row!.recordingStatus, null, 'nobody talked: no recording is asked for');
    assert.ok(row!.followUpWorkId);
    const made = await s
      .ctx()
      .db.select({ id: works.id, action: actions.name, comment: works.comment, leadId: works.leadId })
      .from(works)
      .innerJoin(actions, eq(actions.id, works.actionId))
      .where(eq(works.leadId, row!.leadId!));
    assert.equal(made.length, 1);
    assert.equal(made[0]!.action, 'Позвонить');
    assert.match(made[0]!.comment ?? '', /пропущенный звонок/);
  });
});

describe('hooks that are not Zebra’s', () => {
  test('a wrong secret in the URL is refused with 403 and stores nothing', async () => {
    const call = incoming('carrier-forged-1', '+79035550022');
    const r = await hook('channel_create', call.carrier({ timestamp: greg(Date.now(), 0) }), { secret: 'not-the-secret-0123456789' });
    assert.equal(r.status, 403);
    const r2 = await hook('channel_create', call.carrier({ timestamp: greg(Date.now(), 0) }), { secret: SECRET.slice(0, -1), json: true });
    assert.equal(r2.status, 403);
    assert.equal((await callsByKey('carrier-forged-1')).length, 0);
  });
});

describe('click-to-call through Zebra', () => {
  test('placing a call rings the manager’s device by quickcall with the line as caller id and our command id', async () => {
    const t0 = Date.now() - 40_000;
    const call = await placeCall(s.ctx(userActor(anna)), clients, { number: '8 (916) 765-43-21' });
    const qc = kazoo.quickcalls.at(-1)!;
    assert.equal(qc.deviceId, DEVICE_ANNA);
    assert.equal(qc.number, '79167654321');
    assert.equal(qc.query['cid-number'], '74951112233');
    assert.deepEqual(qc.data.custom_application_vars, { crm_command: call.commandId });
    assert.equal(call.providerCallId, qc.callId, 'the quickcall leg is the call');
    assert.equal(call.direction, 'out');

    // Kazoo's hooks of the call land on the same row: the manager's leg, then the client's
    const vars = { crm_command: call.commandId };
    const manager = { call_id: qc.callId, call_direction: 'outbound', authorizing_type: 'device', authorizing_id: DEVICE_ANNA, custom_application_vars: vars };
    const clientLeg = { call_id: 'carrier-out-1', other_leg_call_id: qc.callId, call_direction: 'outbound', authorizing_type: 'device', authorizing_id: DEVICE_ANNA, custom_application_vars: vars };
    await ok(hook('channel_create', { ...manager, timestamp: greg(t0, 0) }));
    await ok(hook('channel_answer', { ...manager, timestamp: greg(t0, 2) }));
    await ok(hook('channel_create', { ...clientLeg, timestamp: greg(t0, 3) }));
    await ok(hook('channel_answer', { ...clientLeg, timestamp: greg(t0, 10) }));
    kazoo.setRecording(qc.callId, Buffer.from('ID3-outgoing'));
    await ok(hook('channel_destroy', { ...clientLeg, timestamp: greg(t0, 35), hangup_cause: 'NORMAL_CLEARING', billing_seconds: '25' }));
    await ok(hook('channel_destroy', { ...manager, other_leg_call_id: 'carrier-out-1', timestamp: greg(t0, 35), hangup_cause: 'NORMAL_CLEARING', billing_seconds: '33' }));
    const rows = await s.ctx().db.select().from(calls).where(eq(calls.commandId, call.commandId!));
    assert.equal(rows.length, 1);
    assert.equal((await callsByKey('carrier-out-1')).length, 0);
    assert.equal(rows[0]!.status, 'answered');
    assert.equal(rows[0]!.durationSec, 25);
    assert.equal(rows[0]!.userId, anna.id);
    // recorded under the quickcall leg, the bridge's first leg
    await waitFor('the outgoing call’s recording', async () => (await callRow(rows[0]!.id)).recordingStatus === 'stored', 20_000);
  });

  test('an expired token is renewed once and the call goes through', async () => {
    const signIns = kazoo.signIns;
    const refused = kazoo.refused;
    kazoo.expireToken();
    await placeCall(s.ctx(userActor(boris)), clients, { number: '+79167654322' });
    assert.equal(kazoo.quickcalls.at(-1)!.deviceId, DEVICE_BORIS);
    assert.equal(kazoo.signIns, signIns + 1);
    assert.equal(kazoo.refused, refused + 1);
    await placeCall(s.ctx(userActor(boris)), clients, { number: '+79167654323' });
    assert.equal(kazoo.signIns, signIns + 1, 'the new token is kept');
  });

  test('a phone that is off is reported in Russian and the call is marked failed', async () => {
    kazoo.offline.add(DEVICE_BORIS);
    try {
      await assert.rejects(placeCall(s.ctx(userActor(boris)), clients, { number: '+79167654324' }), (e: unknown) => {
        assert.ok(e instanceof ServiceError);
        assert.match(e.message, /Телефон сотрудника не в сети/);
        return true;
      });
    } finally {
      kazoo.offline.delete(DEVICE_BORIS);
    }
    const [row] = await s.ctx().db.select().from(calls).where(eq(calls.toNumber, '+79167654324'));
    assert.equal(row?.status, 'failed');
  });
});
