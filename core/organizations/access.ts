import type { ServiceContext } from '../context.js';
import { requireRole, requireUser } from '../access/scope.js';

/** Every signed-in user reads «Наши организации»: managers make documents from a deal. */
export function requireReader(ctx: ServiceContext): void {
  if (ctx.actor.kind === 'system') return;
  requireUser(ctx);
}

/** Requisites are kept by the admin and the head of sales. */
export const requireKeeper = (ctx: ServiceContext) => requireRole(ctx, 'admin', 'head');
