import type { FastifyPluginAsync } from 'fastify';
import type { CallStatus } from '../db/schema/index.js';
import type { phoneProvider } from '../db/schema/index.js';

/** R20: a call is one more way a client reaches us. The providers: see core/db/schema/telephony.ts. */
export type PhoneProvider = (typeof phoneProvider.enumValues)[number];
export const phoneProviders = ['mango', 'zebra', 'generic'] as const satisfies readonly PhoneProvider[];
export type { CallStatus };

/** How a finished call went. */
export type CallResult = Exclude<CallStatus, 'ringing' | 'talking'>;

/**
 * One event of a provider, verified and parsed by its folder under bots/ (pure, unit-tested),
 * in the shape the core keeps calls in. Events come repeated and out of order; `recordCallEvent`
 * makes one call row per (provider, callKey) whatever the order.
 */
export interface CallEvent {
  provider: PhoneProvider;
  /** the provider's id of the whole call: Mango entry_id, Kazoo's first leg call_id */
  callKey: string;
  /**
   * ringing: the call appeared (an incoming one is routed and announced once);
   * answered: someone took it (extension says who);
   * ended: the call is over, with its result (Mango's summary, Kazoo's destroy of the first leg);
   * leg_ended: one leg hung up, the call may go on (Mango's Disconnected): only noted;
   * recording: a recording is ready to fetch (recordingId).
   */
  kind: 'ringing' | 'answered' | 'ended' | 'leg_ended' | 'recording';
  at: Date;
  /**
   * the provider's order of state events within one leg (Mango seq), kept for the log: the core does
   * not order by it (legs count separately); a call's status only ever moves forward instead
   */
  seq?: number | undefined;
  /** the leg a route/transfer command acts on (Mango call_id, Kazoo call_id) */
  legId?: string | undefined;
  direction?: 'in' | 'out' | undefined;
  /** the client's number as the provider gave it (normalised by the core) */
  clientNumber?: string | undefined;
  /** our company number the call came to or went out from */
  lineNumber?: string | undefined;
  /** the user's extension on the call: who answered, or who placed it */
  extension?: string | undefined;
  /** our id of a click-to-call request, when the provider echoes it (Mango command_id) */
  commandId?: string | undefined;
  /** ended: how it went; the core falls back to answered/missed by whether it was answered */
  result?: CallResult | undefined;
  answeredAt?: Date | undefined;
  endedAt?: Date | undefined;
  /** talk time in seconds, when the provider counts it */
  durationSec?: number | undefined;
  disconnectReason?: string | undefined;
  recordingId?: string | undefined;
}

/** A request to start a call: the user's phone rings first, then the client is dialled from the line. */
export interface PlaceCallRequest {
  extension: string;
  toNumber: string;
  /** the line the client sees; null: the provider's default */
  lineNumber: string | null;
  /** ours; echoed back in the provider's events where it can (Mango), else matched by the returned id */
  commandId: string;
}

/**
 * What the core asks of a telephony provider (the telephony port). Failures are TelephonyError
 * with a Russian reason a user can act on.
 */
export interface TelephonyProvider {
  readonly provider: PhoneProvider;
  /** click-to-call; resolves with the provider's call key when it returns one at once (Kazoo) */
  placeCall(req: PlaceCallRequest): Promise<{ callKey?: string | undefined }>;
  /** sends a ringing incoming call to an extension («Принять»); absent where the provider cannot */
  routeCall?(req: { legId: string; extension: string; commandId: string }): Promise<void>;
  /** the recording's bytes */
  fetchRecording(req: { recordingId: string; callKey: string }): Promise<{ data: Buffer; mime: string }>;
}

/** A provider refused or could not be reached; `retryable` says whether trying again can help. */
export class TelephonyError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * What every telephony folder under bots/ exports, like a messenger's ChannelModule: the provider
 * the core commands (null when it cannot place calls, e.g. the generic webhook) and the webhook
 * routes that report its calls (mounted by web processes).
 */
export interface TelephonyModule {
  readonly provider: PhoneProvider;
  readonly client: TelephonyProvider | null;
  readonly routes?: FastifyPluginAsync;
}

/** The providers configured in this process; a missing one is null (compose builds the Record). */
export type TelephonyModules = Record<PhoneProvider, TelephonyModule | null>;
export type TelephonyClients = Partial<Record<PhoneProvider, TelephonyProvider>>;

/** What a live page hears about a call (core/shared/signals.ts, channel crm_calls): ids only. */
export interface CallSignal {
  kind: 'ringing' | 'answered' | 'claimed' | 'ended';
  callId: number;
  /** whom the call is for now */
  userId: number | null;
}

/** The lock every writer of one provider call takes (core/shared/locks.ts lockKeys). */
export const callKeyLock = (provider: PhoneProvider, callKey: string) => `call:${provider}:${callKey}`;
