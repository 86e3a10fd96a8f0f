import type { Services } from '../services.js';

/**
 * What the mail verbs and jobs need beyond a ServiceContext: the key that seals mailbox
 * passwords and signs unsubscribe links, where attachments go, the public address for links,
 * and the sending policy. Built once by the composition root (see `mailEnv`); tests shorten the
 * delays.
 */
export interface MailEnv {
  secretKey: string;
  /** attachments live under `<dataDir>/attachments/mail/…` */
  dataDir: string;
  /** base of links in letters, e.g. https://crm.example.ru */
  publicUrl: string;
  /** how often each active mailbox is imported */
  importEveryMs: number;
  /** tries of one letter over SMTP before it is marked failed */
  sendAttempts: number;
  /** the first retry waits this long, each next one twice as long */
  sendBackoffMs: number;
  /** mail-out throttle across all workers: at most `max` letters per `durationMs` */
  mailoutLimiter: { max: number; durationMs: number };
  /** connect / greeting / socket timeouts for IMAP and SMTP */
  timeoutMs: number;
  /** mail servers on loopback or a private network may be reached (MAIL_ALLOW_PRIVATE_HOSTS) */
  allowPrivateHosts: boolean;
}

export const defaultMailPolicy = {
  importEveryMs: 60_000,
  sendAttempts: 5,
  sendBackoffMs: 30_000,
  // ~1200 an hour: below what Яндекс, Mail.ru and Gmail let an ordinary mailbox send without being flagged
  mailoutLimiter: { max: 20, durationMs: 60_000 },
  timeoutMs: 20_000,
  allowPrivateHosts: false,
} satisfies Partial<MailEnv>;

export function mailEnv(services: Pick<Services, 'secretKey' | 'config'>, overrides: Partial<MailEnv> = {}): MailEnv {
  const { config } = services;
  return {
    ...defaultMailPolicy,
    secretKey: services.secretKey,
    dataDir: config.DATA_DIR,
    publicUrl: (config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/+$/, ''),
    allowPrivateHosts: config.MAIL_ALLOW_PRIVATE_HOSTS,
    ...overrides,
  };
}

/** the purpose that binds sealed mailbox passwords to their use */
export const MAILBOX_PASSWORD_PURPOSE = 'mailbox-password';
export const UNSUBSCRIBE_PURPOSE = 'unsubscribe';

export const MAIL_IMPORT_JOB = 'mail.import';
export const MAIL_SEND_JOB = 'mail.send';
export const MAILOUT_SEND_JOB = 'mailout.send';
