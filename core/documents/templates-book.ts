import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { actorUserId, inTransaction, type ServiceContext } from '../context.js';
import { documentTemplates } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { requireRole } from '../access/scope.js';
import { audit } from '../shared/audit.js';
import { parseInput } from '../shared/input.js';
import { builtInTemplate } from './templates/builtin.js';
import { checkTemplate } from './templates/fill.js';
import { sampleData } from './templates/sample.js';
import { renderContract } from './render/contract.js';
import { renderProposal } from './render/proposal.js';
import { placeholderList } from './templates/placeholders.js';
import { proposalDefaults } from './proposal-texts.js';

export type TemplateKind = 'contract' | 'proposal';
export const templateKinds: TemplateKind[] = ['contract', 'proposal'];
export const templateKindLabels: Record<TemplateKind, string> = { contract: 'Договор', proposal: 'Коммерческое предложение' };

export const MAX_TEMPLATE_BYTES = 5 * 1024 * 1024;

/** `document_templates` is keyed by its kind; the audit log wants a number. */
const auditId: Record<TemplateKind, number> = { contract: 1, proposal: 2 };

export interface TemplateState {
  kind: TemplateKind;
  /** the admin's own file, or null while the built-in template is used */
  custom: { fileName: string; updatedAt: Date } | null;
  placeholders: { name: string; description: string }[];
}

/** «Шаблоны документов»: what each template is now, its placeholders, and the КП's default texts. */
export async function documentTemplateStates(ctx: ServiceContext): Promise<{ templates: TemplateState[]; proposalTexts: { intro: string; terms: string } }> {
  requireRole(ctx, 'admin', 'head');
  const rows = await ctx.db
    .select({ kind: documentTemplates.kind, fileName: documentTemplates.fileName, updatedAt: documentTemplates.updatedAt, hasFile: documentTemplates.docx })
    .from(documentTemplates);
  return {
    templates: templateKinds.map((kind) => {
      const row = rows.find((r) => r.kind === kind && r.hasFile);
      return { kind, custom: row ? { fileName: row.fileName ?? `${kind}.docx`, updatedAt: row.updatedAt } : null, placeholders: placeholderList(kind) };
    }),
    proposalTexts: await proposalDefaults(ctx),
  };
}

/** The template in use as a .docx: the admin's own, or the built-in one to start a new one from. */
export async function templateFile(ctx: ServiceContext, kind: TemplateKind): Promise<{ fileName: string; data: Buffer }> {
  requireRole(ctx, 'admin', 'head');
  const [row] = await ctx.db.select().from(documentTemplates).where(eq(documentTemplates.kind, kind));
  if (row?.docx) return { fileName: row.fileName ?? `${kind}.docx`, data: row.docx };
  return { fileName: kind === 'contract' ? 'Договор — шаблон.docx' : 'КП — шаблон.docx', data: await builtInTemplate(kind) };
}

/** An admin's own .docx replaces the built-in template; a bad placeholder is named and nothing changes. */
export async function uploadTemplate(ctx: ServiceContext, kind: TemplateKind, file: { fileName: string; data: Buffer }): Promise<void> {
  requireRole(ctx, 'admin');
  if (!templateKinds.includes(kind)) throw invalid({ kind: 'нет такого шаблона' });
  if (!file.data.length) throw invalid({ template: 'выберите файл .docx' });
  if (file.data.length > MAX_TEMPLATE_BYTES) throw invalid({ template: 'файл больше 5 МБ' });
  checkTemplate(kind, file.data);
  // a trial render on sample data: a template that fills but cannot become a PDF is refused now, not
  // at a manager's «Счёт и договор»
  if (kind === 'contract') await renderContract(sampleData('contract'), file.data);
  else await renderProposal(sampleData('proposal'), file.data);
  const now = ctx.clock.now();
  await inTransaction(ctx, async (tx) => {
    await tx.db
      .insert(documentTemplates)
      .values({ kind, fileName: file.fileName, docx: file.data, updatedBy: actorUserId(tx.actor), updatedAt: now })
      .onConflictDoUpdate({ target: documentTemplates.kind, set: { fileName: file.fileName, docx: file.data, updatedBy: actorUserId(tx.actor), updatedAt: now } });
    await audit(tx, 'upload_template', 'document_template', auditId[kind], { [kind]: { from: null, to: file.fileName } });
  });
}

/** Back to the built-in template. */
export async function resetTemplate(ctx: ServiceContext, kind: TemplateKind): Promise<void> {
  requireRole(ctx, 'admin');
  await inTransaction(ctx, async (tx) => {
    await tx.db.update(documentTemplates).set({ docx: null, fileName: null, updatedBy: actorUserId(tx.actor), updatedAt: tx.clock.now() }).where(eq(documentTemplates.kind, kind));
    await audit(tx, 'reset_template', 'document_template', auditId[kind], { [kind]: { from: 'custom', to: 'built-in' } });
  });
}

export const proposalTextsInput = z.object({
  intro: z.string().trim().max(20_000, 'слишком длинное вступление'),
  terms: z.string().trim().max(20_000, 'слишком длинные условия'),
});

/** The КП's default intro and terms (empty: the built-in ones). */
export async function setProposalTexts(ctx: ServiceContext, input: z.input<typeof proposalTextsInput>): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(proposalTextsInput, input);
  const values = { introText: data.intro || null, termsText: data.terms || null, updatedBy: actorUserId(ctx.actor), updatedAt: ctx.clock.now() };
  await inTransaction(ctx, async (tx) => {
    await tx.db.insert(documentTemplates).values({ kind: 'proposal', ...values }).onConflictDoUpdate({ target: documentTemplates.kind, set: values });
    await audit(tx, 'set_proposal_texts', 'document_template', auditId.proposal, { intro: { from: null, to: data.intro || 'встроенный' }, terms: { from: null, to: data.terms || 'встроенный' } });
  });
}
