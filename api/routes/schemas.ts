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
    error: { type: 'string', description: 'invalid, unauthenticated, not_found, rate_limited…' },
    message: { type: 'string' },
    fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'поле → что с ним не так' },
  },
} as const;

export const formFields = {
  type: 'object',
  description: 'Поля формы по их именам (регистр не важен): Name, Phone, Email, Comments, Company, utm_*, а также COOKIES.',
  additionalProperties: true,
} as const;
