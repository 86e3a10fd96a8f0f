import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { mailboxes } from '../db/schema/index.js';
import type { MailEnv } from './env.js';
import { describeMailError, isPermanentSmtpError, smtpTransport, withImap } from './connection.js';
import { findSentFolder } from './folders.js';
import { mailboxPassword } from './mailboxes.js';

type MailboxRow = typeof mailboxes.$inferSelect;

/** A Message-ID in the sender's domain, so replies find their way back into the thread. */
export function newMessageId(fromAddress: string): string {
  const domain = fromAddress.split('@')[1] || 'crm.local';
  return `<${randomUUID()}@${domain}>`;
}

export interface OutgoingLetter {
  fromName: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  date: Date;
  headers?: Record<string, string>;
  attachments?: { filename: string; contentType: string; content: Buffer }[];
}

/** The letter as RFC 822 bytes: the same bytes go over SMTP and into the Sent folder. */
export async function buildRaw(letter: OutgoingLetter): Promise<Buffer> {
  const node = new MailComposer({
    from: { name: letter.fromName, address: letter.fromAddress },
    to: letter.to,
    cc: letter.cc.length ? letter.cc : undefined,
    subject: letter.subject,
    text: letter.text,
    messageId: letter.messageId,
    inReplyTo: letter.inReplyTo ?? undefined,
    references: letter.references?.length ? letter.references : undefined,
    date: letter.date,
    headers: letter.headers,
    attachments: letter.attachments?.length ? letter.attachments : undefined,
    newline: 'win',
  }).compile();
  return node.build();
}

export type SendOutcome = { ok: true } | { ok: false; permanent: boolean; reason: string };

/** One SMTP delivery from the mailbox; never throws, the caller decides about retries. */
export async function deliver(env: MailEnv, mailbox: MailboxRow, envelope: { from: string; to: string[] }, raw: Buffer): Promise<SendOutcome> {
  let transport: Awaited<ReturnType<typeof smtpTransport>> | undefined;
  try {
    transport = await smtpTransport(mailbox, mailboxPassword(env, mailbox), env);
    await transport.sendMail({ envelope, raw });
    return { ok: true };
  } catch (err) {
    return { ok: false, permanent: isPermanentSmtpError(err), reason: describeMailError(err) };
  } finally {
    transport?.close();
  }
}

/** Puts a sent letter into the mailbox's Sent folder over IMAP, so mail clients show it too. */
export async function appendToSent(env: MailEnv, mailbox: MailboxRow, raw: Buffer, date: Date): Promise<string | null> {
  return withImap(mailbox, mailboxPassword(env, mailbox), env, async (client) => {
    const sent = await findSentFolder(client);
    if (!sent) return null;
    await client.append(sent, raw, ['\\Seen'], date);
    return sent;
  });
}

/** the wait before try number `attempt + 1` */
export const retryDelay = (env: MailEnv, attempt: number) => env.sendBackoffMs * 2 ** Math.max(0, attempt - 1);
