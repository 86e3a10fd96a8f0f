/** The contract («Договор»): the admin's template or the built-in one, filled, as .docx and as PDF. */
import type { ContractData, RenderedFiles } from '../types.js';
import { renderFromTemplate } from './template-document.js';

/** An admin's template that cannot be filled or printed is refused with `invalid({ template })`. */
export function renderContract(data: ContractData, template: Buffer | null): Promise<RenderedFiles> {
  return renderFromTemplate('contract', data, template);
}
