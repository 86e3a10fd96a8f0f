import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';

export interface ParsedLetter {
  messageId: string;
  subject: string;
  from: { address: string; name: string } | null;
  to: string[];
  cc: string[];
  replyTo: string[];
  date: Date | null;
  text: string | null;
  inReplyTo: string | null;
  /** oldest first, as the header lists them */
  references: string[];
  attachments: { name: string; mime: string; content: Buffer }[];
  /** auto-replies, bounces and bulk mail: no lead is opened from them */
  automatic: boolean;
}

/** The id a letter without a Message-ID is stored under: stable, so a re-import finds it. */
export function syntheticMessageId(source: Buffer): string {
  return `<${createHash('sha256').update(source).digest('hex').slice(0, 40)}@no-message-id.crm>`;
}

const ID_RE = /<[^<>\s]+>/g;

/** Message-IDs in a header value; a bare id without brackets is given them. */
export function messageIds(value: string | string[] | undefined | null): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const v of Array.isArray(value) ? value : [value]) {
    const found = v.match(ID_RE);
    if (found) out.push(...found);
    else if (v.trim()) out.push(...v.trim().split(/\s+/).map((s) => `<${s.replace(/^<|>$/g, '')}>`));
  }
  return [...new Set(out)];
}

function addresses(value: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  if (!value) return [];
  const flat: EmailAddress[] = [];
  const walk = (list: EmailAddress[]) => {
    for (const a of list) {
      if (a.group) walk(a.group);
      else if (a.address) flat.push(a);
    }
  };
  for (const obj of Array.isArray(value) ? value : [value]) walk(obj.value);
  return flat;
}

const lower = (list: EmailAddress[]) => [...new Set(list.map((a) => a.address!.trim().toLowerCase()).filter(Boolean))];

/**
 * Parses a raw RFC 822 message with mailparser, whatever its charsets and encodings (UTF-8,
 * KOI8-R, Windows-1251, quoted-printable, base64, encoded words).
 */
export async function parseLetter(source: Buffer): Promise<ParsedLetter> {
  const mail: ParsedMail = await simpleParser(source, {
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    keepCidLinks: true,
    checksumAlgo: false,
  });
  const from = addresses(mail.from)[0];
  const header = (name: string) => {
    const v = mail.headers.get(name);
    return typeof v === 'string' ? v.toLowerCase() : '';
  };
  const autoSubmitted = header('auto-submitted');
  const precedence = header('precedence');
  const fromAddress = from?.address?.trim().toLowerCase() ?? '';
  return {
    messageId: messageIds(mail.messageId)[0] ?? syntheticMessageId(source),
    subject: (mail.subject ?? '').slice(0, 1000),
    from: from ? { address: fromAddress, name: from.name?.trim() ?? '' } : null,
    to: lower(addresses(mail.to)),
    cc: lower(addresses(mail.cc)),
    replyTo: lower(addresses(mail.replyTo)),
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
    text: mail.text?.trim() ? mail.text : null,
    inReplyTo: messageIds(mail.inReplyTo)[0] ?? null,
    references: messageIds(mail.references),
    attachments: mail.attachments.map((a, i) => ({
      name: a.filename || `attachment-${i + 1}`,
      mime: a.contentType || 'application/octet-stream',
      content: a.content,
    })),
    automatic:
      (autoSubmitted !== '' && autoSubmitted !== 'no') ||
      ['bulk', 'junk', 'list'].includes(precedence) ||
      /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@/.test(fromAddress),
  };
}
