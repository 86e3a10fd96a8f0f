import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface StoredAttachment {
  /** relative to DATA_DIR */
  path: string;
  name: string;
  mime: string;
  size: number;
}

/** A file name safe on any file system, Cyrillic kept. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, '_')
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(-120);
  return cleaned || 'file';
}

/**
 * Writes a letter's attachments under DATA_DIR/attachments/mail/<mailbox>/<xx>/<hash>/, the
 * folder named after the letter's Message-ID. The same letter always lands on the same paths,
 * so importing it again rewrites the same files rather than leaving copies.
 */
export async function storeAttachments(
  dataDir: string,
  mailboxId: number,
  messageId: string,
  files: { name: string; mime: string; content: Buffer }[],
): Promise<StoredAttachment[]> {
  if (!files.length) return [];
  const hash = createHash('sha256').update(messageId).digest('hex');
  const dir = path.posix.join('attachments', 'mail', String(mailboxId), hash.slice(0, 2), hash.slice(0, 32));
  await mkdir(path.join(dataDir, dir), { recursive: true });
  const out: StoredAttachment[] = [];
  for (const [i, f] of files.entries()) {
    const rel = path.posix.join(dir, `${i + 1}-${safeFileName(f.name)}`);
    await writeFile(path.join(dataDir, rel), f.content);
    out.push({ path: rel, name: f.name, mime: f.mime, size: f.content.length });
  }
  return out;
}

/** Reads a stored attachment; refuses a path that would leave DATA_DIR/attachments. */
export async function readStoredAttachment(dataDir: string, rel: string): Promise<Buffer> {
  const root = path.resolve(dataDir, 'attachments');
  const full = path.resolve(dataDir, rel);
  if (!full.startsWith(root + path.sep)) throw new Error('attachment path outside the attachments folder');
  return readFile(full);
}
