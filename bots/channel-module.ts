import type { FastifyPluginAsync } from 'fastify';
import type { ChannelAdapter, ChannelKind } from '../core/channels/types.js';

/**
 * What every messenger folder under bots/ exports, so the composition root (api/compose.ts) wires
 * them all the same way: the adapter that sends, the webhook routes the provider calls, and one
 * lifecycle. `start()` returns promptly: connecting to the provider (long polling, registering a
 * webhook, a browser session) goes on in the background, and the adapter's status() says how it went.
 */
export interface ChannelModule {
  readonly kind: ChannelKind;
  readonly adapter: ChannelAdapter;
  /** the provider's webhooks, mounted by processes that serve HTTP (role web) */
  readonly routes?: FastifyPluginAsync;
  /** after the HTTP server listens */
  start(): Promise<void>;
  /** stop taking updates and finish the ones in flight */
  stop(): Promise<void>;
}

/** A channel that is not configured (no token, switched off, or held by another process role) is null. */
export type ChannelModules = Record<ChannelKind, ChannelModule | null>;

/** Which parts of a process role a channel module serves. */
export interface ChannelRole {
  /** serves HTTP: webhook routes, webhook registration with the provider */
  web: boolean;
  /** holds long-lived provider sessions: Telegram long polling, the WhatsApp browser */
  bots: boolean;
}
