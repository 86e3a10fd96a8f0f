import type { ServiceContext } from '../../core/context.js';
import { createOrganization, type Organization, type OrganizationInput } from '../../core/organizations/organizations.js';
import { addBankAccount } from '../../core/organizations/bank-accounts.js';
import { randomInn, randomOgrn } from './world.js';

/**
 * Сбербанк, Москва: a real BIK and correspondent account; the settlement accounts pass the Central
 * Bank's control key against this BIK (checked in tests/organizations.test.ts).
 */
export const SBER = { bankName: 'ПАО Сбербанк', bik: '044525225', corrAccount: '30101810400000000225', account: '40702810938000000001' } as const;
/** More settlement accounts valid for SBER.bik: one for a company, one for an ИП. */
export const SBER_ACCOUNTS = { company2: '40702810238000000002', soleProprietor: '40802810438000000003' } as const;

/** An ООО's requisites that pass every check, with a fresh INN and OGRN. */
export function sellerInput(over: Partial<OrganizationInput> = {}): OrganizationInput {
  return {
    kind: 'legal_entity',
    name: 'Общество с ограниченной ответственностью «Ромашка»',
    shortName: 'ООО «Ромашка»',
    inn: randomInn('legal_entity'),
    kpp: '770101001',
    ogrn: randomOgrn('legal_entity'),
    legalAddress: '125009, г. Москва, ул. Тверская, д. 1',
    directorName: 'Иванов Иван Иванович',
    directorPosition: 'Генеральный директор',
    taxMode: 'osn',
    ...over,
  };
}

/** A seller organisation with its bank account, ready to make documents. */
export async function makeSeller(ctx: ServiceContext, over: Partial<OrganizationInput> = {}, account: string = SBER.account): Promise<Organization> {
  const org = await createOrganization(ctx, sellerInput(over));
  await addBankAccount(ctx, org.id, { ...SBER, account });
  return org;
}
