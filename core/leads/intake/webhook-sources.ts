import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../../context.js';
import { webhookSources } from '../../db/schema/index.js';
import { forbidden, notFound, ServiceError } from '../../errors.js';
import { requireRole } from '../../access/scope.js';
import { parseInput } from '../../shared/input.js';

export type WebhookSource = typeof webhookSources.$inferSelect;
export type WebhookSourceKind = WebhookSource['kind'];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const pathSegment: Record<WebhookSourceKind, string> = { tilda: 'tilda', form: 'forms', vk: 'vk' };
export const webhookPath = (kind: WebhookSourceKind, token: string) => `/webhooks/${pathSegment[kind]}/${token}`;

/** `123`, `-123`, `club123`, `public123` or `https://vk.com/club123`: how a community id is written in VK's settings and links. */
const vkGroupIdField = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const m = /^(?:(?:https?:\/\/)?(?:m\.)?vk\.com\/)?(?:club|public|-)?(\d{1,15})\/?$/i.exec(String(v).trim());
  const id = m ? Number(m[1]) : 0;
  if (!id) ctx.addIssue({ code: 'custom', message: 'номер сообщества ВКонтакте: число (например 123456) или ссылка vk.com/club123456' });
  return id;
});

const sourceInput = z
  .object({
    kind: z.enum(['tilda', 'form', 'vk'], 'вид: tilda, form или vk'),
    name: z.string().trim().min(1, 'укажите название').max(200),
    network: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9_.-]{1,50}$/, 'латиницей, например vk')
      .optional(),
    confirmation: z
      .string()
      .trim()
      .regex(/^\S{1,100}$/, 'строка из настроек Callback API, без пробелов')
      .optional(),
    secret: z
      .string()
      .trim()
      .regex(/^\S{1,100}$/, 'секретный ключ из настроек Callback API, без пробелов')
      .optional(),
    groupId: vkGroupIdField.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.kind !== 'vk') return;
    if (!v.confirmation) ctx.addIssue({ code: 'custom', path: ['confirmation'], message: 'укажите строку, которую должен вернуть сервер' });
    if (!v.secret) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'укажите секретный ключ' });
    if (v.groupId === undefined) ctx.addIssue({ code: 'custom', path: ['groupId'], message: 'укажите номер сообщества' });
  });

/**
 * A form builder or social network allowed to post leads. The token in its URL is its secret:
 * returned once, stored as a hash. A `vk` source is one community's Callback API server: it keeps
 * the community id, the confirmation string VK asks for, and the hash of the secret key.
 */
export async function createWebhookSource(
  ctx: ServiceContext,
  input: {
    kind: string;
    name: string;
    network?: string | undefined;
    confirmation?: string | undefined;
    secret?: string | undefined;
    groupId?: string | number | undefined;
  },
): Promise<{ id: number; token: string; path: string }> {
  requireRole(ctx, 'admin');
  const data = parseInput(sourceInput, input);
  const vk = data.kind === 'vk';
  const token = randomBytes(24).toString('base64url');
  const [row] = await ctx.db
    .insert(webhookSources)
    .values({
      kind: data.kind,
      name: data.name,
      network: vk ? 'vk' : (data.network ?? null),
      tokenHash: sha256(token),
      vkGroupId: vk ? data.groupId! : null,
      vkConfirmation: vk ? data.confirmation! : null,
      vkSecretHash: vk ? sha256(data.secret!) : null,
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

/**
 * The VK source a Callback API request is for: the URL token finds it, then the event must carry
 * the community's secret key and its group id. A refused request writes nothing, not even the
 * source's last use.
 */
export async function authenticateVkSource(ctx: ServiceContext, token: string, event: { groupId: number; secret?: string | undefined }): Promise<WebhookSource> {
  const [source] =
    token && token.length <= 200
      ? await ctx.db
          .select()
          .from(webhookSources)
          .where(and(eq(webhookSources.tokenHash, sha256(token)), eq(webhookSources.kind, 'vk'), isNull(webhookSources.revokedAt)))
      : [];
  if (!source) throw new ServiceError('unauthenticated', 'Неизвестный или отозванный адрес вебхука');
  if (!sameSecret(event.secret, source.vkSecretHash)) throw forbidden('Неверный секретный ключ');
  if (source.vkGroupId !== event.groupId) throw forbidden('События этого сообщества ВКонтакте сюда не принимаются');
  await ctx.db.update(webhookSources).set({ lastUsedAt: ctx.clock.now() }).where(eq(webhookSources.id, source.id));
  return source;
}

/** Compares hashes, so the time taken says nothing about how much of the secret was right. */
function sameSecret(given: string | undefined, storedHash: string | null): boolean {
  if (!given || !storedHash) return false;
  const a = Buffer.from(sha256(given), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function listWebhookSources(ctx: ServiceContext) {
  requireRole(ctx, 'admin');
  return ctx.db
    .select({
      id: webhookSources.id,
      kind: webhookSources.kind,
      name: webhookSources.name,
      network: webhookSources.network,
      vkGroupId: webhookSources.vkGroupId,
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
