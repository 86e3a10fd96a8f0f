import { asc, desc, eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { organizationBankAccounts, organizationImages, organizations, type OrganizationImageKind } from '../db/schema/index.js';
import { needsFix } from '../errors.js';
import type { SellerData } from '../documents/types.js';
import { requireReader } from './access.js';
import { displayName, organizationRow, type Organization } from './organizations.js';

export { defaultTaxMode } from './organizations.js';

const imageKey: Record<OrganizationImageKind, keyof SellerData['images']> = {
  logo: 'logo',
  director_signature: 'directorSignature',
  accountant_signature: 'accountantSignature',
  stamp: 'stamp',
};

/**
 * The seller printed on a document: the given organisation or the default one, with its default bank
 * account and images. Refused in Russian when there is nothing to print, so a document is never made
 * without requisites.
 */
/** Every refusal below is fixed in «Наши организации»: the transports link there. */
const TO_BOOK = { entity: 'organizations' } as const;

export async function sellerFor(ctx: ServiceContext, organizationId?: number | null): Promise<{ organizationId: number; seller: SellerData }> {
  requireReader(ctx);
  let org: Organization | undefined;
  if (organizationId) {
    org = await organizationRow(ctx, organizationId).catch(() => undefined);
    if (!org) throw needsFix(TO_BOOK, { organization: 'Такой организации нет в справочнике «Наши организации»' });
    if (org.archived) throw needsFix(TO_BOOK, { organization: `Организация «${displayName(org)}» в архиве: выберите другую` });
  } else {
    [org] = await ctx.db
      .select()
      .from(organizations)
      .where(eq(organizations.archived, false))
      .orderBy(desc(organizations.isDefault), asc(organizations.id))
      .limit(1);
    if (!org) throw needsFix(TO_BOOK, { organization: 'Добавьте свою организацию в справочник «Наши организации»' });
  }
  const [bank] = await ctx.db
    .select()
    .from(organizationBankAccounts)
    .where(eq(organizationBankAccounts.organizationId, org.id))
    .orderBy(desc(organizationBankAccounts.isDefault), asc(organizationBankAccounts.id))
    .limit(1);
  const shortName = displayName(org);
  if (!bank) throw needsFix(TO_BOOK, { organization: `У организации «${shortName}» нет расчётного счёта: добавьте его в «Наших организациях»` });
  const imageRows = await ctx.db
    .select({ kind: organizationImages.kind, data: organizationImages.data })
    .from(organizationImages)
    .where(eq(organizationImages.organizationId, org.id));
  const images: SellerData['images'] = {};
  for (const r of imageRows) images[imageKey[r.kind]] = Buffer.from(r.data);
  const signatory = (name: string | null, position: string | null, fallback: string) => (name ? { name, position: position || fallback } : null);
  return {
    organizationId: org.id,
    seller: {
      kind: org.kind,
      name: org.name,
      shortName,
      inn: org.inn,
      kpp: org.kpp,
      ogrn: org.ogrn,
      legalAddress: org.legalAddress,
      postalAddress: org.postalAddress,
      phone: org.phone,
      email: org.email,
      city: org.city,
      bank: { bankName: bank.bankName, bik: bank.bik, corrAccount: bank.corrAccount, account: bank.account },
      director: signatory(org.directorName, org.directorPosition, org.kind === 'sole_proprietor' ? 'Индивидуальный предприниматель' : 'Генеральный директор'),
      directorBasis: org.directorBasis,
      signerGenitive: org.signerGenitive,
      accountant: signatory(org.accountantName, org.accountantPosition, 'Главный бухгалтер'),
      taxMode: org.taxMode,
      images,
    },
  };
}
