import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { cleanDeep } from '../core/validation/text.js';
import { schemaErrorToInvalid } from './routes/validation.js';

/**
 * What an integrator sees when Fastify or one of its plugins refuses a request (a body that is not
 * JSON, too large, of a type nobody reads, an unknown address, a broken URL): the CRM's shape,
 * `{ error, message, fields? }`, in Russian, like the verbs' refusals.
 */
export interface Refusal {
  status: number;
  body: { error: string; message: string; fields?: Record<string, string> };
}

const generic: Record<number, string> = {
  400: 'Неверный запрос',
  404: 'Не найдено',
  405: 'Этот метод здесь не поддерживается',
  406: 'Ответ в запрошенном формате недоступен',
  408: 'Запрос не пришёл целиком вовремя',
  411: 'Нужен заголовок Content-Length',
  413: 'Тело запроса слишком большое',
  414: 'Адрес запроса слишком длинный',
  415: 'Тип содержимого не поддерживается',
  429: 'Слишком много запросов, повторите позже',
  431: 'Заголовки запроса слишком большие',
};

const errorCode = (status: number) =>
  ({ 404: 'not_found', 413: 'too_large', 415: 'unsupported_media_type', 429: 'rate_limited' })[status] ?? 'invalid';

const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${Number((bytes / 1024 / 1024).toFixed(1))} МБ` : `${Math.max(1, Math.round(bytes / 1024))} КБ`);

/** The body types this address reads (its parsers), for a 415 that says what to send instead. */
function acceptedTypes(req: FastifyRequest): string {
  const types = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'].filter((t) => req.server.hasContentTypeParser(t));
  return types.length ? types.join(' или ') : 'запрос без тела';
}

function message(code: string | undefined, status: number, req: FastifyRequest): string {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'Тело запроса — не JSON: проверьте кавычки, запятые и скобки';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Тело запроса пустое, а Content-Type — application/json: отправьте JSON-объект';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `Тело запроса больше ${size(req.routeOptions.bodyLimit ?? req.server.initialConfig.bodyLimit ?? 1024 * 1024)}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = req.headers['content-type']?.split(';')[0]?.trim().slice(0, 100);
      return `${type ? `Тип содержимого ${type}` : 'Запрос без Content-Type'} здесь не принимается: отправьте ${acceptedTypes(req)}`;
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Длина тела запроса не совпадает с заголовком Content-Length';
    case 'FST_ERR_BAD_URL':
      return 'В адресе запроса неверно закодированные символы';
    default:
      return generic[status] ?? generic[400]!;
  }
}

/**
 * A 4xx from Fastify or a plugin in the CRM's words, or null for anything that is not the client's
 * doing (those are logged and answered 500 by the error handler).
 */
export function clientRefusal(error: unknown, req: FastifyRequest): Refusal | null {
  const e = error as { code?: string; statusCode?: number; validation?: FastifySchemaValidationError[]; validationContext?: string };
  if (e.validation) {
    const invalid = schemaErrorToInvalid(e.validation, e.validationContext);
    return { status: 400, body: { error: 'invalid', message: invalid.message, fields: invalid.fields } };
  }
  const status = e.code === 'FST_ERR_BAD_URL' ? 400 : e.statusCode;
  if (!status || status < 400 || status >= 500) return null;
  return { status, body: { error: errorCode(status), message: message(e.code, status, req) } };
}

/** Fastify's `frameworkErrors`: a URL the router cannot decode never reaches a route or the error handler. */
export function frameworkRefusal(error: unknown, req: FastifyRequest, reply: FastifyReply) {
  const r = clientRefusal(error, req) ?? { status: 400, body: { error: 'invalid', message: generic[400]! } };
  return reply.status(r.status).send(r.body);
}

/** An address nobody serves (the admin panel has its own page for these). */
export function notFoundRefusal(req: FastifyRequest, reply: FastifyReply) {
  const path = (req.url.split('?')[0] ?? '').slice(0, 200);
  return reply.status(404).send({ error: 'not_found', message: `Адреса ${req.method} ${path} нет. Адреса API и вебхуков описаны в /api/docs` });
}

const dirty = (v: unknown): boolean => {
  if (typeof v === 'string') return v.includes('\u0000') || !v.isWellFormed();
  if (Array.isArray(v)) return v.some(dirty);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.entries(v).some(([k, x]) => dirty(k) || dirty(x));
  return false;
};

/**
 * NUL bytes and lone UTF-16 surrogates cannot be stored by PostgreSQL (text refuses NUL, UTF-8
 * has no surrogates), so one in any field used to fail the whole write with a 500. Every parsed
 * body (JSON, form, the fields of a multipart form), query and path parameter is cleaned on the
 * way in, before any route or verb reads it; raw bodies (Buffers, signed webhooks) are left alone.
 */
export async function cleanRequest(req: FastifyRequest): Promise<void> {
  if (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) && dirty(req.body)) req.body = cleanDeep(req.body);
  if (dirty(req.query)) req.query = cleanDeep(req.query);
  if (dirty(req.params)) req.params = cleanDeep(req.params);
}
