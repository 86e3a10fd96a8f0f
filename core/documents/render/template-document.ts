/**
 * A contract or a proposal from a .docx template: filled, then printed to PDF. The built-in template
 * is ours, so its failures are bugs and stay as they are; an admin's own template can hold anything
 * Word writes, so whatever goes wrong with it is told to the admin as a problem of the template
 * (`invalid({ template })`), at upload (the trial render) and when a document is made.
 */
import { invalid, isServiceError } from '../../errors.js';
import { sellerImages } from '../templates/bookmarks.js';
import { builtInTemplate } from '../templates/builtin.js';
import { fillTemplate } from '../templates/fill.js';
import { templateValues, type TemplateKind } from '../templates/placeholders.js';
import type { ContractData, ProposalData, RenderedFiles } from '../types.js';
import { docxToPdf } from './docx-pdf.js';

const TEMPLATE_FAILED: Record<'fill' | 'pdf', string> = {
  fill: 'шаблон не удалось заполнить: проверьте метки {{…}} и повторяемые блоки, пересохраните файл в Word как «Документ Word (*.docx)»',
  pdf: 'по шаблону не удалось сделать PDF: в файле есть то, что программа не умеет прочитать; пересохраните его в Word как «Документ Word (*.docx)» или упростите оформление',
};

/** A template's own «invalid» passes as it is; anything else becomes the step's reason. */
async function step<T>(custom: boolean, what: 'fill' | 'pdf', work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!custom || (isServiceError(e) && e.code === 'invalid' && e.fields.template)) throw e;
    throw invalid({ template: TEMPLATE_FAILED[what] });
  }
}

export async function renderFromTemplate(kind: 'contract', data: ContractData, template: Buffer | null): Promise<RenderedFiles>;
export async function renderFromTemplate(kind: 'proposal', data: ProposalData, template: Buffer | null): Promise<RenderedFiles>;
export async function renderFromTemplate(kind: TemplateKind, data: ContractData | ProposalData, template: Buffer | null): Promise<RenderedFiles> {
  const custom = template !== null;
  const source = template ?? (await builtInTemplate(kind));
  const values = templateValues(kind, data);
  const docx = await step(custom, 'fill', () => fillTemplate(kind, source, values));
  const pdf = await step(custom, 'pdf', () => docxToPdf(docx, { images: sellerImages(data.seller) }));
  return { docx, pdf };
}
