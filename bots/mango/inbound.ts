import { z } from 'zod';
import type { CallEvent, CallResult } from '../../core/telephony/types.js';
import { validMangoSign } from './sign.js';

/**
 * Mango Office's events (API Realtime, VPBX API v1.9 §3) as the core's CallEvent. Pure: the
 * webhook route verifies and parses here, then hands the event to recordCallEvent.
 *
 * Mango writes numbers as numbers or as strings ("seq":"1", "disconnect_reason":"1120") and ids
 * as strings or numbers, so every field is read leniently; timestamps are unix seconds.
 */

/** The form Mango posts to every URL: vpbx_api_key, sign, json. */
export interface MangoForm {
  vpbx_api_key?: unknown;
  sign?: unknown;
  json?: unknown;
}

/** The json of a form whose key and sign are ours; null: forged, foreign or incomplete. */
export function verifiedJson(form: MangoForm | null | undefined, apiKey: string, apiSalt: string): string | null {
  if (!form || !validMangoSign(form, apiKey, apiSalt)) return null;
  return form.json as string;
}

/** A verified event Mango sent that the CRM cannot read (not JSON, or without the fields it needs). */
export class MangoEventInvalid extends Error {
  constructor(readonly fields: Record<string, string>) {
    super('Неверный формат события Mango Office');
  }
}

const id = z.union([z.string(), z.number()]).transform(String);
const optId = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : String(v)));
const int = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform(Number);
const optInt = z
  .union([z.number(), z.string().regex(/^-?\d*$/), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : Number(v)));
const party = z
  .object({ extension: optId, number: optId, line_number: optId })
  .partial()
  .optional()
  .transform((p) => p ?? {});

const callEvent = z.object({
  entry_id: id,
  call_id: id,
  timestamp: optInt,
  seq: optInt,
  call_state: z.string(),
  from: party,
  to: party,
  disconnect_reason: optInt,
  command_id: optId,
});

const summaryEvent = z.object({
  entry_id: id,
  call_direction: int,
  from: party,
  to: party,
  line_number: optId,
  create_time: optInt,
  talk_time: optInt,
  end_time: optInt,
  entry_result: optInt,
  disconnect_reason: optInt,
});

const recordingEvent = z.object({
  entry_id: id,
  call_id: optId,
  recording_id: id,
  recording_state: z.string(),
  completion_code: optInt,
  extension: optId,
  timestamp: optInt,
});

const recordAddedEvent = z.object({ entry_id: id, recording_id: id, timestamp: optInt });

/** The paths under /webhooks/mango/ that carry calls; every other verified path is acknowledged only. */
export type MangoEventPath = 'events/call' | 'events/summary' | 'events/recording' | 'events/record/added';
export const mangoCallPaths: readonly string[] = ['events/call', 'events/summary', 'events/recording', 'events/record/added'] satisfies MangoEventPath[];

const secondsToDate = (s: number | undefined, fallback: Date) => (s && s > 0 ? new Date(s * 1000) : fallback);

/**
 * Which side of a leg is ours. Mango marks an employee by `extension`: a call placed by an employee
 * (click-to-call included) has it on `from`; an incoming one has the client on `from` and our line
 * on `to.line_number`. A leg with employees on both ends is an internal call, not a client's.
 */
function sides(from: { extension?: string | undefined; number?: string | undefined }, to: { extension?: string | undefined; number?: string | undefined; line_number?: string | undefined }) {
  if (from.extension && to.extension) return null;
  if (from.extension) return { direction: 'out' as const, extension: from.extension, clientNumber: to.number, lineNumber: to.line_number };
  if (to.line_number) return { direction: 'in' as const, extension: to.extension, clientNumber: from.number, lineNumber: to.line_number };
  return null;
}

function parseJson<T>(schema: z.ZodType<T>, json: string): T {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new MangoEventInvalid({ json: 'не JSON' });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new MangoEventInvalid(Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'json', i.message])));
  }
  return parsed.data;
}

/** How a call that was not answered ended, by Mango's disconnect_reason (§ result codes). */
function unansweredResult(direction: 'in' | 'out', reason: number | undefined): CallResult {
  if (reason === 1121 || reason === 1122) return 'busy';
  if (reason === 1111 || reason === 1163) return 'no_answer';
  return direction === 'in' ? 'missed' : 'no_answer';
}

/**
 * A verified event's json, by the path Mango posted it to, as a CallEvent, or 'ignore' for what
 * the CRM does not keep (OnHold, internal calls, recordings not completed, results, ping).
 * `now` stands in for a missing timestamp. Throws MangoEventInvalid for a json it cannot read.
 */
export function parseMangoEvent(path: string, json: string, now: Date): CallEvent | 'ignore' {
  switch (path) {
    case 'events/call': {
      const e = parseJson(callEvent, json);
      const side = sides(e.from, e.to);
      if (!side) return 'ignore';
      const base = {
        provider: 'mango' as const,
        callKey: e.entry_id,
        legId: e.call_id,
        seq: e.seq,
        at: secondsToDate(e.timestamp, now),
        direction: side.direction,
        clientNumber: side.clientNumber,
        lineNumber: side.lineNumber,
        commandId: e.command_id,
      };
      switch (e.call_state) {
        case 'Appeared':
          // an incoming call ringing on a phone is not yet anyone's: the rules choose the user
          return { ...base, kind: 'ringing', extension: side.direction === 'out' ? side.extension : undefined };
        case 'Connected':
          return { ...base, kind: 'answered', extension: side.extension };
        case 'Disconnected':
          return { ...base, kind: 'leg_ended', extension: side.extension, disconnectReason: e.disconnect_reason === undefined ? undefined : String(e.disconnect_reason) };
        default:
          return 'ignore';
      }
    }
    case 'events/summary': {
      const e = parseJson(summaryEvent, json);
      const direction = e.call_direction === 1 ? 'in' : e.call_direction === 2 ? 'out' : null;
      if (!direction) return 'ignore';
      const answered = e.entry_result === 1;
      const talk = e.talk_time && e.talk_time > 0 ? e.talk_time : undefined;
      const endedAt = secondsToDate(e.end_time, now);
      return {
        provider: 'mango',
        callKey: e.entry_id,
        kind: 'ended',
        // when it began ringing: a summary that comes first still dates the call right
        at: e.create_time && e.create_time > 0 ? secondsToDate(e.create_time, now) : endedAt,
        direction,
        clientNumber: direction === 'in' ? e.from.number : e.to.number,
        lineNumber: e.line_number,
        extension: direction === 'in' ? e.to.extension : e.from.extension,
        result: answered ? 'answered' : unansweredResult(direction, e.disconnect_reason),
        answeredAt: talk ? new Date(talk * 1000) : undefined,
        endedAt,
        durationSec: talk && e.end_time ? Math.max(0, e.end_time - talk) : undefined,
        disconnectReason: e.disconnect_reason === undefined ? undefined : String(e.disconnect_reason),
      };
    }
    case 'events/recording': {
      const e = parseJson(recordingEvent, json);
      // 4002: too short to keep; 22xx: the account's storage limits. Started/Continued: not ready.
      if (e.recording_state !== 'Completed' || (e.completion_code !== undefined && e.completion_code !== 1000)) return 'ignore';
      return { provider: 'mango', callKey: e.entry_id, kind: 'recording', at: secondsToDate(e.timestamp, now), legId: e.call_id, recordingId: e.recording_id };
    }
    case 'events/record/added': {
      const e = parseJson(recordAddedEvent, json);
      return { provider: 'mango', callKey: e.entry_id, kind: 'recording', at: secondsToDate(e.timestamp, now), recordingId: e.recording_id };
    }
    default:
      return 'ignore';
  }
}
