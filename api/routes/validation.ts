import type { FastifySchemaValidationError } from 'fastify';
import { invalid, type ServiceError } from '../../core/errors.js';

const plural = (n: number) => (n % 10 === 1 && n % 100 !== 11 ? 'символа' : 'символов');

const typeName: Record<string, string> = {
  string: 'строка',
  object: 'объект',
  integer: 'целое число',
  number: 'число',
  boolean: 'true или false',
  array: 'список',
};

function russian(e: FastifySchemaValidationError): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'обязательное поле';
    case 'type':
      return `ожидается ${String(p.type).split(',').map((t) => typeName[t] ?? t).join(' или ')}`;
    case 'maximum':
      return `не больше ${String(p.limit)}`;
    case 'minimum':
      return `не меньше ${String(p.limit)}`;
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
      // ajv's own words are English: an integrator reads Russian
      return 'неверное значение';
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
