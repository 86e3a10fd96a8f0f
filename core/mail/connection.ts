import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { createTransport } from 'nodemailer';
import type { mailboxes } from '../db/schema/index.js';

type MailboxRow = typeof mailboxes.$inferSelect;
export type ServerSettings = Pick<
  MailboxRow,
  'login' | 'imapHost' | 'imapPort' | 'imapEncryption' | 'smtpHost' | 'smtpPort' | 'smtpEncryption'
>;

/** An IMAP client for the mailbox, not yet connected. */
export function imapClient(settings: ServerSettings, password: string, timeoutMs: number): ImapFlow {
  const options: ImapFlowOptions = {
    host: settings.imapHost,
    port: settings.imapPort,
    secure: settings.imapEncryption === 'ssl',
    // "none" must not silently upgrade, "starttls" must not silently stay in clear
    doSTARTTLS: settings.imapEncryption === 'starttls' ? true : settings.imapEncryption === 'none' ? false : undefined,
    auth: { user: settings.login, pass: password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 3,
    clientInfo: { name: 'chat-crm' },
  };
  const client = new ImapFlow(options);
  // a dropped connection is reported through the failing command; this keeps it from being an uncaught 'error'
  client.on('error', () => {});
  return client;
}

export function smtpTransport(settings: ServerSettings, password: string, timeoutMs: number) {
  return createTransport({
    host: settings.smtpHost,
    port: settings.smtpPort,
    secure: settings.smtpEncryption === 'ssl',
    requireTLS: settings.smtpEncryption === 'starttls',
    ignoreTLS: settings.smtpEncryption === 'none',
    auth: { user: settings.login, pass: password },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 3,
    logger: false,
  });
}

/** An IMAP session that is always closed, whatever `fn` does. */
export async function withImap<T>(settings: ServerSettings, password: string, timeoutMs: number, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = imapClient(settings, password, timeoutMs);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/**
 * What went wrong talking to a mail server, in words an admin can act on. Never includes the
 * password; server replies are kept short.
 */
export function describeMailError(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; authenticationFailed?: boolean; response?: string; message?: string; responseText?: string };
  if (e?.authenticationFailed || e?.code === 'EAUTH' || e?.responseCode === 535) return 'Неверный логин или пароль (для Яндекса, Mail.ru и Gmail нужен пароль приложения)';
  // nodemailer wraps socket errors as ESOCKET with the system code in the message
  const code = e?.code === 'ESOCKET' ? (/\b(E[A-Z]+)\b/.exec(e.message ?? '')?.[1] ?? e.code) : e?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'Сервер отказал в соединении: проверьте адрес и порт';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Сервер не найден: проверьте адрес';
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
    case 'CONNECT_TIMEOUT':
    case 'GREETING_TIMEOUT':
      return 'Сервер не отвечает: проверьте адрес, порт и шифрование';
    case 'ECONNRESET':
      return 'Сервер разорвал соединение: проверьте порт и шифрование';
    case 'ETLS':
      return 'Не удалось установить защищённое соединение: проверьте шифрование';
  }
  if (/wrong version number|ssl3_get_record|packet length too long|certificate/i.test(e?.message ?? '')) {
    return 'Не удалось установить защищённое соединение: проверьте порт и шифрование';
  }
  if (e?.responseCode) return `Сервер ответил: ${e.responseCode} ${(e.response ?? '').slice(0, 200)}`.trim();
  const text = (e?.responseText ?? e?.message ?? String(err)).slice(0, 200);
  return `Ошибка почтового сервера: ${text}`;
}

/** SMTP 5xx: the server refused for good, retrying will not help. */
export const isPermanentSmtpError = (err: unknown): boolean => {
  const code = (err as { responseCode?: number })?.responseCode;
  return typeof code === 'number' && code >= 500 && code !== 535 && code < 600;
};
