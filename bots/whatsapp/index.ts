import path from 'node:path';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { inboundSink } from '../../core/channels/sink.js';
import { recordPairingCode } from '../../core/channels/pairing.js';
import type { ChannelModule, ChannelRole } from '../channel-module.js';
import { WhatsAppAdapter } from './adapter.js';
import { createWhatsAppClient, type WhatsAppClientLike } from './client.js';

export { WhatsAppAdapter } from './adapter.js';

export interface WhatsAppChannelOptions {
  /** a stand-in for whatsapp-web.js's Client (tests: WhatsApp Web cannot be reached offline) */
  client?: WhatsAppClientLike;
  restartDelayMs?: number;
}

/**
 * WhatsApp when WHATSAPP_ENABLED=true: a Chromium with WhatsApp Web, so one per account, held by
 * the `bots` role (other roles get null: their sends wait for the process that holds it). The
 * session is kept in WHATSAPP_SESSION_DIR (default DATA_DIR/whatsapp).
 */
export async function whatsappChannel(services: Services, role: ChannelRole, opts: WhatsAppChannelOptions = {}): Promise<(ChannelModule & { adapter: WhatsAppAdapter }) | null> {
  const { config } = services;
  if (!config.WHATSAPP_ENABLED || !role.bots) return null;
  const client =
    opts.client ??
    (await createWhatsAppClient({
      sessionDir: config.WHATSAPP_SESSION_DIR ?? path.join(config.DATA_DIR, 'whatsapp'),
      chromiumPath: config.CHROMIUM_PATH,
    }));
  const adapter = new WhatsAppAdapter(client, {
    // WhatsApp Web does not deliver a message again: the sink retries longer than for webhooks
    sink: inboundSink(services, 'whatsapp', { attempts: 5 }),
    log: services.log.child({ channel: 'whatsapp' }),
    onPairingCode: (code) => recordPairingCode(services.ctx(systemActor('WhatsApp')), 'whatsapp', code),
    ...(opts.restartDelayMs !== undefined ? { restartDelayMs: opts.restartDelayMs } : {}),
  });
  return {
    kind: 'whatsapp',
    adapter,
    async start() {
      adapter.start();
    },
    stop: () => adapter.stop(),
  };
}
