import { and, eq } from 'drizzle-orm';
import type { ImapFlow } from 'imapflow';
import type { ServiceContext } from '../context.js';
import { mailboxes, mailFolderState } from '../db/schema/index.js';
import type { MailEnv } from './env.js';
import { describeMailError, withImap } from './connection.js';
import { findSentFolder } from './folders.js';
import { loadMailbox, mailboxPassword } from './mailboxes.js';
import { AddressMatcher } from './matching.js';
import { parseLetter, syntheticMessageId, messageIds } from './parse.js';
import { storeAttachments } from './attachments.js';
import { knownMessageIds, saveFolderState, storeLetters, type FolderRole, type LetterToStore } from './store.js';

type MailboxRow = typeof mailboxes.$inferSelect;

export interface FolderImport {
  folder: string;
  role: FolderRole;
  imported: number;
  /** the server changed UIDVALIDITY, so the folder was read again from the start */
  uidValidityChanged: boolean;
}

export interface ImportResult {
  mailboxId: number;
  imported: number;
  folders: FolderImport[];
}

/** letters fetched, parsed and stored per round; bounds memory on a mailbox with years of mail */
const BATCH = 250;

/**
 * Imports new letters of one mailbox (R17): the inbox and the sent folder, each from the last
 * UID seen, starting a folder over when its UIDVALIDITY changed. A letter already stored for
 * this mailbox (same Message-ID) is skipped before it is even parsed. Errors are recorded on
 * the mailbox for the admin to see, then thrown so the job shows them too.
 */
export async function importMailbox(ctx: ServiceContext, env: MailEnv, mailboxId: number): Promise<ImportResult> {
  const mailbox = await loadMailbox(ctx, mailboxId);
  const result: ImportResult = { mailboxId, imported: 0, folders: [] };
  if (!mailbox.active) return result;
  try {
    await withImap(mailbox, mailboxPassword(env, mailbox), env, async (client) => {
      const sent = await findSentFolder(client);
      const folders: { path: string; role: FolderRole }[] = [{ path: 'INBOX', role: 'inbox' }];
      if (sent && sent.toUpperCase() !== 'INBOX') folders.push({ path: sent, role: 'sent' });
      const matcher = new AddressMatcher();
      for (const f of folders) {
        const r = await importFolder(ctx, env, client, mailbox, f.path, f.role, matcher);
        result.folders.push(r);
        result.imported += r.imported;
      }
    });
  } catch (err) {
    await ctx.db.update(mailboxes).set({ lastError: `Импорт: ${describeMailError(err)}` }).where(eq(mailboxes.id, mailboxId));
    throw err;
  }
  if (mailbox.lastError?.startsWith('Импорт:')) await ctx.db.update(mailboxes).set({ lastError: null }).where(eq(mailboxes.id, mailboxId));
  ctx.log.info({ mailboxId, imported: result.imported }, 'mailbox imported');
  return result;
}

async function importFolder(
  ctx: ServiceContext,
  env: MailEnv,
  client: ImapFlow,
  mailbox: MailboxRow,
  folder: string,
  role: FolderRole,
  matcher: AddressMatcher,
): Promise<FolderImport> {
  const lock = await client.getMailboxLock(folder, { readOnly: true });
  try {
    const box = client.mailbox;
    if (!box) throw new Error(`folder ${folder} could not be opened`);
    const uidValidity = Number(box.uidValidity);
    const [state] = await ctx.db
      .select()
      .from(mailFolderState)
      .where(and(eq(mailFolderState.mailboxId, mailbox.id), eq(mailFolderState.folder, folder)));
    const uidValidityChanged = Boolean(state && state.uidValidity !== uidValidity);
    const lastUid = state && !uidValidityChanged ? state.lastUid : 0;
    const out: FolderImport = { folder, role, imported: 0, uidValidityChanged };
    if (uidValidityChanged) ctx.log.warn({ mailboxId: mailbox.id, folder }, 'UIDVALIDITY changed: reading the folder again');
    if (!box.exists || (box.uidNext && box.uidNext <= lastUid + 1)) {
      await saveFolderState(ctx, mailbox.id, folder, uidValidity, lastUid);
      return out;
    }
    const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
    const uids = (found || []).filter((u) => u > lastUid).sort((a, b) => a - b);
    const chunks: number[][] = [];
    for (let i = 0; i < uids.length; i += BATCH) chunks.push(uids.slice(i, i + BATCH));
    const fetchChunk = (chunk: number[]) =>
      client.fetchAll(chunk.join(','), { uid: true, source: true, envelope: true, internalDate: true }, { uid: true });
    // the server sends the next batch while this one is parsed and stored
    let next = chunks.length ? fetchChunk(chunks[0]!) : null;
    for (const [n, chunk] of chunks.entries()) {
      const messages = await next!;
      next = n + 1 < chunks.length ? fetchChunk(chunks[n + 1]!) : null;
      // keeps an unhandled rejection from surfacing before its turn comes
      next?.catch(() => undefined);
      const withIds = messages
        .filter((m) => m.source)
        .map((m) => ({ m, id: messageIds(m.envelope?.messageId)[0] ?? syntheticMessageId(m.source!) }));
      const known = await knownMessageIds(ctx, mailbox.id, [...new Set(withIds.map((x) => x.id))]);
      const letters = await Promise.all(
        withIds
          .filter(({ id }) => !known.has(id))
          .map(async ({ m }): Promise<LetterToStore> => {
            const letter = await parseLetter(m.source!);
            const attachments = await storeAttachments(env.dataDir, mailbox.id, letter.messageId, letter.attachments);
            const internal = m.internalDate ? new Date(m.internalDate) : null;
            return { uid: m.uid, letter, attachments, receivedAt: internal && !Number.isNaN(internal.getTime()) ? internal : null };
          }),
      );
      out.imported += await storeLetters(ctx, {
        mailbox,
        folder,
        role,
        uidValidity,
        lastUid: chunk[chunk.length - 1]!,
        letters,
        matcher,
      });
    }
    return out;
  } finally {
    lock.release();
  }
}
