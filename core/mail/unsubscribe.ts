import { and, eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { mailingTypes, mailoutRecipients, mailouts, unsubscribes } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { signToken, verifyToken } from '../crypto/signed-token.js';
import { UNSUBSCRIBE_PURPOSE, type MailEnv } from './env.js';

/** the recipient row of a mail-out: it knows the address and the mailing type, and keeps links short */
interface UnsubscribePayload {
  r: number;
}

export function unsubscribeToken(env: Pick<MailEnv, 'secretKey'>, recipientId: number): string {
  return signToken(env.secretKey, UNSUBSCRIBE_PURPOSE, { r: recipientId } satisfies UnsubscribePayload);
}

export function unsubscribeUrl(env: Pick<MailEnv, 'secretKey' | 'publicUrl'>, recipientId: number): string {
  return `${env.publicUrl}/unsubscribe/${unsubscribeToken(env, recipientId)}`;
}

const badLink = () => invalid({ token: 'ссылка для отписки недействительна' }, 'Ссылка для отписки недействительна');

/** Whose link this is and from what, for the confirmation page; changes nothing. */
export async function describeUnsubscribe(
  ctx: ServiceContext,
  env: Pick<MailEnv, 'secretKey'>,
  token: string,
): Promise<{ email: string; mailingType: string; mailingTypeId: number; unsubscribed: boolean }> {
  const p = verifyToken<UnsubscribePayload>(env.secretKey, UNSUBSCRIBE_PURPOSE, token);
  if (!p || !Number.isSafeInteger(p.r)) throw badLink();
  const [row] = await ctx.db
    .select({ email: mailoutRecipients.email, typeId: mailingTypes.id, type: mailingTypes.name })
    .from(mailoutRecipients)
    .innerJoin(mailouts, eq(mailouts.id, mailoutRecipients.mailoutId))
    .innerJoin(mailingTypes, eq(mailingTypes.id, mailouts.mailingTypeId))
    .where(eq(mailoutRecipients.id, p.r));
  // the mail-out (or its mailing type) was deleted since: nothing left to unsubscribe from
  if (!row?.email) throw badLink();
  const [done] = await ctx.db
    .select({ email: unsubscribes.email })
    .from(unsubscribes)
    .where(and(eq(unsubscribes.email, row.email), eq(unsubscribes.mailingTypeId, row.typeId)));
  return { email: row.email, mailingType: row.type, mailingTypeId: row.typeId, unsubscribed: Boolean(done) };
}

/**
 * Follows an unsubscribe link from a mail-out letter: the address stops getting that mailing
 * type's mail-outs, and the next mail-out skips it. The token is signed with SECRET_KEY, so
 * nobody can unsubscribe someone else by guessing. Following it again changes nothing.
 */
export async function unsubscribeByToken(
  ctx: ServiceContext,
  env: Pick<MailEnv, 'secretKey'>,
  token: string,
): Promise<{ email: string; mailingType: string }> {
  const row = await describeUnsubscribe(ctx, env, token);
  await ctx.db.insert(unsubscribes).values({ email: row.email, mailingTypeId: row.mailingTypeId, at: ctx.clock.now() }).onConflictDoNothing();
  ctx.log.info({ mailingTypeId: row.mailingTypeId }, 'unsubscribed from a mailing type');
  return { email: row.email, mailingType: row.mailingType };
}
