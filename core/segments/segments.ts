import { asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { counterparties, segments, userSegments, users } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created } from '../shared/audit.js';
import { requireRole } from '../access/scope.js';

export type Segment = typeof segments.$inferSelect;

export async function createSegment(ctx: ServiceContext, input: { name: string; description?: string }): Promise<Segment> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(z.object({ name: z.string().trim().min(1, 'укажите название'), description: z.string().trim().optional() }), input);
  const [row] = await ctx.db.insert(segments).values({ ...data, createdAt: ctx.clock.now() }).onConflictDoNothing().returning();
  if (!row) throw conflict(`Сегмент «${data.name}» уже есть`);
  await audit(ctx, 'create', 'segment', row.id, created(data));
  return row;
}

export async function listSegments(ctx: ServiceContext): Promise<Segment[]> {
  return ctx.db.select().from(segments).orderBy(asc(segments.name));
}

export async function getSegment(ctx: ServiceContext, id: number): Promise<Segment> {
  const [row] = await ctx.db.select().from(segments).where(eq(segments.id, id));
  if (!row) throw notFound('Сегмент');
  return row;
}

export async function renameSegment(ctx: ServiceContext, id: number, name: string): Promise<Segment> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(z.object({ name: z.string().trim().min(1, 'укажите название') }), { name });
  const before = await getSegment(ctx, id);
  const [dup] = await ctx.db.select({ id: segments.id }).from(segments).where(eq(segments.name, data.name));
  if (dup && dup.id !== id) throw conflict(`Сегмент «${data.name}» уже есть`);
  const [row] = await ctx.db.update(segments).set({ name: data.name }).where(eq(segments.id, id)).returning();
  await audit(ctx, 'update', 'segment', id, { name: { from: before.name, to: data.name } });
  return row!;
}

/** Refused while counterparties or managers still use the segment. */
export async function deleteSegment(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  await getSegment(ctx, id);
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(counterparties).where(eq(counterparties.segmentId, id));
  const [assigned] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(userSegments).where(eq(userSegments.segmentId, id));
  if (used!.n > 0 || assigned!.n > 0) {
    throw conflict(`Сегмент используется: контрагентов ${used!.n}, менеджеров ${assigned!.n}`);
  }
  await ctx.db.delete(segments).where(eq(segments.id, id));
  await audit(ctx, 'delete', 'segment', id);
}

/** «Менеджер по работе с клиентами»: replaces the set of segments a user works. */
export async function setUserSegments(ctx: ServiceContext, userId: number, segmentIds: number[]): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [user] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) throw notFound('Пользователь');
  const ids = [...new Set(segmentIds)];
  if (ids.length) {
    const found = await ctx.db.select({ id: segments.id }).from(segments).where(inArray(segments.id, ids));
    if (found.length !== ids.length) throw invalid({ segmentIds: 'нет такого сегмента' });
  }
  const before = await getUserSegmentIds(ctx, userId);
  await ctx.db.transaction(async (tx) => {
    await tx.delete(userSegments).where(eq(userSegments.userId, userId));
    if (ids.length) await tx.insert(userSegments).values(ids.map((segmentId) => ({ userId, segmentId })));
  });
  await audit(ctx, 'set_segments', 'user', userId, { segmentIds: { from: before, to: ids.sort((a, b) => a - b) } });
}

export async function getUserSegmentIds(ctx: ServiceContext, userId: number): Promise<number[]> {
  const rows = await ctx.db.select({ id: userSegments.segmentId }).from(userSegments).where(eq(userSegments.userId, userId)).orderBy(asc(userSegments.segmentId));
  return rows.map((r) => r.id);
}

/** The reference book as a list: each manager with their segments. */
export async function listSegmentAssignments(ctx: ServiceContext) {
  return ctx.db
    .select({ userId: users.id, userName: users.name, segmentId: segments.id, segmentName: segments.name })
    .from(userSegments)
    .innerJoin(users, eq(users.id, userSegments.userId))
    .innerJoin(segments, eq(segments.id, userSegments.segmentId))
    .orderBy(asc(users.name), asc(segments.name));
}
