/** The commercial proposal («Коммерческое предложение»): the admin's template or the built-in one, as .docx and PDF. */
import { builtInTemplate } from '../templates/builtin.js';
import { fillTemplate } from '../templates/fill.js';
import { templateValues } from '../templates/placeholders.js';
import type { ProposalData, RenderedFiles } from '../types.js';
import { docxToPdf } from './docx-pdf.js';
import { sellerImages } from '../templates/bookmarks.js';

export async function renderProposal(data: ProposalData, template: Buffer | null): Promise<RenderedFiles> {
  const docx = fillTemplate('proposal', template ?? (await builtInTemplate('proposal')), templateValues('proposal', data));
  return { docx, pdf: await docxToPdf(docx, { images: sellerImages(data.seller) }) };
}
