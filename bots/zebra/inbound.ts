import type { CallEvent, CallResult } from '../../core/telephony/types.js';

/**
 * Zebra Telecom's webhooks are Kazoo's channel hooks (applications/webhooks, `base_hook_event`): one
 * POST per leg and event, form-urlencoded by default (nested objects as `custom_channel_vars[key]`),
 * JSON when the hook's format is json. Kazoo signs nothing: the secret in our URL is the check.
 *
 * One call is several legs. Which leg is the call (its callKey), the rule the 2600Hz call inspector
 * uses too (monster-ui: "inbound" legs are A-legs, others hang under their other_leg_call_id):
 * - a leg Kazoo originated for a click-to-call (call_id `<id>-quickcall` from quickcall, `c2c-…` from
 *   clicktocall) is the first leg: the manager's phone rings first, the client is dialled from it;
 * - an `inbound` leg (toward Kazoo: a carrier's call to our number, or a manager dialling from a
 *   phone) is the first leg: key = its own call_id, whatever other leg it is bridged to later;
 * - an `outbound` leg (Kazoo dialling a device of an incoming call, or the carrier for an outgoing
 *   one) belongs to the call of its other_leg_call_id. One without other_leg_call_id cannot be
 *   placed in a call and is ignored.
 * So the create/answer/destroy of every leg of one call land on one call row, and only the first
 * leg's destroy ends it (a ring group's losing devices hang up with LOSE_RACE while it goes on).
 * The first leg's id is also the call's bridge id, by which Zebra's CDRs find the recording.
 *
 * Events:
 * - channel_create of the first leg → ringing (a second leg's create adds nothing);
 * - channel_answer of a second leg → answered: a person picked up (the device that took an incoming
 *   call, extension = its authorizing_id; the client on an outgoing one, authorizing_id being the
 *   manager's device Kazoo exports to that leg). The first leg's own answer is ignored: an IVR or
 *   a queue answers the carrier's leg with nobody on the line, and a click-to-call's first leg is
 *   the manager's own phone;
 * - channel_destroy of the first leg → ended; of a second leg → leg_ended (only noted).
 */
export const kazooHooks = ['channel_create', 'channel_answer', 'channel_destroy'] as const;
export type KazooHook = (typeof kazooHooks)[number];

/** Our click-to-call's id, sent in quickcall's custom_application_vars and echoed by Kazoo on the legs. */
export const COMMAND_VAR = 'crm_command';

/** Kazoo counts time in Gregorian seconds (since year 0): unix = greg − this. */
export const GREGORIAN_UNIX_OFFSET = 62_167_219_200;

export const gregorianToDate = (greg: number): Date => new Date((greg - GREGORIAN_UNIX_OFFSET) * 1000);
export const dateToGregorian = (d: Date): number => Math.floor(d.getTime() / 1000) + GREGORIAN_UNIX_OFFSET;

type Payload = Record<string, unknown>;

const text = (v: unknown): string | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t && t !== 'undefined' && t !== 'null' ? t : undefined;
};

const count = (v: unknown): number | undefined => {
  const t = text(v);
  if (t === undefined || !/^\d+(\.\d+)?$/.test(t)) return undefined;
  return Math.round(Number(t));
};

const record = (v: unknown): Payload | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Payload) : undefined);

/** "+74951234567@00000.ztpbx.ru", "sip:101@realm" → the number or user before the @ */
export function userPart(v: unknown): string | undefined {
  const t = text(v);
  if (!t) return undefined;
  return text(t.replace(/^sips?:/i, '').split('@')[0]);
}

/** our click-to-call's id where Kazoo echoes it: custom_application_vars (or, on some versions, the channel vars) */
function commandIdOf(p: Payload): string | undefined {
  return text(record(p.custom_application_vars)?.[COMMAND_VAR]) ?? text(record(p.custom_channel_vars)?.[COMMAND_VAR]);
}

/** call_id of a leg Kazoo originated for a click-to-call (quickcall, clicktocall) */
const isClickToCallLeg = (callId: string) => callId.endsWith('-quickcall') || callId.startsWith('c2c-');

/** The call a leg belongs to and whether it is the call's first leg; null: it cannot be placed. */
export function legOf(p: Payload): { callKey: string; first: boolean } | null {
  const callId = text(p.call_id);
  if (!callId) return null;
  if (isClickToCallLeg(callId)) return { callKey: callId, first: true };
  const direction = text(p.call_direction)?.toLowerCase();
  if (direction !== 'outbound') return { callKey: callId, first: true };
  const other = text(p.other_leg_call_id);
  return other ? { callKey: other, first: false } : null;
}

/**
 * A first leg's side of the call: a carrier's inbound leg is a client calling us; a leg a device
 * started (dialled from a phone, or a click-to-call) is a manager calling out.
 */
function callDirectionOf(p: Payload, callId: string): 'in' | 'out' {
  if (isClickToCallLeg(callId)) return 'out';
  return text(p.authorizing_type)?.toLowerCase() === 'device' ? 'out' : 'in';
}

/** the device on a leg: Kazoo's authorizing_id when it authorised a device (our extension at Zebra) */
function deviceOf(p: Payload): string | undefined {
  const type = text(p.authorizing_type)?.toLowerCase();
  return type === undefined || type === 'device' ? text(p.authorizing_id) : undefined;
}

const busyCauses = new Set(['USER_BUSY', 'CALL_REJECTED']);
const unansweredCauses = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ORIGINATOR_CANCEL', 'ALLOTTED_TIMEOUT', 'PROGRESS_TIMEOUT']);
const failedCauses = new Set([
  'UNALLOCATED_NUMBER',
  'INVALID_NUMBER_FORMAT',
  'NO_ROUTE_DESTINATION',
  'DESTINATION_OUT_OF_ORDER',
  'NETWORK_OUT_OF_ORDER',
  'NORMAL_TEMPORARY_FAILURE',
  'SERVICE_UNAVAILABLE',
  'RECOVERY_ON_TIMER_EXPIRE',
  'INCOMPATIBLE_DESTINATION',
  'NUMBER_CHANGED',
]);

/**
 * How a first leg that was never answered ended (FreeSWITCH/Q.850 hangup_cause). An answered one
 * (billing_seconds > 0) gets no result here: whether a person took it is known from the answers the
 * core recorded (an IVR answers the carrier's leg too), so the core decides answered or missed.
 */
export function resultOf(cause: string | undefined, billingSec: number | undefined, direction: 'in' | 'out'): CallResult | undefined {
  if (billingSec !== undefined && billingSec > 0) return undefined;
  const c = cause?.toUpperCase();
  if (!c) return undefined;
  if (busyCauses.has(c)) return 'busy';
  if (unansweredCauses.has(c)) return direction === 'in' ? 'missed' : 'no_answer';
  if (failedCauses.has(c)) return direction === 'in' ? 'missed' : 'failed';
  return undefined;
}

/** The client's and our numbers as a first leg carries them. */
function numbersOf(p: Payload, direction: 'in' | 'out', callId: string): { clientNumber?: string; lineNumber?: string } {
  // the number dialled: the request URI's user, else To's, else the callee's number
  const dialled = userPart(p.request) ?? userPart(p.to) ?? text(p.callee_id_number);
  if (direction === 'in') return { clientNumber: text(p.caller_id_number) ?? userPart(p.from), lineNumber: dialled };
  // a click-to-call's first leg rings the manager's phone: the client's number is on the call row already
  if (isClickToCallLeg(callId)) return {};
  return { clientNumber: dialled };
}

/**
 * One Kazoo channel hook as a CallEvent, or 'ignore'. `hook` is the event (the payload's hook_event,
 * else the URL's); `now` stands in for a missing timestamp.
 */
export function parseKazooHook(hook: string, p: Payload, now: Date): CallEvent | 'ignore' {
  if (!(kazooHooks as readonly string[]).includes(hook)) return 'ignore';
  const leg = legOf(p);
  if (!leg) return 'ignore';
  const callId = text(p.call_id)!;
  const greg = count(p.timestamp);
  const at = greg !== undefined && greg > GREGORIAN_UNIX_OFFSET ? gregorianToDate(greg) : now;
  const commandId = commandIdOf(p);
  const base = {
    provider: 'zebra' as const,
    callKey: leg.callKey,
    at,
    legId: callId,
    ...(commandId ? { commandId } : {}),
  };

  if (hook === 'channel_create') {
    if (!leg.first) return 'ignore';
    const direction = callDirectionOf(p, callId);
    const device = direction === 'out' ? deviceOf(p) : undefined;
    return { ...base, kind: 'ringing', direction, ...numbersOf(p, direction, callId), ...(device ? { extension: device } : {}) };
  }
  if (hook === 'channel_answer') {
    if (leg.first) return 'ignore';
    const device = deviceOf(p);
    return { ...base, kind: 'answered', answeredAt: at, ...(device ? { extension: device } : {}) };
  }
  // channel_destroy
  const cause = text(p.hangup_cause);
  if (!leg.first) return { ...base, kind: 'leg_ended', ...(cause ? { disconnectReason: cause } : {}) };
  const direction = callDirectionOf(p, callId);
  const billing = count(p.billing_seconds);
  const result = resultOf(cause, billing, direction);
  // no duration: the first leg's billing_seconds counts an IVR's or the manager's own ringing too;
  // the core counts the talk from the answer it recorded to this end
  return {
    ...base,
    kind: 'ended',
    direction,
    ...numbersOf(p, direction, callId),
    endedAt: at,
    ...(result ? { result } : {}),
    ...(cause ? { disconnectReason: cause } : {}),
  };
}

/**
 * The recording of a call that was talked on: Zebra records per bridge and files it in its CDRs
 * under the bridge id, which is the first leg's id, our callKey. Asked only when the first leg's
 * destroy was billed (someone answered it); the fetch job retries while the CDR is not written yet.
 */
export function recordingAfter(ended: CallEvent, p: Payload): CallEvent | null {
  if (ended.kind !== 'ended' || !count(p.billing_seconds)) return null;
  return { provider: 'zebra', callKey: ended.callKey, kind: 'recording', at: ended.at, recordingId: ended.callKey };
}

const unsafeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Kazoo's form-data body: `key=value&custom_channel_vars[key]=value`, brackets nesting to any
 * depth. Repeated keys keep the last value; `a[]` lists are kept as arrays.
 */
export function parseKazooForm(body: string): Payload {
  const out: Payload = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const path = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name);
    if (!path) {
      if (!unsafeKeys.has(name)) out[name] = value;
      continue;
    }
    const keys = [path[1]!, ...[...path[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
    // a posted `__proto__[x]` must not reach Object.prototype
    if (keys.some((k) => unsafeKeys.has(k))) continue;
    let node: Payload = out;
    for (let i = 0; i < keys.length - 1; i++) {
      const key = keys[i]!;
      if (keys[i + 1] === '' && i + 1 === keys.length - 1) {
        const list = Array.isArray(node[key]) ? (node[key] as unknown[]) : [];
        list.push(value);
        node[key] = list;
        node = {};
        break;
      }
      const next = record(node[key]);
      node = next ?? (node[key] = {} as Payload);
    }
    const last = keys[keys.length - 1]!;
    if (last !== '') node[last] = value;
  }
  return out;
}
