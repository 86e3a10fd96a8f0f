import type { OrganizationImageKind } from '../db/schema/index.js';

export type OrganizationKind = 'legal_entity' | 'sole_proprietor';

export const organizationKindLabels: Record<OrganizationKind, string> = {
  legal_entity: 'Организация (ООО, АО)',
  sole_proprietor: 'Индивидуальный предприниматель',
};

export const organizationImageLabels: Record<OrganizationImageKind, string> = {
  logo: 'Логотип',
  director_signature: 'Подпись руководителя',
  accountant_signature: 'Подпись главного бухгалтера',
  stamp: 'Печать',
};
