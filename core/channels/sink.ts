import { systemActor } from '../context.js';
import { isServiceError } from '../errors.js';
import type { Services } from '../services.js';
import { attachmentsDirFor } from './attachments.js';
import { ingestInboundMessage, type IngestResult } from './ingest.js';
import { channelLabel, type ChannelKind, type InboundMessage } from './types.js';

export type InboundSink = (message: InboundMessage) => Promise<IngestResult>;

export interface InboundSinkOptions {
  /** tries before giving up; a channel that cannot redeliver (WhatsApp Web) depends on them */
  attempts?: number;
  /** the first pause between tries, doubled each time */
  backoffMs?: number;
}

/**
 * The one way a channel hands a client's message to the core: as the channel's system actor,
 * with files kept under DATA_DIR/attachments, retried while the database is briefly unavailable.
 * Bad input (a ServiceError) is not retried: it would fail the same way again.
 */
export function inboundSink(services: Pick<Services, 'ctx' | 'config' | 'log'>, channel: ChannelKind, opts: InboundSinkOptions = {}): InboundSink {
  const attachmentsDir = attachmentsDirFor(services.config.DATA_DIR);
  const attempts = opts.attempts ?? 4;
  const backoffMs = opts.backoffMs ?? 500;
  return async (message) => {
    for (let i = 1; ; i++) {
      try {
        return await ingestInboundMessage(services.ctx(systemActor(channelLabel[channel])), message, { attachmentsDir });
      } catch (err) {
        if (isServiceError(err) || i >= attempts) throw err;
        services.log.warn({ err, channel, attempt: i }, 'storing an inbound message failed; trying again');
        await new Promise((r) => setTimeout(r, backoffMs * 2 ** (i - 1)));
      }
    }
  };
}
