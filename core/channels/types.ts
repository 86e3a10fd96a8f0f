/** The messengers clients write on. Wiring adapters in a Record<ChannelKind, …> makes a missing one a type error. */
export type ChannelKind = 'telegram' | 'whatsapp' | 'viber';
export const channelKinds: readonly ChannelKind[] = ['telegram', 'whatsapp', 'viber'];

export const channelLabel: Record<ChannelKind, string> = { telegram: 'Telegram', whatsapp: 'WhatsApp', viber: 'Viber' };

export interface InboundAttachment {
  name: string;
  mime: string;
  data: Buffer;
}

/** A provider update, turned by an adapter into what the core understands. */
export interface InboundMessage {
  channel: ChannelKind;
  /** the client's account id on the channel (Telegram user id, WhatsApp jid, Viber user id) */
  externalUserId: string;
  /** where replies go; usually the same as externalUserId */
  externalChatId: string;
  /** the provider's message id: unique per channel, so a retried delivery is stored once */
  providerMessageId: string;
  name?: string | undefined;
  /** a phone the channel vouches for (WhatsApp number, a shared Telegram contact) */
  phone?: string | undefined;
  text?: string | undefined;
  attachments?: InboundAttachment[] | undefined;
  at?: Date | undefined;
}

export interface OutboundMessage {
  externalChatId: string;
  text: string;
}

export interface AdapterStatus {
  ok: boolean;
  /** shown to admins in Russian when not ok, e.g. «WhatsApp: требуется вход по QR-коду» */
  detail?: string;
}

/** One per messenger, in bots/<channel>/. */
export interface ChannelAdapter {
  readonly kind: ChannelKind;
  send(message: OutboundMessage): Promise<{ providerMessageId: string }>;
  status(): AdapterStatus;
  /** re-checks the provider (e.g. Viber's get_account_info) so that status() is current */
  refresh?(): Promise<void>;
  /** at most `max` sends per `durationMs` from one process (the provider's limits, or a ban risk) */
  readonly sendRate?: { max: number; durationMs: number };
}
