/** The commercial proposal («Коммерческое предложение»): the admin's template or the built-in one, as .docx and PDF. */
import type { ProposalData, RenderedFiles } from '../types.js';
import { renderFromTemplate } from './template-document.js';

/** An admin's template that cannot be filled or printed is refused with `invalid({ template })`. */
export function renderProposal(data: ProposalData, template: Buffer | null): Promise<RenderedFiles> {
  return renderFromTemplate('proposal', data, template);
}
