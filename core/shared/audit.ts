import { historyEvents, auditLog } from '../db/schema/index.js';
import { actorLabel, actorUserId, type ServiceContext } from '../context.js';

type EntityType = (typeof historyEvents.$inferInsert)['entityType'];

/** Adds an event to a record's timeline (created, status changed, merged…). */
export async function recordHistory(
  ctx: ServiceContext,
  entityType: EntityType,
  entityId: number,
  kind: string,
  summary: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  await ctx.db.insert(historyEvents).values({
    entityType,
    entityId,
    kind,
    summary,
    data,
    actorUserId: actorUserId(ctx.actor),
    actorLabel: actorLabel(ctx.actor),
    at: ctx.clock.now(),
  });
}

/** Fields that differ between two versions of a row, for the audit trail. Secrets are never passed here. */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after)) {
    const a = jsonable(before[key]);
    const b = jsonable(after[key]);
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[key] = { from: a ?? null, to: b ?? null };
  }
  return changes;
}

const jsonable = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v);

/** One row of "who changed what". */
export async function audit(
  ctx: ServiceContext,
  action: string,
  entityType: EntityType,
  entityId: number,
  changes: Record<string, { from: unknown; to: unknown }> = {},
): Promise<void> {
  await ctx.db.insert(auditLog).values({
    actorUserId: actorUserId(ctx.actor),
    actorLabel: actorLabel(ctx.actor),
    action,
    entityType,
    entityId,
    changes,
    at: ctx.clock.now(),
  });
}

/** For a created row: every given field from null. */
export const created = (row: Record<string, unknown>) => diff({}, row);
