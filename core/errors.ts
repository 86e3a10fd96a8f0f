/** The closed set of failures a verb may report; each transport maps them once. */
export type ErrorCode = 'not_found' | 'forbidden' | 'conflict' | 'invalid' | 'unauthenticated' | 'rate_limited' | 'unavailable';

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** field name → problem, for `invalid` */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const notFound = (what: string) => new ServiceError('not_found', `${what} не найден(а)`);
export const forbidden = (message = 'Нет доступа к этой записи') => new ServiceError('forbidden', message);
export const conflict = (message: string) => new ServiceError('conflict', message);
export const invalid = (fields: Record<string, string>, message = 'Проверьте поля: ' + Object.keys(fields).join(', ')) =>
  new ServiceError('invalid', message, fields);

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;
