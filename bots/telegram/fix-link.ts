import type { FixTarget } from '../../core/errors.js';

/** The panel page where what an error names is filled in (the panel's own paths, as admin/form-action.ts's fixLink). */
function fixPath(fix: FixTarget): string {
  if (fix.entity === 'organizations') return '/admin/books/organizations';
  const section = { deal: 'deals', counterparty: 'counterparties', contact: 'contacts' }[fix.entity];
  return `/admin/${section}/${fix.id}`;
}

/**
 * «Заполните в панели: …» under an error that says where to fix it (a deal without a counterparty, a
 * seller without a bank account), when the bot knows the panel's address; '' otherwise.
 */
export function fixHint(fix: FixTarget | undefined, publicUrl: string | undefined): string {
  if (!fix || !publicUrl) return '';
  return `\nЗаполните в панели: ${new URL(fixPath(fix), publicUrl).toString()}`;
}
