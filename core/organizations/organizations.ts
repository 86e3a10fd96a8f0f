import { and, asc, desc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { organizationBankAccounts, organizationImages, organizations, taxMode, type OrganizationImageKind } from '../db/schema/index.js';
import { invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff } from '../shared/audit.js';
import { isValidInn, isValidKpp, isValidOgrn } from '../validation/russian-ids.js';
import { normalizeEmail } from '../validation/email.js';
import type { TaxMode } from '../documents/money.js';
import { requireKeeper, requireReader } from './access.js';
import type { OrganizationKind } from './labels.js';

export type Organization = typeof organizations.$inferSelect;
export type OrganizationBankAccount = typeof organizationBankAccounts.$inferSelect;
export type OrganizationCard = Organization & { bankAccounts: OrganizationBankAccount[]; images: OrganizationImageKind[] };

const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `не длиннее ${max} символов`)
    .nullish()
    .transform((s) => s || null);

const digitsOnly = z
  .string()
  .nullish()
  .transform((s) => (s ?? '').replace(/\s/g, '').toUpperCase() || null);

const organizationInput = z
  .object({
    kind: z.enum(['legal_entity', 'sole_proprietor'], 'выберите: организация или ИП'),
    name: z.string('укажите полное наименование').trim().min(1, 'укажите полное наименование').max(500, 'не длиннее 500 символов'),
    shortName: text(300),
    inn: digitsOnly,
    kpp: digitsOnly,
    ogrn: digitsOnly,
    legalAddress: text(500),
    postalAddress: text(500),
    phone: text(100),
    email: z
      .string()
      .nullish()
      .transform((s, c) => {
        if (!s?.trim()) return null;
        const e = normalizeEmail(s);
        if (!e) c.addIssue({ code: 'custom', message: 'неверный e-mail' });
        return e;
      }),
    city: text(100),
    directorName: text(200),
    directorPosition: text(200),
    directorBasis: text(300),
    /** «в лице кого» in the genitive, for a contract's preamble */
    signerGenitive: text(300),
    accountantName: text(200),
    accountantPosition: text(200),
    taxMode: z.enum(taxMode.enumValues, 'выберите систему налогообложения').default('osn'),
  })
  .superRefine((o, c) => {
    const legal = o.kind === 'legal_entity';
    const innLen = legal ? 10 : 12;
    if (!o.inn) c.addIssue({ code: 'custom', path: ['inn'], message: 'укажите ИНН' });
    else if (o.inn.length !== innLen || !/^\d+$/.test(o.inn)) c.addIssue({ code: 'custom', path: ['inn'], message: `ИНН ${legal ? 'организации' : 'ИП'}: ${innLen} цифр` });
    else if (!isValidInn(o.inn)) c.addIssue({ code: 'custom', path: ['inn'], message: 'ИНН не сходится по контрольной сумме: проверьте цифры' });
    if (legal) {
      if (!o.kpp) c.addIssue({ code: 'custom', path: ['kpp'], message: 'укажите КПП' });
      else if (!isValidKpp(o.kpp)) c.addIssue({ code: 'custom', path: ['kpp'], message: 'КПП: 9 знаков, например 771001001' });
    } else if (o.kpp) c.addIssue({ code: 'custom', path: ['kpp'], message: 'у ИП нет КПП: оставьте поле пустым' });
    const ogrnLen = legal ? 13 : 15;
    const ogrnName = legal ? 'ОГРН' : 'ОГРНИП';
    if (o.ogrn) {
      if (o.ogrn.length !== ogrnLen || !/^\d+$/.test(o.ogrn)) c.addIssue({ code: 'custom', path: ['ogrn'], message: `${ogrnName}: ${ogrnLen} цифр` });
      else if (!isValidOgrn(o.ogrn)) c.addIssue({ code: 'custom', path: ['ogrn'], message: `${ogrnName} не сходится по контрольной сумме: проверьте цифры` });
    }
  });
export type OrganizationInput = z.input<typeof organizationInput>;

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** The name printed in headers and messages. */
export const displayName = (o: Pick<Organization, 'name' | 'shortName'>) => o.shortName || o.name;

/** The default first, then by name; archived ones only when asked. */
export async function listOrganizations(ctx: ServiceContext, opts: { includeArchived?: boolean } = {}): Promise<Organization[]> {
  requireReader(ctx);
  return ctx.db
    .select()
    .from(organizations)
    .where(opts.includeArchived ? undefined : eq(organizations.archived, false))
    .orderBy(asc(organizations.archived), desc(organizations.isDefault), asc(organizations.name), asc(organizations.id));
}

/** The bare row, or not found. */
export async function organizationRow(ctx: ServiceContext, id: number): Promise<Organization> {
  const [row] = validId(id) ? await ctx.db.select().from(organizations).where(eq(organizations.id, id)) : [];
  if (!row) throw notFound('Организация');
  return row;
}

/** An organisation with its bank accounts (the default first) and which images it has. */
export async function getOrganization(ctx: ServiceContext, id: number): Promise<OrganizationCard> {
  requireReader(ctx);
  const org = await organizationRow(ctx, id);
  const [bankAccounts, images] = await Promise.all([
    ctx.db
      .select()
      .from(organizationBankAccounts)
      .where(eq(organizationBankAccounts.organizationId, id))
      .orderBy(desc(organizationBankAccounts.isDefault), asc(organizationBankAccounts.id)),
    ctx.db.select({ kind: organizationImages.kind }).from(organizationImages).where(eq(organizationImages.organizationId, id)),
  ]);
  return { ...org, bankAccounts, images: images.map((i) => i.kind) };
}

function fieldsOf(data: z.output<typeof organizationInput>) {
  return {
    kind: data.kind as OrganizationKind,
    name: data.name,
    shortName: data.shortName,
    inn: data.inn!,
    kpp: data.kind === 'legal_entity' ? data.kpp : null,
    ogrn: data.ogrn,
    legalAddress: data.legalAddress,
    postalAddress: data.postalAddress,
    phone: data.phone,
    email: data.email,
    city: data.city,
    directorName: data.directorName,
    directorPosition: data.directorPosition,
    directorBasis: data.directorBasis,
    signerGenitive: data.signerGenitive,
    accountantName: data.accountantName,
    accountantPosition: data.accountantPosition,
    taxMode: data.taxMode,
  };
}

/** A new seller; the first one (or the first while none is default) becomes the default by itself. */
export async function createOrganization(ctx: ServiceContext, input: OrganizationInput): Promise<Organization> {
  requireKeeper(ctx);
  const data = fieldsOf(parseInput(organizationInput, input));
  return inTransaction(ctx, async (tx) => {
    const [def] = await tx.db.select({ id: organizations.id }).from(organizations).where(eq(organizations.isDefault, true));
    const now = tx.clock.now();
    const [row] = await tx.db
      .insert(organizations)
      .values({ ...data, isDefault: !def, createdAt: now, updatedAt: now })
      .returning();
    await audit(tx, 'organization.created', 'organization', row!.id, created({ ...data, isDefault: !def }));
    return row!;
  });
}

export async function updateOrganization(ctx: ServiceContext, id: number, input: OrganizationInput): Promise<Organization> {
  requireKeeper(ctx);
  const data = fieldsOf(parseInput(organizationInput, input));
  return inTransaction(ctx, async (tx) => {
    const before = await organizationRow(tx, id);
    const [row] = await tx.db
      .update(organizations)
      .set({ ...data, updatedAt: tx.clock.now() })
      .where(eq(organizations.id, id))
      .returning();
    const changes = diff(before, data);
    if (Object.keys(changes).length) await audit(tx, 'organization.updated', 'organization', id, changes);
    return row!;
  });
}

/** Documents are made from the default organisation unless another is chosen; there is exactly one. */
export async function setDefaultOrganization(ctx: ServiceContext, id: number): Promise<Organization> {
  requireKeeper(ctx);
  return inTransaction(ctx, async (tx) => {
    const org = await organizationRow(tx, id);
    if (org.archived) throw invalid({ organization: `«${displayName(org)}» в архиве: сначала верните её` });
    if (org.isDefault) return org;
    const [previous] = await tx.db.select().from(organizations).where(eq(organizations.isDefault, true));
    // the partial unique index allows one default: clear the old one first
    await tx.db.update(organizations).set({ isDefault: false }).where(eq(organizations.isDefault, true));
    const [row] = await tx.db.update(organizations).set({ isDefault: true, updatedAt: tx.clock.now() }).where(eq(organizations.id, id)).returning();
    await audit(tx, 'organization.made_default', 'organization', id, { isDefault: { from: false, to: true }, ...(previous ? { previousDefault: { from: previous.id, to: null } } : {}) });
    return row!;
  });
}

/**
 * An archived organisation keeps its documents but makes no new ones. The default one cannot go while
 * others remain: another must be made the default first, so documents never lose their seller silently.
 */
export async function archiveOrganization(ctx: ServiceContext, id: number): Promise<Organization> {
  requireKeeper(ctx);
  return inTransaction(ctx, async (tx) => {
    const org = await organizationRow(tx, id);
    if (org.archived) return org;
    if (org.isDefault) {
      const [other] = await tx.db
        .select({ id: organizations.id })
        .from(organizations)
        .where(and(eq(organizations.archived, false), ne(organizations.id, id)))
        .limit(1);
      if (other) throw invalid({ organization: `«${displayName(org)}» — основная организация: сначала сделайте основной другую` });
    }
    const [row] = await tx.db
      .update(organizations)
      .set({ archived: true, isDefault: false, updatedAt: tx.clock.now() })
      .where(eq(organizations.id, id))
      .returning();
    await audit(tx, 'organization.archived', 'organization', id, diff({ archived: false, isDefault: org.isDefault }, { archived: true, isDefault: false }));
    return row!;
  });
}

/** Back from the archive; it becomes the default when there is none. */
export async function restoreOrganization(ctx: ServiceContext, id: number): Promise<Organization> {
  requireKeeper(ctx);
  return inTransaction(ctx, async (tx) => {
    const org = await organizationRow(tx, id);
    if (!org.archived) return org;
    const [def] = await tx.db.select({ id: organizations.id }).from(organizations).where(eq(organizations.isDefault, true));
    const [row] = await tx.db
      .update(organizations)
      .set({ archived: false, isDefault: !def, updatedAt: tx.clock.now() })
      .where(eq(organizations.id, id))
      .returning();
    await audit(tx, 'organization.restored', 'organization', id, diff({ archived: true, isDefault: false }, { archived: false, isDefault: !def }));
    return row!;
  });
}

/** The tax mode a new deal's sums are shown in: the default organisation's, ОСН when there is none. */
export async function defaultTaxMode(ctx: ServiceContext): Promise<TaxMode> {
  const [row] = await ctx.db
    .select({ taxMode: organizations.taxMode })
    .from(organizations)
    .where(eq(organizations.archived, false))
    .orderBy(desc(organizations.isDefault), asc(organizations.id))
    .limit(1);
  return row?.taxMode ?? 'osn';
}
