import { and, asc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { organizationBankAccounts } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff } from '../shared/audit.js';
import { isValidBik, isValidCorrAccount, isValidSettlementAccount } from '../validation/bank.js';
import { requireKeeper } from './access.js';
import { organizationRow, type OrganizationBankAccount } from './organizations.js';

const compact = (s: unknown) => (typeof s === 'string' ? s.replace(/[\s-]/g, '') : s);

/**
 * A settlement account is checked against its bank's BIK by the Central Bank's control key, so a
 * mistyped digit never reaches an invoice.
 */
const bankAccountInput = z
  .object({
    bankName: z.string('укажите банк').trim().min(1, 'укажите банк').max(300, 'не длиннее 300 символов'),
    bik: z.preprocess(compact, z.string('укажите БИК')),
    corrAccount: z.preprocess(compact, z.string('укажите корреспондентский счёт')),
    account: z.preprocess(compact, z.string('укажите расчётный счёт')),
  })
  .superRefine((a, c) => {
    const issue = (path: string, message: string) => c.addIssue({ code: 'custom', path: [path], message });
    const bikOk = isValidBik(a.bik);
    if (!a.bik) issue('bik', 'укажите БИК');
    else if (!bikOk) issue('bik', 'БИК: 9 цифр, начинается с 04');
    if (!a.corrAccount) issue('corrAccount', 'укажите корреспондентский счёт');
    else if (!/^\d{20}$/.test(a.corrAccount)) issue('corrAccount', 'корреспондентский счёт: 20 цифр');
    else if (bikOk && !isValidCorrAccount(a.bik, a.corrAccount)) issue('corrAccount', 'корреспондентский счёт не сходится с БИК: проверьте цифры');
    if (!a.account) issue('account', 'укажите расчётный счёт');
    else if (!/^\d{20}$/.test(a.account)) issue('account', 'расчётный счёт: 20 цифр');
    else if (bikOk && !isValidSettlementAccount(a.bik, a.account)) issue('account', 'расчётный счёт не сходится с БИК: проверьте цифры');
  });
export type BankAccountInput = z.input<typeof bankAccountInput>;

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

async function accountRow(ctx: ServiceContext, id: number): Promise<OrganizationBankAccount> {
  const [row] = validId(id) ? await ctx.db.select().from(organizationBankAccounts).where(eq(organizationBankAccounts.id, id)) : [];
  if (!row) throw notFound('Расчётный счёт');
  return row;
}

const auditFields = (a: Pick<OrganizationBankAccount, 'bankName' | 'bik' | 'corrAccount' | 'account'>) => ({
  bankName: a.bankName,
  bik: a.bik,
  corrAccount: a.corrAccount,
  account: a.account,
});

/** The organisation's first account becomes its default by itself. */
export async function addBankAccount(ctx: ServiceContext, organizationId: number, input: BankAccountInput): Promise<OrganizationBankAccount> {
  requireKeeper(ctx);
  const data = parseInput(bankAccountInput, input);
  return inTransaction(ctx, async (tx) => {
    await organizationRow(tx, organizationId);
    const [existing] = await tx.db
      .select({ id: organizationBankAccounts.id })
      .from(organizationBankAccounts)
      .where(and(eq(organizationBankAccounts.organizationId, organizationId), eq(organizationBankAccounts.isDefault, true)));
    const [row] = await tx.db
      .insert(organizationBankAccounts)
      .values({ organizationId, ...data, isDefault: !existing, createdAt: tx.clock.now() })
      .returning();
    await audit(tx, 'organization.bank_account_added', 'organization', organizationId, created({ ...auditFields(data), isDefault: !existing }));
    return row!;
  });
}

export async function updateBankAccount(ctx: ServiceContext, accountId: number, input: BankAccountInput): Promise<OrganizationBankAccount> {
  requireKeeper(ctx);
  const data = parseInput(bankAccountInput, input);
  return inTransaction(ctx, async (tx) => {
    const before = await accountRow(tx, accountId);
    const [row] = await tx.db.update(organizationBankAccounts).set(data).where(eq(organizationBankAccounts.id, accountId)).returning();
    const changes = diff(auditFields(before), auditFields(data));
    if (Object.keys(changes).length) await audit(tx, 'organization.bank_account_updated', 'organization', before.organizationId, { ...changes, accountId: { from: accountId, to: accountId } });
    return row!;
  });
}

/** Removing the default account makes the oldest remaining one the default. */
export async function removeBankAccount(ctx: ServiceContext, accountId: number): Promise<OrganizationBankAccount> {
  requireKeeper(ctx);
  return inTransaction(ctx, async (tx) => {
    const before = await accountRow(tx, accountId);
    await tx.db.delete(organizationBankAccounts).where(eq(organizationBankAccounts.id, accountId));
    if (before.isDefault) {
      const [next] = await tx.db
        .select({ id: organizationBankAccounts.id })
        .from(organizationBankAccounts)
        .where(eq(organizationBankAccounts.organizationId, before.organizationId))
        .orderBy(asc(organizationBankAccounts.id))
        .limit(1);
      if (next) await tx.db.update(organizationBankAccounts).set({ isDefault: true }).where(eq(organizationBankAccounts.id, next.id));
    }
    await audit(tx, 'organization.bank_account_removed', 'organization', before.organizationId, diff(auditFields(before), { bankName: null, bik: null, corrAccount: null, account: null }));
    return before;
  });
}

/** The account printed on the organisation's invoices. */
export async function setDefaultBankAccount(ctx: ServiceContext, accountId: number): Promise<OrganizationBankAccount> {
  requireKeeper(ctx);
  return inTransaction(ctx, async (tx) => {
    const acc = await accountRow(tx, accountId);
    if (acc.isDefault) return acc;
    await tx.db
      .update(organizationBankAccounts)
      .set({ isDefault: false })
      .where(and(eq(organizationBankAccounts.organizationId, acc.organizationId), ne(organizationBankAccounts.id, accountId)));
    const [row] = await tx.db.update(organizationBankAccounts).set({ isDefault: true }).where(eq(organizationBankAccounts.id, accountId)).returning();
    await audit(tx, 'organization.bank_account_made_default', 'organization', acc.organizationId, { defaultAccount: { from: null, to: acc.account } });
    return row!;
  });
}

