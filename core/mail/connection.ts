import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { createTransport } from 'nodemailer';
import type { mailboxes } from '../db/schema/index.js';
import type { MailEnv } from './env.js';

type MailboxRow = typeof mailboxes.$inferSelect;
export type ServerSettings = Pick<
  MailboxRow,
  'login' | 'imapHost' | 'imapPort' | 'imapEncryption' | 'smtpHost' | 'smtpPort' | 'smtpEncryption'
>;
/** how a connection to a mail server is made: its timeouts, and whether private addresses may be reached */
export type MailConnectOptions = Pick<MailEnv, 'timeoutMs' | 'allowPrivateHosts'>;

/**
 * Loopback, private, link-local and unique-local networks (IPv4-mapped IPv6 addresses included:
 * BlockList matches them against the IPv4 ranges). A mail server on the internet is never here;
 * a "mail server" typed here would have the CRM probe its own machine or LAN (Redis, Postgres,
 * cloud metadata at 169.254.169.254) and send it a mailbox password.
 */
const privateNetworks = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  privateNetworks.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) privateNetworks.addSubnet(net, bits, 'ipv6');

export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address);
  return family !== 0 && privateNetworks.check(address, family === 6 ? 'ipv6' : 'ipv4');
};

/** A mail server's name leads to a private address while MAIL_ALLOW_PRIVATE_HOSTS is off. */
export class PrivateMailHostError extends Error {
  readonly code = 'EPRIVATEHOST';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to the private address ${address}`);
    this.name = 'PrivateMailHostError';
  }
}

/** the refusal in words an admin can act on */
export const privateHostProblem = (e: PrivateMailHostError) =>
  `${e.host === e.address ? `адрес ${e.address}` : `${e.host} ведёт на адрес ${e.address}`} — это сервер самой CRM или внутренняя сеть; ` +
  'почтовые серверы по таким адресам разрешает настройка MAIL_ALLOW_PRIVATE_HOSTS=true';

/**
 * Where to connect for `host`. With private addresses allowed: the name itself. Otherwise the name
 * is resolved here, every address it has is checked, and the connection goes to one of those
 * addresses (the name kept for TLS), so a name cannot point somewhere else by the time the
 * connection is made.
 */
export async function mailServerAddress(host: string, opts: MailConnectOptions): Promise<{ host: string; servername?: string }> {
  if (opts.allowPrivateHosts) return { host };
  const name = host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (isIP(name)) {
    if (isPrivateAddress(name)) throw new PrivateMailHostError(name, name);
    return { host: name };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${name} timed out`), { code: 'ETIMEDOUT' })), opts.timeoutMs);
  });
  const found = await Promise.race([lookup(name, { all: true }), timeout]).finally(() => clearTimeout(timer));
  const bad = found.find((a) => isPrivateAddress(a.address));
  if (bad) throw new PrivateMailHostError(name, bad.address);
  // IPv4 first: a mail server's IPv6 is more often missing a route than its IPv4
  const address = [...found].sort((a, b) => a.family - b.family)[0]!.address;
  return { host: address, servername: name };
}

/** An IMAP client for the mailbox, not yet connected. */
export async function imapClient(settings: ServerSettings, password: string, opts: MailConnectOptions): Promise<ImapFlow> {
  const { timeoutMs } = opts;
  const server = await mailServerAddress(settings.imapHost, opts);
  const options: ImapFlowOptions = {
    ...server,
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

export async function smtpTransport(settings: ServerSettings, password: string, opts: MailConnectOptions) {
  const { timeoutMs } = opts;
  const server = await mailServerAddress(settings.smtpHost, opts);
  return createTransport({
    ...server,
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
export async function withImap<T>(settings: ServerSettings, password: string, opts: MailConnectOptions, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = await imapClient(settings, password, opts);
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
  if (err instanceof PrivateMailHostError) return `Соединение не установлено: ${privateHostProblem(err)}`;
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
