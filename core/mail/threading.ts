import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { emails } from '../db/schema/index.js';

/**
 * The thread a letter belongs to, named by the Message-ID of its first letter. A letter that
 * answers one we hold joins that letter's thread; otherwise the first id in References (the
 * thread's root, RFC 5322) or In-Reply-To names it; a letter answering nothing starts its own.
 * Works whatever order the letters arrive in.
 */
export async function threadKeyFor(ctx: ServiceContext, letter: { messageId: string; inReplyTo: string | null; references: string[] }): Promise<string> {
  const related = [...new Set([...letter.references, ...(letter.inReplyTo ? [letter.inReplyTo] : [])])].filter((id) => id !== letter.messageId);
  if (!related.length) return letter.messageId;
  const [known] = await ctx.db
    .select({ threadKey: emails.threadKey })
    .from(emails)
    .where(and(inArray(emails.messageId, related), isNotNull(emails.threadKey)))
    .orderBy(asc(emails.at), asc(emails.id))
    .limit(1);
  return known?.threadKey ?? letter.references[0] ?? letter.inReplyTo ?? letter.messageId;
}

/**
 * Replies stored before this letter (their References were cut short) named their thread after
 * it; they move to the thread it belongs to.
 */
export async function mergeThreads(ctx: ServiceContext, messageId: string, threadKey: string): Promise<void> {
  if (messageId === threadKey) return;
  await ctx.db.update(emails).set({ threadKey }).where(eq(emails.threadKey, messageId));
}

const relatedIds = (l: { messageId: string; inReplyTo: string | null; references: string[] }) =>
  [...new Set([...l.references, ...(l.inReplyTo ? [l.inReplyTo] : [])])].filter((id) => id !== l.messageId);

/**
 * Thread keys for a batch of letters in one query: the same rule as threadKeyFor, where a
 * letter earlier in the batch counts as held. Letters are taken in the order given.
 */
export async function threadKeysFor(
  ctx: ServiceContext,
  letters: { messageId: string; inReplyTo: string | null; references: string[] }[],
): Promise<string[]> {
  const wanted = [...new Set(letters.flatMap(relatedIds))];
  const held = new Map<string, string>();
  for (let i = 0; i < wanted.length; i += 1000) {
    const found = await ctx.db
      .select({ messageId: emails.messageId, threadKey: emails.threadKey })
      .from(emails)
      .where(and(inArray(emails.messageId, wanted.slice(i, i + 1000)), isNotNull(emails.threadKey)))
      .orderBy(asc(emails.at), asc(emails.id));
    for (const r of found) if (!held.has(r.messageId!)) held.set(r.messageId!, r.threadKey!);
  }
  return letters.map((l) => {
    const related = relatedIds(l);
    const key = related.map((id) => held.get(id)).find(Boolean) ?? l.references[0] ?? l.inReplyTo ?? l.messageId;
    if (!held.has(l.messageId)) held.set(l.messageId, key);
    return key;
  });
}

/** mergeThreads for many letters in one statement */
export async function mergeThreadsMany(ctx: ServiceContext, pairs: { messageId: string; threadKey: string }[]): Promise<void> {
  const moved = pairs.filter((p) => p.messageId !== p.threadKey);
  if (!moved.length) return;
  const values = sql.join(
    moved.map((p) => sql`(${p.messageId}, ${p.threadKey})`),
    sql`, `,
  );
  await ctx.db.execute(sql`UPDATE emails SET thread_key = v.k FROM (VALUES ${values}) AS v(m, k) WHERE emails.thread_key = v.m`);
}
