import { and, asc, desc, eq, gte, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { actorLabel, actorUserId, type ServiceContext } from '../context.js';
import { counterparties, segments, users } from '../db/schema/index.js';
import { forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff, recordHistory } from '../shared/audit.js';
import { emailsField, idField, kopecksField, optionalText, phonesField } from '../shared/fields.js';
import { counterpartyScope, requireRole } from '../access/scope.js';
import { innLengthFor, isValidInn, isValidKpp, isValidOgrn, ogrnLengthFor } from '../validation/russian-ids.js';
import { extensionsFor, formatPhoneWithExtension, normalizePhone, splitPhoneExtensions } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';

export type Counterparty = typeof counterparties.$inferSelect;
export type CounterpartyKind = Counterparty['kind'];

const baseFields = {
  kind: z.enum(['legal_entity', 'individual', 'sole_proprietor'], 'вид: legal_entity, individual или sole_proprietor'),
  name: z.string().trim().min(1, 'укажите наименование'),
  inn: optionalText,
  kpp: optionalText,
  ogrn: optionalText,
  address: optionalText,
  region: optionalText,
  industry: optionalText,
  headcount: z.coerce.number().int('целое число').min(0, 'не меньше 0').nullish(),
  capital: kopecksField.nullish(),
  phones: phonesField,
  emails: emailsField,
  segmentId: idField.nullish(),
  responsibleId: idField.nullish(),
  isActiveClient: z.boolean().default(false),
  comment: optionalText,
};

/** Checks that depend on the kind: INN/OGRN length and checksum, KPP only for organisations. */
export function checkRequisites(
  v: { kind: CounterpartyKind; inn?: string | null; kpp?: string | null; ogrn?: string | null },
  ctx: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
): void {
  if (v.inn) {
    const len = innLengthFor(v.kind);
    if (!/^\d+$/.test(v.inn) || v.inn.length !== len) ctx.addIssue({ code: 'custom', path: ['inn'], message: `ИНН: ${len} цифр` });
    else if (!isValidInn(v.inn)) ctx.addIssue({ code: 'custom', path: ['inn'], message: 'ИНН: неверная контрольная сумма' });
  }
  if (v.ogrn) {
    const len = ogrnLengthFor(v.kind);
    const label = v.kind === 'legal_entity' ? 'ОГРН' : 'ОГРНИП';
    if (v.kind === 'individual') ctx.addIssue({ code: 'custom', path: ['ogrn'], message: 'у физического лица нет ОГРН' });
    else if (!/^\d+$/.test(v.ogrn) || v.ogrn.length !== len) ctx.addIssue({ code: 'custom', path: ['ogrn'], message: `${label}: ${len} цифр` });
    else if (!isValidOgrn(v.ogrn)) ctx.addIssue({ code: 'custom', path: ['ogrn'], message: `${label}: неверная контрольная сумма` });
  }
  if (v.kpp) {
    if (v.kind !== 'legal_entity') ctx.addIssue({ code: 'custom', path: ['kpp'], message: 'КПП бывает только у юридического лица' });
    else if (!isValidKpp(v.kpp)) ctx.addIssue({ code: 'custom', path: ['kpp'], message: 'КПП: 9 знаков' });
  }
}

export const counterpartyInput = z.object(baseFields);
export type CounterpartyInput = z.input<typeof counterpartyInput>;

/**
 * Validates a counterparty: field formats and the kind-dependent requisites together, so that
 * every problem is reported at once (zod would skip the refinement while other fields fail).
 */
export function parseCounterparty(input: unknown, keepExtensions: Record<string, string> = {}): z.infer<typeof counterpartyInput> & { phoneExtensions: Record<string, string> } {
  const fields: Record<string, string> = {};
  // «… доб. 12»: the number is stored E.164 in phones, the extension beside it
  const split = splitPhoneExtensions((input as { phones?: unknown } | null)?.phones, keepExtensions);
  const r = counterpartyInput.safeParse(input && typeof input === 'object' ? { ...input, phones: split.phones } : input);
  if (!r.success) for (const i of r.error.issues) fields[i.path.join('.') || '_'] ??= i.message;
  const raw = (input ?? {}) as Record<string, unknown>;
  const kind = r.success ? r.data.kind : raw.kind;
  if (kind === 'legal_entity' || kind === 'individual' || kind === 'sole_proprietor') {
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
    checkRequisites(
      { kind, inn: text(raw.inn), kpp: text(raw.kpp), ogrn: text(raw.ogrn) },
      { addIssue: (i) => void (fields[i.path.join('.')] ??= i.message) },
    );
  }
  if (Object.keys(fields).length || !r.success) throw invalid(fields);
  return { ...r.data, phoneExtensions: extensionsFor(r.data.phones, split.extensions) };
}

/** «+7 495 123 45 67 доб. 12, +7 916 …»: a record's phones as a history line shows them. */
export const phonesText = (phones: string[], extensions: Record<string, string>) =>
  phones.map((p) => formatPhoneWithExtension(p, extensions[p])).join(', ') || 'нет';

async function checkRefs(ctx: ServiceContext, data: { segmentId?: number | null; responsibleId?: number | null }) {
  if (data.segmentId) {
    const [s] = await ctx.db.select({ id: segments.id }).from(segments).where(eq(segments.id, data.segmentId));
    if (!s) throw invalid({ segmentId: 'нет такого сегмента' });
  }
  if (data.responsibleId) {
    const [u] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, data.responsibleId));
    if (!u) throw invalid({ responsibleId: 'нет такого пользователя' });
  }
}

/**
 * One INN, one counterparty: a second one with the same INN is refused and the first one named
 * (or, outside the actor's segments, only said to exist). Branches of one company share the INN
 * and differ in KPP, so a legal entity with another KPP is allowed.
 */
async function requireUniqueInn(ctx: ServiceContext, data: { inn?: string | null | undefined; kpp?: string | null | undefined }, exceptId?: number): Promise<void> {
  if (!data.inn) return;
  const scope = counterpartyScope(ctx);
  const [dup] = await ctx.db
    .select({ id: counterparties.id, name: counterparties.name, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(counterparties)
    .where(
      and(
        eq(counterparties.inn, data.inn),
        isNull(counterparties.mergedIntoId),
        exceptId ? sql`${counterparties.id} <> ${exceptId}` : undefined,
        data.kpp ? sql`(${counterparties.kpp} IS NULL OR ${counterparties.kpp} = ${data.kpp})` : undefined,
      ),
    )
    .orderBy(asc(counterparties.id))
    .limit(1);
  if (!dup) return;
  throw invalid(
    { inn: dup.visible ? `уже есть контрагент №${dup.id} ${dup.name} с этим ИНН` : 'контрагент с этим ИНН уже есть в базе, в чужом сегменте: обратитесь к руководителю' },
    'Контрагент с таким ИНН уже есть',
  );
}

export async function createCounterparty(ctx: ServiceContext, input: CounterpartyInput): Promise<Counterparty> {
  const data = parseCounterparty(input);
  await checkRefs(ctx, data);
  await requireUniqueInn(ctx, data);
  const { capital, ...rest } = data;
  // a manager creating a client without a responsible becomes responsible, so it stays visible to them
  const responsibleId = rest.responsibleId ?? (ctx.actor.kind === 'user' && ctx.actor.role === 'manager' ? ctx.actor.userId : null);
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(counterparties)
    .values({ ...rest, responsibleId, capitalKopecks: capital ?? null, createdAt: now, updatedAt: now })
    .returning();
  await audit(ctx, 'create', 'counterparty', row!.id, created({ ...rest, capital: capital ?? null }));
  await recordHistory(ctx, 'counterparty', row!.id, 'created', 'Контрагент создан');
  return row!;
}

/** Reads one counterparty the actor may see; `forbidden` when it exists outside their scope. */
export async function getCounterparty(ctx: ServiceContext, id: number): Promise<Counterparty> {
  const scope = counterpartyScope(ctx);
  const [row] = await ctx.db
    .select({ c: counterparties, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(counterparties)
    .where(eq(counterparties.id, id));
  if (!row) throw notFound('Контрагент');
  // a merged-away id resolves to the survivor, whose access decides
  if (row.c.mergedIntoId) return getCounterparty(ctx, row.c.mergedIntoId);
  if (!row.visible) throw forbidden('Этот контрагент не в ваших сегментах');
  return row.c;
}

/**
 * Names for a page of rows that carry counterparty ids, in one query: a merged-away id shows its
 * survivor's name, and a counterparty the actor may not see is left out (the row shows its number).
 */
export async function counterpartyNames(ctx: ServiceContext, ids: (number | null | undefined)[]): Promise<Record<number, string>> {
  const wanted = [...new Set(ids.filter((x): x is number => typeof x === 'number' && x > 0))];
  if (!wanted.length) return {};
  const rows = await ctx.db
    .select({ id: sql<number>`src.id`, name: counterparties.name })
    .from(sql`${counterparties} src`)
    .innerJoin(counterparties, sql`${counterparties.id} = coalesce(src.merged_into_id, src.id)`)
    .where(and(sql`src.id = ANY(${`{${wanted.join(',')}}`}::int[])`, counterpartyScope(ctx)));
  return Object.fromEntries(rows.map((r) => [Number(r.id), r.name]));
}

export async function updateCounterparty(ctx: ServiceContext, id: number, patch: Partial<CounterpartyInput>): Promise<Counterparty> {
  const before = await getCounterparty(ctx, id);
  const merged = {
    kind: before.kind,
    name: before.name,
    inn: before.inn,
    kpp: before.kpp,
    ogrn: before.ogrn,
    address: before.address,
    region: before.region,
    industry: before.industry,
    headcount: before.headcount,
    capital: before.capitalKopecks,
    phones: before.phones,
    emails: before.emails,
    segmentId: before.segmentId,
    responsibleId: before.responsibleId,
    isActiveClient: before.isActiveClient,
    comment: before.comment,
    ...patch,
  };
  const data = parseCounterparty(merged, before.phoneExtensions);
  await checkRefs(ctx, data);
  if (data.inn !== before.inn || data.kpp !== before.kpp) await requireUniqueInn(ctx, data, before.id);
  const { capital, ...rest } = data;
  const values = { ...rest, capitalKopecks: capital ?? null };
  const [after] = await ctx.db.update(counterparties).set({ ...values, updatedAt: ctx.clock.now() }).where(eq(counterparties.id, before.id)).returning();
  const changes = diff(before as unknown as Record<string, unknown>, values);
  if (Object.keys(changes).length) {
    await audit(ctx, 'update', 'counterparty', before.id, changes);
    if (changes.segmentId) await recordHistory(ctx, 'counterparty', before.id, 'segment_changed', 'Сегмент изменён', changes.segmentId);
    if (changes.responsibleId) await recordHistory(ctx, 'counterparty', before.id, 'responsible_changed', 'Ответственный изменён', changes.responsibleId);
    if (changes.phones || changes.phoneExtensions) {
      const from = phonesText(before.phones, before.phoneExtensions);
      const to = phonesText(values.phones, values.phoneExtensions);
      await recordHistory(ctx, 'counterparty', before.id, 'phones_changed', `Телефоны: ${from} → ${to}`, { from: before.phones, to: values.phones });
    }
    if (changes.emails) {
      await recordHistory(ctx, 'counterparty', before.id, 'emails_changed', `E-mail: ${before.emails.join(', ') || 'нет'} → ${values.emails.join(', ') || 'нет'}`, changes.emails);
    }
  }
  return after!;
}

/** Filters of the client base and of segmentation (R7). Ranges are inclusive. */
export const counterpartyFilterInput = z.object({
  text: z.string().trim().optional(),
  kind: z.enum(['legal_entity', 'individual', 'sole_proprietor']).optional(),
  headcountMin: z.coerce.number().int().optional(),
  headcountMax: z.coerce.number().int().optional(),
  capitalMin: kopecksField.optional(),
  capitalMax: kopecksField.optional(),
  industry: z.string().trim().optional(),
  region: z.string().trim().optional(),
  segmentId: z.union([idField, z.literal('none')]).optional(),
  responsibleId: idField.optional(),
  isActiveClient: z.boolean().optional(),
});
export type CounterpartyFilter = z.input<typeof counterpartyFilterInput>;

/**
 * Text search: INN by prefix, phone in any notation, e-mail exactly (the company's or one of its
 * contacts'), part of the name; and, for a
 * text that matches nothing as typed, names by similarity (typo tolerance: "Ромашкка" finds
 * «Ромашка»). Each way is its own indexed lookup, joined by UNION: an OR of them lets the planner
 * walk the whole table in id order hoping for an early match, which on a million rows takes
 * seconds when the text matches one client.
 */
export function counterpartyTextCondition(text: string, opts: { fuzzy: boolean }): SQL {
  const t = text.trim();
  const digits = t.replace(/\D/g, '');
  const ways: SQL[] = [];
  if (/^\d{4,12}$/.test(t)) ways.push(sql`SELECT cs.id FROM counterparties cs WHERE cs.inn LIKE ${t + '%'}`);
  const phone = digits.length >= 10 ? normalizePhone(t) : null;
  // a phone or an e-mail of the company, or of one of its people (the GIN index of each table)
  if (phone) {
    ways.push(sql`SELECT cs.id FROM counterparties cs WHERE cs.phones @> ARRAY[${phone}]::text[]`);
    ways.push(sql`SELECT ct.counterparty_id FROM contacts ct WHERE ct.phones @> ARRAY[${phone}]::text[] AND ct.counterparty_id IS NOT NULL AND ct.merged_into_id IS NULL`);
  }
  const email = t.includes('@') ? normalizeEmail(t) : null;
  if (email) {
    ways.push(sql`SELECT cs.id FROM counterparties cs WHERE cs.emails @> ARRAY[${email}]::text[]`);
    ways.push(sql`SELECT ct.counterparty_id FROM contacts ct WHERE ct.emails @> ARRAY[${email}]::text[] AND ct.counterparty_id IS NOT NULL AND ct.merged_into_id IS NULL`);
  }
  ways.push(sql`SELECT cs.id FROM counterparties cs WHERE cs.name ILIKE ${'%' + escapeLike(t) + '%'}`);
  if (opts.fuzzy && t.length >= 4) ways.push(sql`SELECT cs.id FROM counterparties cs WHERE cs.name % ${t}`);
  return sql`${counterparties.id} IN (${sql.join(ways, sql` UNION `)})`;
}

/**
 * The text condition for what the actor may see. Similarity is asked only when nothing matches
 * as typed: a word most names share («ООО», a brand in every row) makes the similarity lookup read
 * a good part of the index (2.7 s for 120,000 look-alikes in a million rows), and its look-alikes
 * would only bury the exact match.
 */
export async function counterpartyTextFor(ctx: ServiceContext, text: string): Promise<SQL> {
  const exact = counterpartyTextCondition(text, { fuzzy: false });
  const [hit] = await ctx.db
    .select({ id: counterparties.id })
    .from(counterparties)
    .where(and(exact, isNull(counterparties.mergedIntoId), counterpartyScope(ctx)))
    .limit(1);
  return hit ? exact : counterpartyTextCondition(text, { fuzzy: true });
}

export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);

export async function counterpartyFilterConditions(ctx: ServiceContext, filter: CounterpartyFilter): Promise<SQL[]> {
  const f = parseInput(counterpartyFilterInput, filter);
  const conds: (SQL | undefined)[] = [isNull(counterparties.mergedIntoId), counterpartyScope(ctx)];
  if (f.text) conds.push(await counterpartyTextFor(ctx, f.text));
  if (f.kind) conds.push(eq(counterparties.kind, f.kind));
  if (f.headcountMin !== undefined) conds.push(gte(counterparties.headcount, f.headcountMin));
  if (f.headcountMax !== undefined) conds.push(lte(counterparties.headcount, f.headcountMax));
  if (f.capitalMin !== undefined) conds.push(gte(counterparties.capitalKopecks, f.capitalMin));
  if (f.capitalMax !== undefined) conds.push(lte(counterparties.capitalKopecks, f.capitalMax));
  if (f.industry) conds.push(sql`lower(${counterparties.industry}) = lower(${f.industry})`);
  if (f.region) conds.push(sql`lower(${counterparties.region}) = lower(${f.region})`);
  if (f.segmentId === 'none') conds.push(isNull(counterparties.segmentId));
  else if (f.segmentId) conds.push(eq(counterparties.segmentId, f.segmentId));
  if (f.responsibleId) conds.push(eq(counterparties.responsibleId, f.responsibleId));
  if (f.isActiveClient !== undefined) conds.push(eq(counterparties.isActiveClient, f.isActiveClient));
  return conds.filter((c): c is SQL => c !== undefined);
}

const sortColumns = {
  name: counterparties.name,
  createdAt: counterparties.createdAt,
  headcount: counterparties.headcount,
  capital: counterparties.capitalKopecks,
  region: counterparties.region,
  id: counterparties.id,
} as const;

export type CounterpartySort = keyof typeof sortColumns;

/** A page of the client base; the total is counted only when asked (it costs a scan on big filters). */
export async function listCounterparties(
  ctx: ServiceContext,
  filter: CounterpartyFilter = {},
  opts: { limit?: number; offset?: number; sort?: CounterpartySort; desc?: boolean; withTotal?: boolean } = {},
): Promise<{ items: Counterparty[]; total?: number }> {
  const where = and(...(await counterpartyFilterConditions(ctx, filter)));
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const col = sortColumns[opts.sort ?? 'id'] ?? counterparties.id;
  const order = opts.desc ? [desc(col), desc(counterparties.id)] : [asc(col), asc(counterparties.id)];
  const items = await ctx.db.select().from(counterparties).where(where).orderBy(...order).limit(limit).offset(opts.offset ?? 0);
  if (!opts.withTotal) return { items };
  const [t] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(counterparties).where(where);
  return { items, total: t!.n };
}

export async function countCounterparties(ctx: ServiceContext, filter: CounterpartyFilter = {}): Promise<number> {
  const [t] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(counterparties).where(and(...(await counterpartyFilterConditions(ctx, filter))));
  return t!.n;
}

export type SegmentTarget = { ids: number[] } | { filter: CounterpartyFilter };

/** The rows a bulk segment assignment is about: the chosen ones or the filter's, live and visible to the actor. */
async function segmentTargetConditions(ctx: ServiceContext, target: SegmentTarget): Promise<SQL[]> {
  if ('ids' in target) {
    const scope = counterpartyScope(ctx);
    return [inArray(counterparties.id, target.ids.length ? target.ids : [-1]), isNull(counterparties.mergedIntoId), ...(scope ? [scope] : [])];
  }
  return counterpartyFilterConditions(ctx, target.filter);
}

export interface SegmentAssignmentPreview {
  /** the chosen clients the actor may see */
  total: number;
  /** how many would move, and out of which segment (most first) */
  leaving: { segmentId: number; name: string; count: number }[];
  /** without a segment now: they get the new one */
  withoutSegment: number;
  /** already in the target segment: nothing changes for them */
  alreadyThere: number;
}

/**
 * What «Назначить сегмент рынка» would do, before it is confirmed (R7): how many of the chosen
 * clients leave which segment, how many have none, how many are already there. One grouped count.
 */
export async function previewSegmentAssignment(ctx: ServiceContext, segmentId: number | null, target: SegmentTarget): Promise<SegmentAssignmentPreview> {
  requireRole(ctx, 'admin', 'head');
  const rows = await ctx.db
    .select({ segmentId: counterparties.segmentId, name: segments.name, n: sql<number>`count(*)::int` })
    .from(counterparties)
    .leftJoin(segments, eq(segments.id, counterparties.segmentId))
    .where(and(...(await segmentTargetConditions(ctx, target))))
    .groupBy(counterparties.segmentId, segments.name);
  const out: SegmentAssignmentPreview = { total: 0, leaving: [], withoutSegment: 0, alreadyThere: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    out.total += n;
    if (r.segmentId === null) out.withoutSegment += n;
    else if (r.segmentId === segmentId) out.alreadyThere += n;
    else out.leaving.push({ segmentId: r.segmentId, name: r.name ?? `№${r.segmentId}`, count: n });
  }
  out.leaving.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name, 'ru'));
  return out;
}

/**
 * «Назначить сегмент рынка» (R7): to the given rows, or to every row the filter matches, in one
 * statement that also writes each changed counterparty's history (from which segment to which).
 * Only rows the actor may see are touched; with `onlyWithoutSegment`, only those that have no
 * segment yet (nobody is moved out of another). Returns how many changed.
 */
export async function assignSegment(
  ctx: ServiceContext,
  segmentId: number | null,
  target: SegmentTarget,
  opts: { onlyWithoutSegment?: boolean } = {},
): Promise<number> {
  requireRole(ctx, 'admin', 'head');
  if (segmentId !== null) await checkRefs(ctx, { segmentId });
  const conds = await segmentTargetConditions(ctx, target);
  if (opts.onlyWithoutSegment) conds.push(isNull(counterparties.segmentId));
  const now = ctx.clock.now().toISOString();
  const changed = await ctx.db.execute(sql`
    WITH old AS (
      SELECT ${counterparties.id} AS id, ${counterparties.segmentId} AS before FROM ${counterparties}
      WHERE ${and(...conds, sql`${counterparties.segmentId} IS DISTINCT FROM ${segmentId}::int`)}
      FOR UPDATE
    ), upd AS (
      UPDATE counterparties c SET segment_id = ${segmentId}::int, updated_at = ${now}::timestamptz
      FROM old WHERE c.id = old.id
      RETURNING c.id, old.before
    )
    INSERT INTO history_events (entity_type, entity_id, kind, summary, data, actor_user_id, actor_label, at)
    SELECT 'counterparty', upd.id, 'segment_changed',
      'Сегмент рынка: ' || coalesce(s0.name, 'без сегмента') || ' → ' || coalesce((SELECT name FROM segments WHERE id = ${segmentId}::int), 'без сегмента'),
      jsonb_build_object('from', upd.before, 'to', ${segmentId}::int), ${actorUserId(ctx.actor)}::int, ${actorLabel(ctx.actor)}, ${now}::timestamptz
    FROM upd LEFT JOIN segments s0 ON s0.id = upd.before
    RETURNING entity_id`);
  const count = (Array.isArray(changed) ? changed : (changed as unknown as { rows: unknown[] }).rows).length;
  await audit(ctx, 'assign_segment', 'segment', segmentId ?? 0, { counterparties: { from: null, to: count } });
  return count;
}
