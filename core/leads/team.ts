import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { leads, users, works } from '../db/schema/index.js';
import { forbidden } from '../errors.js';

export interface TeamMemberLoad {
  userId: number | null;
  /** null for leads nobody is responsible for */
  name: string | null;
  openLeads: number;
  /** open leads whose client wrote last and got no answer yet */
  awaitingReply: number;
  overdueWorks: number;
}

export interface TeamOverview {
  members: TeamMemberLoad[];
  /** the oldest unanswered chats first */
  awaiting: { leadId: number; title: string; responsibleId: number | null; responsibleName: string | null }[];
}

/** The direction of the newest message in a lead's conversations ('in': the client wrote last). */
const lastDirection = sql`(SELECT m.direction FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE cv.lead_id = ${leads.id} ORDER BY m.at DESC, m.id DESC LIMIT 1)`;

/**
 * The head's view of the team (R25 `/team`): per person, their open leads, the chats waiting for
 * an answer and the overdue works; plus the unanswered leads themselves. Heads and admins only.
 */
export async function teamOverview(ctx: ServiceContext, opts: { awaitingLimit?: number } = {}): Promise<TeamOverview> {
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager') throw forbidden('Команда доступна руководителю');
  if (ctx.actor.kind === 'apiKey') throw forbidden();
  const open = inArray(leads.status, ['new', 'in_progress']);
  const openRows = await ctx.db.select({ uid: leads.responsibleId, n: sql<number>`count(*)::int` }).from(leads).where(open).groupBy(leads.responsibleId);
  const waitingRows = await ctx.db
    .select({ uid: leads.responsibleId, n: sql<number>`count(*)::int` })
    .from(leads)
    .where(and(open, sql`${lastDirection} = 'in'`))
    .groupBy(leads.responsibleId);
  const overdueRows = await ctx.db
    .select({ uid: works.responsibleId, n: sql<number>`count(*)::int` })
    .from(works)
    .where(and(eq(works.status, 'planned'), lt(works.deadline, ctx.clock.now())))
    .groupBy(works.responsibleId);
  const people = await ctx.db.select({ id: users.id, name: users.name, role: users.role, active: users.active }).from(users).orderBy(asc(users.name), asc(users.id));
  const count = (rows: { uid: number | null; n: number }[], uid: number | null) => rows.find((r) => r.uid === uid)?.n ?? 0;
  const members: TeamMemberLoad[] = [];
  for (const p of people) {
    const m = { userId: p.id, name: p.name, openLeads: count(openRows, p.id), awaitingReply: count(waitingRows, p.id), overdueWorks: count(overdueRows, p.id) };
    // every active manager is listed (an idle one too); others only when something is theirs
    if ((p.active && p.role === 'manager') || m.openLeads || m.awaitingReply || m.overdueWorks) members.push(m);
  }
  const unassigned = { userId: null, name: null, openLeads: count(openRows, null), awaitingReply: count(waitingRows, null), overdueWorks: 0 };
  if (unassigned.openLeads) members.push(unassigned);
  const awaiting = await ctx.db
    .select({ leadId: leads.id, title: leads.title, responsibleId: leads.responsibleId, responsibleName: users.name })
    .from(leads)
    .leftJoin(users, eq(users.id, leads.responsibleId))
    .where(and(open, sql`${lastDirection} = 'in'`))
    .orderBy(asc(leads.createdAt), asc(leads.id))
    .limit(opts.awaitingLimit ?? 10);
  return { members, awaiting };
}
