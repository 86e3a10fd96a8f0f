import { z } from 'zod';
import type { CallEvent } from '../../core/telephony/types.js';

// PostgreSQL text refuses NUL, UTF-8 has no lone surrogates: such characters are dropped, not stored
const clean = (s: string) => s.replaceAll('\u0000', '').toWellFormed().trim();
const field = (max: number) => z.string().transform(clean).pipe(z.string().min(1, 'обязательное поле').max(max, `не длиннее ${max} символов`));
const optional = (max: number) =>
  z
    .string()
    .transform(clean)
    .pipe(z.string().max(max, `не длиннее ${max} символов`))
    .nullish()
    .transform((s) => s || undefined);

/**
 * A call event from any PBX (documented in the README's telephony section). One call is every
 * event with the same call_id; they may come repeated and in any order.
 */
export const pbxEvent = z.object({
  call_id: field(200),
  event: z.enum(['ringing', 'answered', 'ended', 'recording'], { error: 'одно из: ringing, answered, ended, recording' }),
  direction: z.enum(['in', 'out'], { error: 'in (входящий) или out (исходящий)' }),
  client_number: field(50),
  line_number: optional(50),
  extension: optional(50),
  result: z.enum(['answered', 'missed', 'no_answer', 'busy', 'failed'], { error: 'одно из: answered, missed, no_answer, busy, failed' }).nullish(),
  duration_sec: z.number({ error: 'целое число секунд' }).int('целое число секунд').min(0, 'не меньше 0').max(172_800, 'не больше 48 часов').nullish(),
  recording_id: optional(500),
  at: z.iso.datetime({ offset: true, error: 'дата и время в ISO 8601, например 2025-03-01T12:30:00+03:00' }).nullish(),
});
export type PbxEvent = z.infer<typeof pbxEvent>;

/**
 * The event as the core keeps calls. 'recording' is 'ignore': the generic webhook has no client to
 * fetch a file with (a recording_url would make the CRM fetch any address it is given), so a PBX's
 * recordings stay in the PBX.
 */
export function toCallEvent(e: PbxEvent, now: Date): CallEvent | 'ignore' {
  if (e.event === 'recording') return 'ignore';
  const at = e.at ? new Date(e.at) : now;
  const base: CallEvent = {
    provider: 'generic',
    callKey: e.call_id,
    kind: e.event,
    at,
    direction: e.direction,
    clientNumber: e.client_number,
    ...(e.line_number ? { lineNumber: e.line_number } : {}),
    ...(e.extension ? { extension: e.extension } : {}),
  };
  if (e.event === 'answered') return { ...base, answeredAt: at };
  if (e.event === 'ended') {
    return {
      ...base,
      endedAt: at,
      ...(e.result ? { result: e.result } : {}),
      ...(e.duration_sec != null ? { durationSec: e.duration_sec } : {}),
    };
  }
  return base;
}
