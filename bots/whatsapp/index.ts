import path from 'node:path';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { attachmentsDirFor } from '../../core/channels/attachments.js';
import { ingestInboundMessage } from '../../core/channels/ingest.js';
import { recordPairingCode } from '../../core/channels/pairing.js';
import { WhatsAppAdapter } from './adapter.js';
import { createWhatsAppClient, type WhatsAppClientLike } from './client.js';

export { WhatsAppAdapter } from './adapter.js';

/**
 * The WhatsApp adapter when WHATSAPP_ENABLED=true: a Chromium with WhatsApp Web, so one per
 * account (the `bots` role). The session is kept in WHATSAPP_SESSION_DIR (default DATA_DIR/whatsapp).
 */
export async function setupWhatsApp(
  services: Services,
  opts: { client?: WhatsAppClientLike; restartDelayMs?: number } = {},
): Promise<WhatsAppAdapter | undefined> {
  const { config } = services;
  if (!config.WHATSAPP_ENABLED) return undefined;
  const client = opts.client ?? await createWhatsAppClient({
    sessionDir: config.WHATSAPP_SESSION_DIR ?? path.join(config.DATA_DIR, 'whatsapp'),
    chromiumPath: config.CHROMIUM_PATH,
  });
  const attachmentsDir = attachmentsDirFor(config.DATA_DIR);
  return new WhatsAppAdapter(client, {
    ingest: (message) => ingestInboundMessage(services.ctx(systemActor('WhatsApp')), message, { attachmentsDir }),
    log: services.log.child({ channel: 'whatsapp' }),
    onPairingCode: (code) => recordPairingCode(services.ctx(systemActor('WhatsApp')), 'whatsapp', code),
    ...(opts.restartDelayMs !== undefined ? { restartDelayMs: opts.restartDelayMs } : {}),
  });
}
