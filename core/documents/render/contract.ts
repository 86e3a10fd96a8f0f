/** The contract («Договор»): the admin's template or the built-in one, filled, as .docx and as PDF. */
import { builtInTemplate } from '../templates/builtin.js';
import { fillTemplate } from '../templates/fill.js';
import { templateValues } from '../templates/placeholders.js';
import type { ContractData, RenderedFiles } from '../types.js';
import { docxToPdf } from './docx-pdf.js';
import { sellerImages } from '../templates/bookmarks.js';

export async function renderContract(data: ContractData, template: Buffer | null): Promise<RenderedFiles> {
  const docx = fillTemplate('contract', template ?? (await builtInTemplate('contract')), templateValues('contract', data));
  return { docx, pdf: await docxToPdf(docx, { images: sellerImages(data.seller) }) };
}
