import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { pbxWebhook } from '../bots/pbx/index.js';
import { pbxSignature } from '../bots/pbx/signature.js';
import { zebraTelephony } from '../bots/zebra/index.js';
import { calls } from '../core/db/schema/index.js';
import type { Services } from '../core/services.js';
import { createLine, setUserExtensions } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { FakeTelegram } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';

/**
 * The generic PBX webhook: any PBX reports its calls to POST /webhooks/pbx/calls, signed with
 * HMAC-SHA256 over the timestamp and the raw body. Signed events make one call; anything unsigned,
 * forged or stale is refused before it is read.
 */
const SECRET = 'pbx-webhook-secret-0123456789';
const LINE = '+74957778899';

let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let admin: User, vera: User, gleb: User;

const unix = (d = new Date()) => String(Math.floor(d.getTime() / 1000));

function post(body: string, headers: Record<string, string | undefined> = {}) {
  const ts = 'x-crm-timestamp' in headers ? headers['x-crm-timestamp'] : unix();
  const sig = 'x-crm-signature' in headers ? headers['x-crm-signature'] : pbxSignature(SECRET, ts ?? '', body);
  return fetch(`${crm.base}/webhooks/pbx/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(ts ? { 'x-crm-timestamp': ts } : {}), ...(sig ? { 'x-crm-signature': sig } : {}) },
    body,
  });
}
async function event(fields: Record<string, unknown>) {
  const r = await post(JSON.stringify(fields));
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text) as { status: string; call_id?: number };
}
const byKey = (key: string) => s.ctx().db.select().from(calls).where(and(eq(calls.provider, 'generic'), eq(calls.providerCallId, key)));

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ PBX_WEBHOOK_SECRET: SECRET, TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  admin = await createUser(s.ctx(), { email: 'admin@pbx.test', name: 'Админ', role: 'admin' });
  vera = await createUser(s.ctx(), { email: 'vera@pbx.test', name: 'Вера', role: 'manager' });
  gleb = await createUser(s.ctx(), { email: 'gleb@pbx.test', name: 'Глеб', role: 'manager' });
  await s.database.rows(sql`UPDATE users SET telegram_id = 710000 + id`);
  const adm = s.ctx(userActor(admin));
  await setUserExtensions(adm, vera.id, { generic: '201' });
  await setUserExtensions(adm, gleb.id, { generic: '202' });
  await createLine(adm, { provider: 'generic', number: LINE, name: 'Склад' });
  await createCallRule(adm, { name: 'Склад — Вере', target: 'user', targetUserId: vera.id });
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('configuration', () => {
  test('the generic webhook exists only with PBX_WEBHOOK_SECRET, and cannot place calls', () => {
    assert.equal(crm.telephony.generic?.client, null);
    assert.equal(pbxWebhook({ ...s, config: { ...s.config, PBX_WEBHOOK_SECRET: undefined } }), null);
  });

  test('Zebra is off unless its login, password, realm and hook secret are all set', () => {
    const zebra = { ZEBRA_LOGIN: 'l', ZEBRA_PASSWORD: 'p', ZEBRA_REALM: '1.ztpbx.ru', ZEBRA_WEBHOOK_SECRET: 'zebra-secret-0123456789' };
    assert.ok(zebraTelephony({ ...s, config: { ...s.config, ...zebra } }));
    for (const key of Object.keys(zebra)) assert.equal(zebraTelephony({ ...s, config: { ...s.config, ...zebra, [key]: undefined } }), null, key);
  });
});

describe('a PBX reports a call', () => {
  test('ringing, answered, ended: one call, the card to the chosen manager, the answer names who took it', async () => {
    const t0 = Date.now() - 90_000;
    const since = tg.calls.length;
    const common = { call_id: 'pbx-call-1', direction: 'in', client_number: '8 916 111-22-33', line_number: '+7 (495) 777-88-99' };
    const rang = await event({ ...common, event: 'ringing', at: new Date(t0).toISOString() });
    assert.equal(rang.status, 'ok');
    await tg.waitFor('sendMessage', (p) => p.chat_id === 710000 + vera.id && String(p.text).includes('Входящий звонок'), { since, timeoutMs: 10_000 });
    await event({ ...common, event: 'answered', extension: '202', at: new Date(t0 + 5_000).toISOString() });
    const [talking] = await byKey('pbx-call-1');
    assert.equal(talking!.status, 'talking');
    assert.equal(talking!.userId, gleb.id);
    await event({ ...common, event: 'ended', result: 'answered', duration_sec: 80, at: new Date(t0 + 85_000).toISOString() });
    await event({ ...common, event: 'ended', result: 'answered', duration_sec: 80, at: new Date(t0 + 85_000).toISOString() });
    const rows = await byKey('pbx-call-1');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'answered');
    assert.equal(rows[0]!.durationSec, 80);
    assert.equal(rows[0]!.clientNumber, '+79161112233');
    assert.ok(rows[0]!.lineId);
    assert.ok(rows[0]!.contactId, 'the caller became a contact');
  });

  test('a missed call without a ringing event is still a call, with its work', async () => {
    await event({ call_id: 'pbx-call-2', event: 'ended', direction: 'in', client_number: '+79161112244', line_number: LINE, result: 'missed' });
    const [row] = await byKey('pbx-call-2');
    assert.equal(row!.status, 'missed');
    assert.ok(row!.followUpWorkId);
  });

  test('a recording event is acknowledged and ignored: the generic webhook cannot fetch files', async () => {
    const r = await event({ call_id: 'pbx-call-1', event: 'recording', direction: 'in', client_number: '+79161112233', recording_id: 'rec-1' });
    assert.equal(r.status, 'ignored');
    assert.equal((await byKey('pbx-call-1'))[0]!.recordingStatus, null);
  });
});

describe('requests that are not the PBX’s', () => {
  const body = JSON.stringify({ call_id: 'pbx-forged', event: 'ringing', direction: 'in', client_number: '+79161112255' });

  test('no signature, a wrong one, a signature of another body or with another key: 401 and nothing stored', async () => {
    const ts = unix();
    const refusals = [
      await post(body, { 'x-crm-signature': undefined }),
      await post(body, { 'x-crm-timestamp': undefined, 'x-crm-signature': undefined }),
      await post(body, { 'x-crm-signature': 'sha256=' + '0'.repeat(64) }),
      await post(body, { 'x-crm-signature': pbxSignature('another-secret-0123456789', ts, body), 'x-crm-timestamp': ts }),
      await post(body, { 'x-crm-signature': pbxSignature(SECRET, ts, body.replace('55', '56')), 'x-crm-timestamp': ts }),
      await post(body, { 'x-crm-signature': pbxSignature(SECRET, ts, body).slice('sha256='.length), 'x-crm-timestamp': ts }),
    ];
    for (const [i, r] of refusals.entries()) {
      assert.equal(r.status, 401, `refusal ${i}`);
      assert.match(((await r.json()) as { message: string }).message, /подпис/i);
    }
    assert.equal((await byKey('pbx-forged')).length, 0);
  });

  test('a stale timestamp is refused even with a valid signature', async () => {
    for (const offset of [-301, 301]) {
      const ts = unix(new Date(Date.now() + offset * 1000));
      const r = await post(body, { 'x-crm-timestamp': ts, 'x-crm-signature': pbxSignature(SECRET, ts, body) });
      assert.equal(r.status, 401);
      assert.match(((await r.json()) as { message: string }).message, /5 минут/);
    }
    assert.equal((await byKey('pbx-forged')).length, 0);
  });

  test('a signed body that is not a call event is refused with 400 naming the fields', async () => {
    const r = await post(JSON.stringify({ event: 'rang', direction: 'sideways', duration_sec: -1, at: 'yesterday' }));
    assert.equal(r.status, 400);
    const answer = (await r.json()) as { error: string; fields: Record<string, string> };
    assert.equal(answer.error, 'invalid');
    for (const field of ['call_id', 'event', 'direction', 'client_number', 'duration_sec', 'at']) assert.ok(answer.fields[field], `${field} is named`);
    assert.match(answer.fields.event!, /ringing, answered, ended, recording/);
    const notJson = await post('call_id=1&event=ringing');
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { message: string }).message, /не JSON/);
  });
});
