import type { FastifySchemaValidationError } from 'fastify';
import { invalid, type ServiceError } from '../../core/errors.js';

const plural = (n: number) => (n % 10 === 1 && n % 100 !== 11 ? 'символа' : 'символов');

function russian(e: FastifySchemaValidationError): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'обязательное поле';
    case 'type':
      return `ожидается ${p.type === 'string' ? 'строка' : p.type === 'object' ? 'объект' : String(p.type)}`;
    case 'maxLength':
      return `не длиннее ${String(p.limit)} ${plural(Number(p.limit))}`;
    case 'minLength':
      return 'не может быть пустым';
    case 'format':
      return 'неверный формат';
    case 'additionalProperties':
      return 'неизвестное поле';
    case 'pattern':
      return 'неверный формат';
    default:
      return e.message ?? 'неверное значение';
  }
}

/** Fastify's JSON-schema errors as the CRM's `invalid` error: field name → Russian text, like verbs report. */
export function schemaErrorToInvalid(errors: FastifySchemaValidationError[], context: string | undefined): ServiceError {
  const fields: Record<string, string> = {};
  for (const e of errors) {
    const p = e.params as Record<string, unknown>;
    const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const extra = e.keyword === 'required' ? p.missingProperty : e.keyword === 'additionalProperties' ? p.additionalProperty : undefined;
    const key = [base, extra].filter((x) => x !== undefined && x !== '').join('.') || context || '_';
    fields[key] ??= russian(e);
  }
  return invalid(fields);
}
