import { ServiceError } from '../../core/errors.js';

/** A record number from a command argument or button; a clear Russian error otherwise. */
export function parseId(raw: string | undefined, usage: string): number {
  const s = (raw ?? '').trim().replace(/^№/, '');
  if (!/^\d{1,9}$/.test(s) || Number(s) === 0) throw new ServiceError('invalid', `Укажите номер числом, например: ${usage}`);
  return Number(s);
}
