import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../../context.js';
import { webhookSources } from '../../db/schema/index.js';
import { notFound } from '../../errors.js';
import { requireRole } from '../../access/scope.js';
import { parseInput } from '../../shared/input.js';

export type WebhookSource = typeof webhookSources.$inferSelect;
export type WebhookSourceKind = WebhookSource['kind'];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export const webhookPath = (kind: WebhookSourceKind, token: string) => `/webhooks/${kind === 'tilda' ? 'tilda' : 'forms'}/${token}`;

/**
 * A form builder or social network allowed to post leads. The token in its URL is its secret:
 * returned once, stored as a hash.
 */
export async function createWebhookSource(
  ctx: ServiceContext,
  input: { kind: string; name: string; network?: string | undefined },
): Promise<{ id: number; token: string; path: string }> {
  requireRole(ctx, 'admin');
  const data = parseInput(
    z.object({
      kind: z.enum(['tilda', 'form'], 'вид: tilda или form'),
      name: z.string().trim().min(1, 'укажите название').max(200),
      network: z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^[a-z0-9_.-]{1,50}$/, 'латиницей, например vk')
        .optional(),
    }),
    input,
  );
  const token = randomBytes(24).toString('base64url');
  const [row] = await ctx.db
    .insert(webhookSources)
    .values({
      kind: data.kind,
      name: data.name,
      network: data.network ?? null,
      tokenHash: sha256(token),
      createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
      createdAt: ctx.clock.now(),
    })
    .returning({ id: webhookSources.id });
  return { id: row!.id, token, path: webhookPath(data.kind, token) };
}

/** The source a webhook URL token belongs to, or null for an unknown or revoked one. */
export async function authenticateWebhookSource(ctx: ServiceContext, kind: WebhookSourceKind, token: string): Promise<WebhookSource | null> {
  if (!token || token.length > 200) return null;
  const [row] = await ctx.db
    .update(webhookSources)
    .set({ lastUsedAt: ctx.clock.now() })
    .where(and(eq(webhookSources.tokenHash, sha256(token)), eq(webhookSources.kind, kind), isNull(webhookSources.revokedAt)))
    .returning();
  return row ?? null;
}

export async function listWebhookSources(ctx: ServiceContext) {
  requireRole(ctx, 'admin');
  return ctx.db
    .select({
      id: webhookSources.id,
      kind: webhookSources.kind,
      name: webhookSources.name,
      network: webhookSources.network,
      createdAt: webhookSources.createdAt,
      lastUsedAt: webhookSources.lastUsedAt,
      revokedAt: webhookSources.revokedAt,
    })
    .from(webhookSources)
    .orderBy(asc(webhookSources.id));
}

export async function revokeWebhookSource(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin');
  const [row] = await ctx.db
    .update(webhookSources)
    .set({ revokedAt: ctx.clock.now() })
    .where(and(eq(webhookSources.id, id), isNull(webhookSources.revokedAt)))
    .returning();
  if (!row) throw notFound('Источник заявок');
}
