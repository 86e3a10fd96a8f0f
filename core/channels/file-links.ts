import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { messages } from '../db/schema/index.js';
import { ServiceError } from '../errors.js';
import { signToken, verifyToken } from '../crypto/signed-token.js';
import { readStoredAttachment, type StoredAttachment } from './attachments.js';

/**
 * Public links to the files of a manager's reply, for messengers that fetch a file from a URL
 * instead of taking an upload (Viber). `/files/<token>/<name.ext>`: the token is the message id,
 * the attachment's index and an expiry, signed with a key derived from SECRET_KEY; the name only
 * gives the URL the extension Viber looks for, and is never trusted.
 */
export const FILE_LINK_PURPOSE = 'file-link';
/** Viber fetches a file when the client opens the chat, which may be days later */
export const FILE_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;

interface FileLinkPayload {
  /** message id */
  m: number;
  /** attachment index */
  i: number;
  /** expiry, unix seconds */
  e: number;
}

export interface FileLinkTarget {
  messageId: number;
  index: number;
}

export function fileLinkToken(secretKey: string, target: FileLinkTarget, expiresAt: Date): string {
  const payload: FileLinkPayload = { m: target.messageId, i: target.index, e: Math.floor(expiresAt.getTime() / 1000) };
  return signToken(secretKey, FILE_LINK_PURPOSE, payload);
}

/** Extensions by type, the first one used when a name has none of them. */
const extensionsOf: Record<string, string[]> = {
  'image/jpeg': ['jpg', 'jpeg'],
  'image/png': ['png'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'video/mp4': ['mp4'],
  'video/quicktime': ['mov'],
  'audio/ogg': ['ogg', 'oga', 'opus'],
  'audio/mpeg': ['mp3'],
  'audio/mp4': ['m4a'],
  'application/pdf': ['pdf'],
  'text/plain': ['txt'],
};

/**
 * The last path segment of a link: ASCII (the router limits a segment's length, and Cyrillic
 * would triple it once encoded) and ending in an extension that agrees with the file's type.
 */
export function fileLinkName(name: string, mime: string): string {
  const dot = name.lastIndexOf('.');
  const nameExt = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  const known = extensionsOf[mime.toLowerCase()];
  const ext = known ? (known.includes(nameExt) ? nameExt : known[0]!) : /^[a-z0-9]{1,8}$/.test(nameExt) ? nameExt : 'bin';
  const stem = (dot > 0 ? name.slice(0, dot) : name)
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  return `${stem || 'file'}.${ext}`;
}

/** The full public URL of one file of an outgoing message. */
export function fileLinkUrl(
  publicUrl: string,
  secretKey: string,
  file: FileLinkTarget & { name: string; mime: string },
  expiresAt: Date,
): string {
  return `${publicUrl.replace(/\/+$/, '')}/files/${fileLinkToken(secretKey, file, expiresAt)}/${fileLinkName(file.name, file.mime)}`;
}

/** One answer for every refusal, so a link's holder learns nothing about why. */
const gone = () => new ServiceError('not_found', 'Файл не найден или ссылка устарела');

/**
 * The file a link points at: only a file of an outgoing message (a manager's reply, never a
 * client's) and only until the link expires. Anyone holding the link may fetch it.
 */
export async function openFileLink(
  ctx: ServiceContext,
  opts: { secretKey: string; attachmentsDir: string },
  token: string,
): Promise<StoredAttachment & { data: Buffer }> {
  const p = verifyToken<FileLinkPayload>(opts.secretKey, FILE_LINK_PURPOSE, token);
  if (!p || !Number.isSafeInteger(p.m) || !Number.isSafeInteger(p.i) || p.i < 0 || !Number.isFinite(p.e)) throw gone();
  if (p.e * 1000 <= ctx.clock.now().getTime()) throw gone();
  const [m] = await ctx.db
    .select({ direction: messages.direction, attachments: messages.attachments })
    .from(messages)
    .where(eq(messages.id, p.m));
  const stored = m?.direction === 'out' ? m.attachments[p.i] : undefined;
  if (!stored) throw gone();
  try {
    return { ...stored, data: await readStoredAttachment(opts.attachmentsDir, stored) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw gone();
    throw err;
  }
}
