import { eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { users } from '../db/schema/index.js';
import { conflict, forbidden } from '../errors.js';
import { audit } from '../shared/audit.js';
import { requireRole } from '../access/scope.js';
import { getUser } from './users.js';

/**
 * Deletes a user who never did anything in the CRM. Anyone with clients, leads, deals, works,
 * plans or a trail in the audit log is refused with the counts: deactivate them instead, so the
 * history keeps its author.
 */
export async function deleteUser(ctx: ServiceContext, userId: number): Promise<void> {
  requireRole(ctx, 'admin');
  if (ctx.actor.kind === 'user' && ctx.actor.userId === userId) throw forbidden('Нельзя удалить самого себя');
  const user = await getUser(ctx, userId);
  const rows = await ctx.db.execute(sql`SELECT
      (SELECT count(*) FROM counterparties WHERE responsible_id = ${userId})::int AS counterparties,
      (SELECT count(*) FROM leads WHERE responsible_id = ${userId} OR created_by = ${userId})::int AS leads,
      (SELECT count(*) FROM deals WHERE responsible_id = ${userId} OR created_by = ${userId})::int AS deals,
      (SELECT count(*) FROM works WHERE responsible_id = ${userId} OR created_by = ${userId})::int AS works,
      (SELECT count(*) FROM plans WHERE user_id = ${userId})::int AS plans,
      (SELECT count(*) FROM audit_log WHERE actor_user_id = ${userId})::int AS actions`);
  const list = (Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows) as Record<string, number | string>[];
  const used = Object.entries(list[0] ?? {}).filter(([, n]) => Number(n) > 0);
  if (used.length) {
    const names: Record<string, string> = { counterparties: 'контрагенты', leads: 'лиды', deals: 'сделки', works: 'работы', plans: 'планы', actions: 'действия в журнале' };
    throw conflict(`Пользователь ${user.name} уже работал в CRM (${used.map(([k, n]) => `${names[k]}: ${n}`).join(', ')}). Отключите его вместо удаления`);
  }
  try {
    await ctx.db.delete(users).where(eq(users.id, userId));
  } catch {
    // another table still points at the user (a message, a call, a letter…)
    throw conflict(`Пользователь ${user.name} упоминается в истории CRM. Отключите его вместо удаления`);
  }
  await audit(ctx, 'delete', 'user', userId);
}
