import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dateToGregorian, gregorianToDate, parseKazooForm, parseKazooHook, recordingAfter, resultOf } from '../bots/zebra/inbound.js';
import type { CallEvent } from '../core/telephony/types.js';
import { kazooFormData } from './helpers/fake-kazoo.js';
import { loggablePath } from '../api/app.js';

/**
 * Zebra's (Kazoo's) channel hooks as the core's call events: which leg is the call, what each
 * hook means, times in Gregorian seconds, and the form encoding Kazoo posts by default.
 */
const now = new Date('2025-03-01T10:00:00Z');
const at = new Date('2025-03-01T09:59:30Z');
const DEVICE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const carrierLeg = (extra: Record<string, unknown> = {}) => ({
  call_id: 'carrier-leg-1',
  call_direction: 'inbound',
  caller_id_number: '+79161234567',
  caller_id_name: 'Иван',
  callee_id_number: '',
  request: '+74951112233@12345.ztpbx.ru',
  to: '+74951112233@12345.ztpbx.ru',
  from: '+79161234567@12345.ztpbx.ru',
  timestamp: String(dateToGregorian(at)),
  ...extra,
});
const deviceLeg = (extra: Record<string, unknown> = {}) => ({
  call_id: 'device-leg-1',
  other_leg_call_id: 'carrier-leg-1',
  call_direction: 'outbound',
  authorizing_type: 'device',
  authorizing_id: DEVICE,
  caller_id_number: '+79161234567',
  callee_id_number: '101',
  timestamp: String(dateToGregorian(at)),
  ...extra,
});
const event = (hook: string, p: Record<string, unknown>) => {
  const e = parseKazooHook(hook, p, now);
  assert.notEqual(e, 'ignore', `${hook} was ignored`);
  return e as CallEvent;
};

describe('times', () => {
  test('Gregorian seconds are unix seconds plus 62167219200', () => {
    assert.equal(gregorianToDate(63_911_000_000).toISOString(), new Date((63_911_000_000 - 62_167_219_200) * 1000).toISOString());
    assert.equal(dateToGregorian(new Date('1970-01-01T00:00:00Z')), 62_167_219_200);
    assert.equal(event('channel_create', carrierLeg()).at.toISOString(), at.toISOString());
  });

  test('a hook without a timestamp is dated now', () => {
    assert.equal(event('channel_create', carrierLeg({ timestamp: undefined })).at.toISOString(), now.toISOString());
  });
});

describe('an incoming call: the carrier leg is the call, device legs join it', () => {
  test('the carrier leg appearing is a ringing incoming call from the client to our line', () => {
    const e = event('channel_create', carrierLeg());
    assert.deepEqual(
      { kind: e.kind, provider: e.provider, callKey: e.callKey, legId: e.legId, direction: e.direction, client: e.clientNumber, line: e.lineNumber },
      { kind: 'ringing', provider: 'zebra', callKey: 'carrier-leg-1', legId: 'carrier-leg-1', direction: 'in', client: '+79161234567', line: '+74951112233' },
    );
  });

  test('a device leg ringing adds nothing; its answer says which device took the call', () => {
    assert.equal(parseKazooHook('channel_create', deviceLeg(), now), 'ignore');
    const e = event('channel_answer', deviceLeg());
    assert.equal(e.kind, 'answered');
    assert.equal(e.callKey, 'carrier-leg-1');
    assert.equal(e.extension, DEVICE);
    assert.equal(e.answeredAt?.toISOString(), at.toISOString());
  });

  test('the carrier leg answered by an IVR is no one answering', () => {
    assert.equal(parseKazooHook('channel_answer', carrierLeg(), now), 'ignore');
  });

  test('a device leg hanging up (another phone took it) is only noted; the carrier leg hanging up ends the call', () => {
    const lost = event('channel_destroy', deviceLeg({ call_id: 'device-leg-2', hangup_cause: 'LOSE_RACE' }));
    assert.equal(lost.kind, 'leg_ended');
    assert.equal(lost.callKey, 'carrier-leg-1');
    assert.equal(lost.disconnectReason, 'LOSE_RACE');
    // the carrier leg carries the device as its other leg once bridged: still its own call
    const end = event('channel_destroy', carrierLeg({ other_leg_call_id: 'device-leg-1', hangup_cause: 'NORMAL_CLEARING', billing_seconds: '42', duration_seconds: '50' }));
    assert.equal(end.kind, 'ended');
    assert.equal(end.callKey, 'carrier-leg-1');
    assert.equal(end.durationSec, undefined, 'the core counts the talk from the answer it saw');
    assert.equal(end.result, undefined, 'answered or not is the core’s to say from the answers it saw');
    assert.equal(end.direction, 'in');
    assert.equal(end.clientNumber, '+79161234567');
    assert.equal(end.endedAt?.toISOString(), at.toISOString());
  });

  test('an ended call that was talked on has a recording under its bridge id; an unanswered one has none', () => {
    const talked = carrierLeg({ hangup_cause: 'NORMAL_CLEARING', billing_seconds: '42' });
    assert.deepEqual(recordingAfter(event('channel_destroy', talked), talked), { provider: 'zebra', callKey: 'carrier-leg-1', kind: 'recording', at, recordingId: 'carrier-leg-1' });
    const cancelled = carrierLeg({ hangup_cause: 'ORIGINATOR_CANCEL', billing_seconds: '0' });
    assert.equal(recordingAfter(event('channel_destroy', cancelled), cancelled), null);
  });

  test('an outbound leg that names no other leg cannot be placed and is ignored', () => {
    assert.equal(parseKazooHook('channel_answer', deviceLeg({ other_leg_call_id: '' }), now), 'ignore');
  });
});

describe('hangup causes', () => {
  test('an unanswered call ends as busy, missed or no answer by its cause and direction', () => {
    assert.equal(resultOf('USER_BUSY', 0, 'in'), 'busy');
    assert.equal(resultOf('ORIGINATOR_CANCEL', 0, 'in'), 'missed');
    assert.equal(resultOf('NO_ANSWER', 0, 'out'), 'no_answer');
    assert.equal(resultOf('NO_USER_RESPONSE', undefined, 'in'), 'missed');
    assert.equal(resultOf('UNALLOCATED_NUMBER', 0, 'out'), 'failed');
    assert.equal(resultOf('NORMAL_CLEARING', 0, 'in'), undefined);
  });

  test('a billed leg gets no result from its cause', () => {
    assert.equal(resultOf('USER_BUSY', 12, 'in'), undefined);
  });

  test('the ended event carries the result', () => {
    assert.equal(event('channel_destroy', carrierLeg({ hangup_cause: 'ORIGINATOR_CANCEL', billing_seconds: '0' })).result, 'missed');
  });
});

describe('outgoing calls', () => {
  test('a manager dialling from the phone: the device leg is the call, the carrier leg joins it', () => {
    const deviceA = { call_id: 'dev-a', call_direction: 'inbound', authorizing_type: 'device', authorizing_id: DEVICE, request: '89161234567@12345.ztpbx.ru', caller_id_number: '101' };
    const e = event('channel_create', deviceA);
    assert.deepEqual([e.kind, e.callKey, e.direction, e.clientNumber, e.extension], ['ringing', 'dev-a', 'out', '89161234567', DEVICE]);
    const carrierB = { call_id: 'car-b', other_leg_call_id: 'dev-a', call_direction: 'outbound', authorizing_type: 'device', authorizing_id: DEVICE };
    const answered = event('channel_answer', carrierB);
    assert.deepEqual([answered.kind, answered.callKey, answered.extension], ['answered', 'dev-a', DEVICE]);
    const ended = event('channel_destroy', { ...deviceA, other_leg_call_id: 'car-b', hangup_cause: 'NORMAL_CLEARING', billing_seconds: '15' });
    assert.deepEqual([ended.kind, ended.callKey], ['ended', 'dev-a']);
  });

  test('a click-to-call: the quickcall leg is the call and carries our command id, even once bridged', () => {
    const quick = {
      call_id: 'f00d-quickcall',
      call_direction: 'outbound',
      authorizing_type: 'device',
      authorizing_id: DEVICE,
      custom_application_vars: { crm_command: 'cmd-42' },
    };
    const ring = event('channel_create', quick);
    assert.deepEqual([ring.kind, ring.callKey, ring.direction, ring.commandId, ring.extension, ring.clientNumber], ['ringing', 'f00d-quickcall', 'out', 'cmd-42', DEVICE, undefined]);
    assert.equal(parseKazooHook('channel_answer', { ...quick, other_leg_call_id: 'car-c' }, now), 'ignore', 'the manager picking up is not the client answering');
    const client = { call_id: 'car-c', other_leg_call_id: 'f00d-quickcall', call_direction: 'outbound', authorizing_type: 'device', authorizing_id: DEVICE, custom_application_vars: { crm_command: 'cmd-42' } };
    assert.deepEqual([event('channel_answer', client).kind, event('channel_answer', client).callKey], ['answered', 'f00d-quickcall']);
    const ended = event('channel_destroy', { ...quick, other_leg_call_id: 'car-c', hangup_cause: 'NORMAL_CLEARING', billing_seconds: '30' });
    assert.deepEqual([ended.kind, ended.callKey, ended.commandId], ['ended', 'f00d-quickcall', 'cmd-42']);
  });
});

describe('the form Kazoo posts', () => {
  test('nested fields come back as objects, everything as text', () => {
    const body = kazooFormData({ hook_event: 'channel_create', call_id: 'x', custom_channel_vars: { owner_id: 'o1', deep: { a: '1' } }, custom_application_vars: { crm_command: 'c1' }, call_forwarded: false });
    assert.deepEqual(parseKazooForm(body), {
      hook_event: 'channel_create',
      call_id: 'x',
      custom_channel_vars: { owner_id: 'o1', deep: { a: '1' } },
      custom_application_vars: { crm_command: 'c1' },
      call_forwarded: 'false',
    });
  });

  test('a posted __proto__ field reaches no prototype', () => {
    const parsed = parseKazooForm('__proto__[polluted]=1&constructor[prototype][x]=1&call_id=y');
    assert.deepEqual(parsed, { call_id: 'y' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('the command id comes through a form-encoded hook', () => {
    const e = event('channel_create', parseKazooForm(kazooFormData({ call_id: 'q-quickcall', call_direction: 'outbound', custom_application_vars: { crm_command: 'cmd-7' } })));
    assert.equal(e.commandId, 'cmd-7');
  });

  test('hooks other than create, answer and destroy are ignored', () => {
    assert.equal(parseKazooHook('channel_bridge', carrierLeg(), now), 'ignore');
  });
});

describe('request logs', () => {
  test('the secret in a hook’s address is cut to its last four characters, and no query string is logged', () => {
    const secret = 'a1B2c3D4e5F6g7H8i9J0k1L2';
    const logged = loggablePath(`/webhooks/zebra/${secret}/channel_create?caller=%2B79165551234`);
    assert.equal(logged, '/webhooks/zebra/…k1L2/channel_create');
    assert.ok(!logged.includes(secret.slice(0, 8)));
    assert.equal(loggablePath('/admin/calls/dial?number=%2B79165551234&contactId=9'), '/admin/calls/dial');
    assert.equal(loggablePath('/admin/counterparties/12/calls'), '/admin/counterparties/12/calls');
  });
});
