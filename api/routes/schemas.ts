/** JSON schemas shared by the public API routes; they validate requests and make the OpenAPI document. */

const str = (maxLength: number, description?: string) => ({ type: 'string', maxLength, ...(description ? { description } : {}) }) as const;

export const leadSubmission = {
  type: 'object',
  description: 'Заявка: нужен телефон или e-mail. Поля UTM и идентификаторы кликов сохраняются в лиде, кампания находится или создаётся по utm_source/utm_medium/utm_campaign.',
  properties: {
    name: str(300, 'Имя клиента'),
    phone: str(50, 'Телефон в любом написании: +7 916 123-45-67, 8 (916) 1234567'),
    email: str(320, 'E-mail'),
    company: str(500, 'Компания: находится по названию или создаётся контрагент'),
    comment: str(10_000, 'Комментарий или вопрос клиента'),
    page_url: str(2000, 'Страница, с которой отправлена заявка'),
    utm_source: str(200),
    utm_medium: str(200),
    utm_campaign: str(200),
    utm_content: str(500),
    utm_term: str(500),
    yclid: str(200, 'Идентификатор клика Яндекс Директа'),
    gclid: str(200),
    fbclid: str(500),
    external_id: str(200, 'Ваш идентификатор заявки: повтор с тем же значением вернёт первый лид'),
  },
} as const;

const nullable = <T extends Record<string, unknown>>(schema: T) => ({ ...schema, type: [schema.type as string, 'null'] });

export const leadCard = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    status: { type: 'string', enum: ['new', 'in_progress', 'converted', 'closed'] },
    source: { type: 'string' },
    external_id: { type: ['string', 'null'] },
    comment: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    responsible_id: { type: ['integer', 'null'] },
    contact: nullable({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        phones: { type: 'array', items: { type: 'string' } },
        emails: { type: 'array', items: { type: 'string' } },
      },
    }),
    counterparty: nullable({ type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }),
    campaign: nullable({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        utm_source: { type: 'string' },
        utm_medium: { type: 'string' },
        utm_campaign: { type: 'string' },
      },
    }),
    tracking: { type: 'object', description: 'UTM-метки, идентификаторы кликов, адрес страницы, соцсеть', additionalProperties: { type: 'string' } },
  },
} as const;

export const errorBody = {
  type: 'object',
  properties: {
    error: { type: 'string', description: 'invalid, unauthenticated, forbidden, not_found, too_large, unsupported_media_type, rate_limited…' },
    message: { type: 'string', description: 'что случилось, по-русски' },
    fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'поле → что с ним не так' },
  },
} as const;

/** A record's number in a path: PostgreSQL's integer, so a longer one is refused (400) before any query. */
export const recordId = { type: 'integer', minimum: 1, maximum: 2_147_483_647, description: 'номер записи' } as const;

/** An error answer with its meaning for the OpenAPI document. */
export const errorResponse = (description: string) => ({ ...errorBody, description });

/** What any public route may answer besides its own outcomes: the per-key (or per-address) rate limit. */
export const rateLimited = { 429: errorResponse('Слишком много запросов: повторите через столько секунд, сколько в заголовке Retry-After') } as const;

/** What any public route with a request body may answer before the body is read. */
export const bodyRefusals = {
  413: errorResponse('Тело запроса больше допустимого размера'),
  415: errorResponse('Тип содержимого (Content-Type) не поддерживается этим адресом'),
  ...rateLimited,
} as const;

export const formFields = {
  type: 'object',
  description: 'Поля формы по их именам (регистр не важен): Name, Phone, Email, Comments, Company, utm_*, а также COOKIES.',
  additionalProperties: true,
} as const;
