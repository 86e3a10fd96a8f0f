import type { calls } from '../db/schema/index.js';
import type { CallStatus, PhoneProvider } from './types.js';

/**
 * R20 calls: one row per provider call, whatever the order its events come in. The verbs live in
 * files named for what they do and are all reachable from here:
 * - recordCallEvent (events.ts): a provider's event into its call row; an incoming call is matched to
 *   the client (an unknown number becomes a contact and a lead «Телефонный звонок»), given to a user
 *   by «Прием звонков IP» and announced; a missed one becomes a work «Позвонить»; a recording is fetched by a job.
 * - callLinesFor, placeCall, claimCall (place.ts): click-to-call and «Принять».
 * - getCall, listCalls, ringingCallsFor, callRecording (read.ts): with R3 (access.ts callScope).
 */
export type Call = typeof calls.$inferSelect;

/** A call with the names a list or card shows. */
export interface CallView extends Call {
  userName: string | null;
  lineName: string | null;
  lineNumber: string | null;
  contactName: string | null;
  counterpartyName: string | null;
}

export interface CallFilter {
  contactId?: number;
  counterpartyId?: number;
  leadId?: number;
  dealId?: number;
  userId?: number;
  direction?: 'in' | 'out';
  status?: CallStatus;
  provider?: PhoneProvider;
  from?: Date;
  to?: Date;
  limit?: number;
  offset?: number;
}

/** A line the actor can call from: an active line of a configured provider where they have an extension. */
export interface CallLine {
  id: number;
  provider: PhoneProvider;
  number: string;
  name: string;
}

export interface PlaceCallInput {
  number: string;
  lineId?: number | null | undefined;
  contactId?: number | null | undefined;
  counterpartyId?: number | null | undefined;
  leadId?: number | null | undefined;
  dealId?: number | null | undefined;
}

export { recordCallEvent, responsibleFor, type RecordCallOptions } from './events.js';
export { callLinesFor, placeCall, claimCall } from './place.js';
export { getCall, listCalls, ringingCallsFor, callRecording } from './read.js';
export { callScope } from './access.js';
