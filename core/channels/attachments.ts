import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attachmentKindOf, type AttachmentKind, type ChannelKind, type InboundAttachment } from './types.js';

/** What a messages row keeps about one file; `path` is relative to the attachments folder. */
export interface StoredAttachment {
  path: string;
  name: string;
  mime: string;
  size: number;
  /** how the panel and the bot present it (a voice note plays); older rows have none: see kindOfStored */
  kind?: AttachmentKind | undefined;
}

export const kindOfStored = (a: Pick<StoredAttachment, 'mime' | 'kind'>): AttachmentKind => a.kind ?? attachmentKindOf(a.mime);

/** Files clients send live on disk under DATA_DIR/attachments, so the database stays small. */
export const attachmentsDirFor = (dataDir: string): string => path.resolve(dataDir, 'attachments');

const safeName = (name: string): string =>
  name
    .normalize('NFC')
    // keep letters of any script, digits and a few separators; a path can never come from a client
    .replace(/[^\p{L}\p{N}._-]+/gu, '_')
    .replace(/^[._]+/, '')
    .slice(-120) || 'file';

/** Writes the files; each gets a fresh name, so two clients' «photo.jpg» never meet. */
export async function saveAttachments(
  attachmentsDir: string,
  channel: ChannelKind,
  at: Date,
  files: InboundAttachment[],
): Promise<StoredAttachment[]> {
  if (!files.length) return [];
  const month = `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  const dir = path.join(attachmentsDir, channel, month);
  await mkdir(dir, { recursive: true });
  const stored: StoredAttachment[] = [];
  for (const f of files) {
    const name = safeName(f.name);
    const rel = path.posix.join(channel, month, `${randomUUID()}-${name}`);
    await writeFile(path.join(attachmentsDir, rel), f.data, { flag: 'wx' });
    const mime = f.mime || 'application/octet-stream';
    stored.push({ path: rel, name: f.name.slice(0, 255) || name, mime, size: f.data.length, kind: f.kind ?? attachmentKindOf(mime) });
  }
  return stored;
}

/** The absolute path of a stored file; refuses anything that would leave the attachments folder. */
export function attachmentFilePath(attachmentsDir: string, stored: Pick<StoredAttachment, 'path'>): string {
  const root = path.resolve(attachmentsDir);
  const full = path.resolve(root, stored.path);
  if (!full.startsWith(root + path.sep)) throw new Error(`attachment path outside the attachments folder: ${stored.path}`);
  return full;
}

export async function readStoredAttachment(attachmentsDir: string, stored: StoredAttachment): Promise<Buffer> {
  return readFile(attachmentFilePath(attachmentsDir, stored));
}
