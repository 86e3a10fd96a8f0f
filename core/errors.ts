/** The closed set of failures a verb may report; each transport maps them once. */
export type ErrorCode = 'not_found' | 'forbidden' | 'conflict' | 'invalid' | 'unauthenticated' | 'rate_limited' | 'unavailable';

/** Where the user goes to fill in what an `invalid` names; each transport turns it into its own link. */
export type FixTarget = { entity: 'deal' | 'counterparty' | 'contact'; id: number } | { entity: 'organizations' };

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** field name → problem, for `invalid` */
    readonly fields: Record<string, string> = {},
    readonly fix?: FixTarget,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** «Контрагент не найден», «Сделка не найдена», «Письмо не найдено»: the first word's ending gives the gender. */
export const notFound = (what: string) => {
  const first = what.split(/\s/)[0]!.toLowerCase();
  const ending = /[ая]$/.test(first) ? 'не найдена' : /[ое]$/.test(first) ? 'не найдено' : 'не найден';
  return new ServiceError('not_found', `${what} ${ending}`);
};
export const forbidden = (message = 'Нет доступа к этой записи') => new ServiceError('forbidden', message);
export const conflict = (message: string) => new ServiceError('conflict', message);
export const invalid = (fields: Record<string, string>, message = 'Проверьте: ' + Object.values(fields).join('; ')) =>
  new ServiceError('invalid', message, fields);

/** `invalid` that says where to fix it (a deal without a counterparty, a seller without a bank account…). */
export const needsFix = (fix: FixTarget, fields: Record<string, string>) => new ServiceError('invalid', 'Проверьте: ' + Object.values(fields).join('; '), fields, fix);

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;
