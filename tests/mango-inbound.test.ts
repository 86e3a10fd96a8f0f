import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MangoEventInvalid, parseMangoEvent, verifiedJson } from '../bots/mango/inbound.js';
import { mangoResultError } from '../bots/mango/client.js';
import { mangoForm, mangoSign } from '../bots/mango/sign.js';
import { mangoEvents } from './helpers/fake-mango.js';

/** Mango Office's events read without a server: the sign check and the mapping to CallEvent. */
const KEY = 'mango-test-key-0001';
const SALT = 'mango-test-salt-0001';
const NOW = new Date('2026-03-02T09:00:00Z');
const T = 1_772_442_000; // unix seconds

const form = (json: string, over: Record<string, string> = {}) => ({ vpbx_api_key: KEY, sign: mangoSign(KEY, json, SALT), json, ...over });

describe('Mango sign', () => {
  test('a form signed with our key and salt is verified; the json is returned exactly as sent', () => {
    const json = '{"entry_id":"e1", "seq":"1"}';
    assert.equal(verifiedJson(form(json), KEY, SALT), json);
  });

  test('the sign is sha256 hex of key + json + salt, as Mango computes it', () => {
    // computed independently: printf '%s' 'k{"a":1}s' | sha256sum
    assert.equal(mangoSign('k', '{"a":1}', 's'), '9eefb34c92e0fa5473558ca3806ab7cac11cace9255d5fddee556a2d720b5939');
    assert.notEqual(mangoSign('k', '{"a":1}', 's'), mangoSign('k', '{"a":2}', 's'));
  });

  test('a forged sign, a changed json, a foreign key or a missing field is refused', () => {
    const json = '{"entry_id":"e1"}';
    assert.equal(verifiedJson(form(json, { sign: mangoSign(KEY, json, 'other-salt') }), KEY, SALT), null);
    assert.equal(verifiedJson({ ...form(json), json: '{"entry_id":"e2"}' }, KEY, SALT), null);
    assert.equal(verifiedJson(form(json, { vpbx_api_key: 'someone-else', sign: mangoSign('someone-else', json, SALT) }), KEY, SALT), null);
    assert.equal(verifiedJson({ vpbx_api_key: KEY, json }, KEY, SALT), null);
    assert.equal(verifiedJson({ vpbx_api_key: KEY, sign: 'zz', json }, KEY, SALT), null);
    assert.equal(verifiedJson(undefined, KEY, SALT), null);
  });

  test('our requests are signed forms of the compact json', () => {
    const f = mangoForm(KEY, SALT, { command_id: 'c1', to_number: '79161234567' });
    assert.equal(f.get('json'), '{"command_id":"c1","to_number":"79161234567"}');
    assert.equal(f.get('vpbx_api_key'), KEY);
    assert.equal(verifiedJson(Object.fromEntries(f), KEY, SALT), f.get('json'));
  });
});

describe('Mango events/call', () => {
  const base = { entryId: 'E1', callId: 'C1', from: '79161234567', line: '74951234567', timestamp: T };

  test('Appeared of an incoming call → ringing, in, with the client, the line and the leg; no user yet', () => {
    const ev = parseMangoEvent('events/call', JSON.stringify(mangoEvents.incomingAppeared({ ...base, extension: '101' })), NOW);
    assert.deepEqual(ev, {
      provider: 'mango',
      callKey: 'E1',
      legId: 'C1',
      seq: 1,
      at: new Date(T * 1000),
      direction: 'in',
      clientNumber: '79161234567',
      lineNumber: '74951234567',
      commandId: undefined,
      kind: 'ringing',
      extension: undefined,
    });
  });

  test('Appeared of an employee calling out (click-to-call) → ringing, out, with the extension and our command_id', () => {
    const json = mangoEvents.outgoingAppeared({ entryId: 'E2', callId: 'C2', extension: '102', to: '79161234567', line: '74951234567', commandId: 'cmd-1', timestamp: T });
    const ev = parseMangoEvent('events/call', JSON.stringify(json), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.kind, 'ringing');
    assert.equal(ev.direction, 'out');
    assert.equal(ev.extension, '102');
    assert.equal(ev.clientNumber, '79161234567');
    assert.equal(ev.commandId, 'cmd-1');
  });

  test('Connected → answered by the employee side; Disconnected → leg_ended with the reason; OnHold ignored', () => {
    const answered = parseMangoEvent('events/call', JSON.stringify(mangoEvents.connected({ ...base, extension: '101' })), NOW);
    assert.ok(answered !== 'ignore');
    assert.equal(answered.kind, 'answered');
    assert.equal(answered.extension, '101');
    assert.equal(answered.seq, 2);
    const ended = parseMangoEvent('events/call', JSON.stringify(mangoEvents.disconnected({ ...base, extension: '101', reason: 1120 })), NOW);
    assert.ok(ended !== 'ignore');
    assert.equal(ended.kind, 'leg_ended');
    assert.equal(ended.disconnectReason, '1120');
    const hold = { ...mangoEvents.connected({ ...base, extension: '101' }), call_state: 'OnHold' };
    assert.equal(parseMangoEvent('events/call', JSON.stringify(hold), NOW), 'ignore');
  });

  test('numbers written as strings are read as numbers; a missing timestamp is now', () => {
    const json = '{"entry_id":123,"call_id":"C9","seq":"4","call_state":"Disconnected","disconnect_reason":"1110","from":{"number":"79161234567"},"to":{"line_number":74951234567}}';
    const ev = parseMangoEvent('events/call', json, NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.callKey, '123');
    assert.equal(ev.seq, 4);
    assert.equal(ev.disconnectReason, '1110');
    assert.equal(ev.lineNumber, '74951234567');
    assert.deepEqual(ev.at, NOW);
  });

  test('an internal call between two employees is not a client call', () => {
    const json = { entry_id: 'E3', call_id: 'C3', seq: 1, call_state: 'Appeared', from: { extension: '101' }, to: { extension: '102' } };
    assert.equal(parseMangoEvent('events/call', JSON.stringify(json), NOW), 'ignore');
  });

  test('a json without entry_id, or not JSON at all, is invalid', () => {
    assert.throws(() => parseMangoEvent('events/call', '{"call_id":"C1","call_state":"Appeared"}', NOW), MangoEventInvalid);
    assert.throws(() => parseMangoEvent('events/call', 'not json', NOW), MangoEventInvalid);
  });
});

describe('Mango events/summary', () => {
  const s = { entryId: 'E1', client: '79161234567', line: '74951234567', createTime: T - 100, endTime: T };

  test('an answered incoming call: answered, with talk start, end and duration', () => {
    const ev = parseMangoEvent('events/summary', JSON.stringify(mangoEvents.summary({ ...s, extension: '101', talkTime: T - 75 })), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.kind, 'ended');
    assert.equal(ev.direction, 'in');
    assert.equal(ev.result, 'answered');
    assert.equal(ev.clientNumber, '79161234567');
    assert.equal(ev.lineNumber, '74951234567');
    assert.equal(ev.extension, '101');
    assert.deepEqual(ev.answeredAt, new Date((T - 75) * 1000));
    assert.deepEqual(ev.endedAt, new Date(T * 1000));
    assert.equal(ev.durationSec, 75);
  });

  test('an incoming call nobody took is missed, with no talk time', () => {
    const ev = parseMangoEvent('events/summary', JSON.stringify(mangoEvents.summary({ ...s, entryResult: 0 })), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.result, 'missed');
    assert.equal(ev.answeredAt, undefined);
    assert.equal(ev.durationSec, undefined);
  });

  test('busy and no answer by disconnect_reason; an outgoing call not answered is no_answer', () => {
    const result = (o: Parameters<typeof mangoEvents.summary>[0]) => {
      const ev = parseMangoEvent('events/summary', JSON.stringify(mangoEvents.summary(o)), NOW);
      return ev === 'ignore' ? ev : ev.result;
    };
    assert.equal(result({ ...s, disconnectReason: 1121 }), 'busy');
    assert.equal(result({ ...s, disconnectReason: 1122 }), 'busy');
    assert.equal(result({ ...s, disconnectReason: 1111 }), 'no_answer');
    assert.equal(result({ ...s, disconnectReason: 1163 }), 'no_answer');
    assert.equal(result({ ...s, direction: 'out', extension: '101', disconnectReason: 1110 }), 'no_answer');
  });

  test('an outgoing summary takes the client from `to` and the employee from `from`', () => {
    const ev = parseMangoEvent('events/summary', JSON.stringify(mangoEvents.summary({ ...s, direction: 'out', extension: '102', talkTime: T - 30 })), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.direction, 'out');
    assert.equal(ev.clientNumber, '79161234567');
    assert.equal(ev.extension, '102');
    assert.equal(ev.durationSec, 30);
  });

  test('internal calls (call_direction 0) are ignored; strings are read as numbers', () => {
    assert.equal(parseMangoEvent('events/summary', JSON.stringify(mangoEvents.summary({ ...s, direction: 'internal' })), NOW), 'ignore');
    const json = `{"entry_id":"E5","call_direction":"1","from":{"number":"79161234567"},"to":{"extension":"101"},"line_number":"74951234567","talk_time":"${T - 10}","end_time":"${T}","entry_result":"1","disconnect_reason":"1120"}`;
    const ev = parseMangoEvent('events/summary', json, NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.result, 'answered');
    assert.equal(ev.durationSec, 10);
  });
});

describe('Mango recordings and other posts', () => {
  test('a completed recording → recording with its id; not completed or too short → ignored', () => {
    const ev = parseMangoEvent('events/recording', JSON.stringify(mangoEvents.recordingCompleted({ entryId: 'E1', callId: 'C1', recordingId: 'R1' })), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.kind, 'recording');
    assert.equal(ev.callKey, 'E1');
    assert.equal(ev.recordingId, 'R1');
    const started = { ...mangoEvents.recordingCompleted({ entryId: 'E1', callId: 'C1', recordingId: 'R1' }), recording_state: 'Started' };
    assert.equal(parseMangoEvent('events/recording', JSON.stringify(started), NOW), 'ignore');
    const short = mangoEvents.recordingCompleted({ entryId: 'E1', callId: 'C1', recordingId: 'R1', completionCode: 4002 });
    assert.equal(parseMangoEvent('events/recording', JSON.stringify(short), NOW), 'ignore');
  });

  test('record/added → recording too', () => {
    const ev = parseMangoEvent('events/record/added', JSON.stringify(mangoEvents.recordAdded({ entryId: 'E1', recordingId: 'R2' })), NOW);
    assert.ok(ev !== 'ignore');
    assert.equal(ev.kind, 'recording');
    assert.equal(ev.recordingId, 'R2');
  });

  test('results of our commands, ping and unknown events are acknowledged, not stored', () => {
    assert.equal(parseMangoEvent('result/callback', JSON.stringify(mangoEvents.callbackResult({ commandId: 'c1' })), NOW), 'ignore');
    assert.equal(parseMangoEvent('ping', '{}', NOW), 'ignore');
    assert.equal(parseMangoEvent('events/dtmf', '{"dtmf":"1"}', NOW), 'ignore');
  });
});

describe('Mango result codes', () => {
  test('a wrong key or sign says which settings to check; Mango failures are retryable', () => {
    for (const code of [3102, 3105]) {
      const e = mangoResultError('commands/callback', code);
      assert.match(e.message, /MANGO_API_KEY и MANGO_API_SALT/);
      assert.equal(e.retryable, false);
    }
    const down = mangoResultError('commands/callback', 5001);
    assert.match(down.message, /временно недоступен/);
    assert.equal(down.retryable, true);
    assert.match(mangoResultError('commands/callback', 3330).message, /номер/);
    assert.match(mangoResultError('commands/callback', 3300).message, /внутренний номер/);
    assert.equal(mangoResultError('queries/recording/post', 3320).retryable, true);
  });
});
