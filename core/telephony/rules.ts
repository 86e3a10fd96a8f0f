import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { callRuleMembers, callRules, counterparties, phoneLines, userSegments, users } from '../db/schema/index.js';
import { invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, diff } from '../shared/audit.js';
import { requireRole } from '../access/scope.js';
import { pickResponsible } from '../leads/routing.js';
import { callRuleTargetLabels, type CallRuleTarget } from './labels.js';

/** «Прием звонков IP»: one rule, with the users of its queue. */
export type CallRule = typeof callRules.$inferSelect & { memberIds: number[] };
export interface CallRuleInput {
  name: string;
  lineId?: number | null | undefined;
  timeFrom?: string | null | undefined;
  timeTo?: string | null | undefined;
  target: CallRuleTarget;
  targetUserId?: number | null | undefined;
  memberIds?: number[] | undefined;
  active?: boolean | undefined;
}

const hhmm = /^([01]\d|2[0-3]):([0-5]\d)$/;
const time = z
  .string()
  .trim()
  .nullish()
  .transform((s, c) => {
    if (!s) return null;
    // «9:00» is what people type; it is kept as «09:00»
    const padded = /^\d:\d\d$/.test(s) ? '0' + s : s;
    if (!hhmm.test(padded)) {
      c.addIssue({ code: 'custom', message: 'время в формате ЧЧ:ММ, например 09:00' });
      return z.NEVER;
    }
    return padded;
  });
const optionalId = z.coerce.number().int().positive().max(2_147_483_647).nullish().transform((v) => v ?? null);

const ruleInput = z
  .object({
    name: z.string('укажите название').trim().min(1, 'укажите название').max(200, 'название не длиннее 200 символов'),
    lineId: optionalId,
    timeFrom: time,
    timeTo: time,
    target: z.enum(Object.keys(callRuleTargetLabels) as [CallRuleTarget, ...CallRuleTarget[]], 'выберите, кому отдавать звонок'),
    targetUserId: optionalId,
    memberIds: z.array(z.coerce.number().int().positive().max(2_147_483_647)).optional().default([]),
    active: z.boolean().optional().default(true),
  })
  .superRefine((r, c) => {
    if ((r.timeFrom === null) !== (r.timeTo === null)) {
      c.addIssue({ code: 'custom', path: [r.timeFrom === null ? 'timeFrom' : 'timeTo'], message: 'укажите и начало, и конец часов (или оставьте оба пустыми)' });
    } else if (r.timeFrom !== null && r.timeFrom === r.timeTo) {
      c.addIssue({ code: 'custom', path: ['timeTo'], message: 'конец совпадает с началом: для круглых суток оставьте оба поля пустыми' });
    }
    if (r.target === 'user' && r.targetUserId === null) c.addIssue({ code: 'custom', path: ['targetUserId'], message: 'выберите сотрудника' });
    if (r.target === 'queue' && r.memberIds.length === 0) c.addIssue({ code: 'custom', path: ['memberIds'], message: 'выберите сотрудников очереди' });
  })
  .transform((r) => ({
    ...r,
    // what the target does not use is not kept
    targetUserId: r.target === 'user' ? r.targetUserId : null,
    memberIds: r.target === 'queue' ? [...new Set(r.memberIds)] : [],
  }));
type RuleData = z.output<typeof ruleInput>;

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** Positions change under one lock: two moves or adds at once do not give two rules one place. */
const lockOrder = (ctx: ServiceContext) => ctx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended('call_rules:order', 0))`);

async function withMembers(ctx: ServiceContext, rows: (typeof callRules.$inferSelect)[]): Promise<CallRule[]> {
  if (!rows.length) return [];
  const members = await ctx.db
    .select({ ruleId: callRuleMembers.ruleId, userId: callRuleMembers.userId })
    .from(callRuleMembers)
    .innerJoin(users, eq(users.id, callRuleMembers.userId))
    .where(inArray(callRuleMembers.ruleId, rows.map((r) => r.id)))
    .orderBy(asc(users.name), asc(users.id));
  return rows.map((r) => ({ ...r, memberIds: members.filter((m) => m.ruleId === r.id).map((m) => m.userId) }));
}

export async function listCallRules(ctx: ServiceContext): Promise<CallRule[]> {
  requireRole(ctx, 'admin', 'head');
  const rows = await ctx.db.select().from(callRules).orderBy(asc(callRules.position), asc(callRules.id));
  return withMembers(ctx, rows);
}

export async function getCallRule(ctx: ServiceContext, id: number): Promise<CallRule> {
  requireRole(ctx, 'admin', 'head');
  const [row] = validId(id) ? await ctx.db.select().from(callRules).where(eq(callRules.id, id)) : [];
  if (!row) throw notFound('Правило');
  return (await withMembers(ctx, [row]))[0]!;
}

/** The line, the user and the queue's members a rule names must exist. */
async function checkRefs(ctx: ServiceContext, data: RuleData): Promise<void> {
  const problems: Record<string, string> = {};
  if (data.lineId !== null && !(await ctx.db.select({ id: phoneLines.id }).from(phoneLines).where(eq(phoneLines.id, data.lineId))).length) {
    problems.lineId = 'нет такой линии';
  }
  const ids = [...(data.targetUserId ? [data.targetUserId] : []), ...data.memberIds];
  if (ids.length) {
    const found = new Set((await ctx.db.select({ id: users.id }).from(users).where(inArray(users.id, ids))).map((u) => u.id));
    if (data.targetUserId && !found.has(data.targetUserId)) problems.targetUserId = 'нет такого сотрудника';
    if (data.memberIds.some((id) => !found.has(id))) problems.memberIds = 'нет такого сотрудника';
  }
  if (Object.keys(problems).length) throw invalid(problems);
}

const fieldsOf = (d: RuleData) => ({
  name: d.name,
  lineId: d.lineId,
  timeFrom: d.timeFrom,
  timeTo: d.timeTo,
  target: d.target,
  targetUserId: d.targetUserId,
  active: d.active,
});

async function setMembers(ctx: ServiceContext, ruleId: number, memberIds: number[]): Promise<void> {
  await ctx.db.delete(callRuleMembers).where(eq(callRuleMembers.ruleId, ruleId));
  if (memberIds.length) await ctx.db.insert(callRuleMembers).values(memberIds.map((userId) => ({ ruleId, userId })));
}

/** A new rule goes last: it is tried after the ones already there. */
export async function createCallRule(ctx: ServiceContext, input: CallRuleInput): Promise<CallRule> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(ruleInput, input);
  return inTransaction(ctx, async (tx) => {
    await checkRefs(tx, data);
    await lockOrder(tx);
    const [last] = await tx.db.select({ p: sql<number>`coalesce(max(${callRules.position}), 0)::int` }).from(callRules);
    const [row] = await tx.db
      .insert(callRules)
      .values({ ...fieldsOf(data), position: (last?.p ?? 0) + 1, createdAt: tx.clock.now() })
      .returning();
    await setMembers(tx, row!.id, data.memberIds);
    await audit(tx, 'create', 'call_rule', row!.id, diff({}, { ...fieldsOf(data), memberIds: data.memberIds ?? [] }));
    return getCallRule(tx, row!.id);
  });
}

export async function updateCallRule(ctx: ServiceContext, id: number, input: CallRuleInput): Promise<CallRule> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(ruleInput, input);
  return inTransaction(ctx, async (tx) => {
    const before = await getCallRule(tx, id);
    await checkRefs(tx, data);
    await tx.db.update(callRules).set(fieldsOf(data)).where(eq(callRules.id, id));
    await setMembers(tx, id, data.memberIds);
    await audit(tx, 'update', 'call_rule', id, diff(before, { ...fieldsOf(data), memberIds: data.memberIds ?? [] }));
    return getCallRule(tx, id);
  });
}

export async function deleteCallRule(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [row] = validId(id) ? await ctx.db.delete(callRules).where(eq(callRules.id, id)).returning({ id: callRules.id, name: callRules.name }) : [];
  if (!row) throw notFound('Правило');
  await audit(ctx, 'delete', 'call_rule', id, diff({ name: row.name }, {}));
}

/** Swaps the rule with its neighbour above or below; at the top (or bottom) nothing changes. */
export async function moveCallRule(ctx: ServiceContext, id: number, dir: 'up' | 'down'): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  await inTransaction(ctx, async (tx) => {
    await lockOrder(tx);
    const rule = await getCallRule(tx, id);
    const [other] = await tx.db
      .select({ id: callRules.id, position: callRules.position })
      .from(callRules)
      .where(
        dir === 'up'
          ? sql`(${callRules.position}, ${callRules.id}) < (${rule.position}, ${rule.id})`
          : sql`(${callRules.position}, ${callRules.id}) > (${rule.position}, ${rule.id})`,
      )
      .orderBy(dir === 'up' ? desc(callRules.position) : asc(callRules.position), dir === 'up' ? desc(callRules.id) : asc(callRules.id))
      .limit(1);
    if (!other) return;
    // equal positions (never made here, but harmless) are split so the swap moves the rule
    const [mine, theirs] = other.position === rule.position ? (dir === 'up' ? [rule.position - 1, rule.position] : [rule.position + 1, rule.position]) : [other.position, rule.position];
    await tx.db.update(callRules).set({ position: mine }).where(eq(callRules.id, rule.id));
    await tx.db.update(callRules).set({ position: theirs }).where(eq(callRules.id, other.id));
    await audit(tx, 'update', 'call_rule', rule.id, { position: { from: rule.position, to: mine } });
  });
}

/** The call to give: its line, the client's counterparty and responsible (open lead/deal's, else the counterparty's), when it rings. */
export interface CallToRoute {
  lineId: number | null;
  counterpartyId: number | null;
  responsibleId: number | null;
  at: Date;
  /** the team's time zone (config TIME_ZONE): rules' hours are read in it */
  timeZone: string;
}

const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The wall-clock minute of the day of an instant in a zone. */
function minuteOfDay(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return get('hour') * 60 + get('minute');
}

/** Whether a rule's hours hold at `at`: from included, to excluded; from > to spans midnight; none: always. */
export function withinHours(rule: { timeFrom: string | null; timeTo: string | null }, at: Date, timeZone: string): boolean {
  if (!rule.timeFrom || !rule.timeTo) return true;
  const m = minuteOfDay(at, timeZone);
  const from = minutes(rule.timeFrom);
  const to = minutes(rule.timeTo);
  return from < to ? m >= from && m < to : m >= from || m < to;
}

/** Among candidates, the one whose last call is oldest (never called: first), so calls go round in turn. */
const lastCallOldest = sql`(SELECT max(c.at) FROM calls c WHERE c.user_id = ${users.id}) ASC NULLS FIRST`;
const linkedFirst = sql`(${users.telegramId} IS NULL)`;

async function firstActive(ctx: ServiceContext, where: SQL, order: SQL[]): Promise<number | null> {
  const [u] = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.active, true), where))
    .orderBy(...order, asc(users.id))
    .limit(1);
  return u?.id ?? null;
}

/** The user a rule gives the call to, or null when it has nobody active to give it to. */
async function yieldOf(ctx: ServiceContext, rule: CallRule, call: CallToRoute): Promise<number | null> {
  switch (rule.target) {
    case 'responsible':
      return call.responsibleId ? firstActive(ctx, eq(users.id, call.responsibleId), []) : null;
    case 'user':
      return rule.targetUserId ? firstActive(ctx, eq(users.id, rule.targetUserId), []) : null;
    case 'segment': {
      if (!call.counterpartyId) return null;
      const [cp] = await ctx.db.select({ segmentId: counterparties.segmentId }).from(counterparties).where(eq(counterparties.id, call.counterpartyId));
      if (!cp?.segmentId) return null;
      // whoever «Менеджер по работе с клиентами» puts on the segment, as leads are given; one the bot can tell first
      return firstActive(ctx, sql`${users.id} IN (SELECT ${userSegments.userId} FROM ${userSegments} WHERE ${userSegments.segmentId} = ${cp.segmentId})`, [linkedFirst, lastCallOldest]);
    }
    case 'queue':
      if (!rule.memberIds.length) return null;
      return firstActive(ctx, inArray(users.id, rule.memberIds), [lastCallOldest]);
    case 'duty':
      return firstActive(ctx, and(eq(users.role, 'manager'), eq(users.onDuty, true))!, [lastCallOldest]);
  }
}

/**
 * «Прием звонков IP»: the active rules by position; the first whose line and hours match and that
 * yields an active user wins. None: the client's responsible when active, else the leads' own routing
 * (core/leads/routing.ts pickResponsible). «In turn» reads the users' last calls (calls.user_id): the
 * caller (recordCallEvent) routes incoming calls one at a time, so a call ringing at the same instant
 * sees whom the one before went to.
 */
export async function chooseCallUser(ctx: ServiceContext, call: CallToRoute): Promise<{ userId: number | null; ruleId: number | null }> {
  const rows = await ctx.db.select().from(callRules).where(eq(callRules.active, true)).orderBy(asc(callRules.position), asc(callRules.id));
  const rules = await withMembers(ctx, rows);
  for (const rule of rules) {
    if (rule.lineId !== null && rule.lineId !== call.lineId) continue;
    if (!withinHours(rule, call.at, call.timeZone)) continue;
    const userId = await yieldOf(ctx, rule, call);
    if (userId !== null) return { userId, ruleId: rule.id };
  }
  // as a lead would go: the client's responsible (a new caller's lead was just given to someone), else the leads' routing
  const responsible = call.responsibleId ? await firstActive(ctx, eq(users.id, call.responsibleId), []) : null;
  return { userId: responsible ?? (await pickResponsible(ctx, call.counterpartyId)), ruleId: null };
}
