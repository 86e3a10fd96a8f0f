import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createLine, deleteLine, getLine, listLines, updateLine } from '../../core/telephony/lines.js';
import { phoneProviderLabels } from '../../core/telephony/labels.js';
import { phoneProviders } from '../../core/telephony/types.js';
import { body, idParam } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

const LIST = '/admin/books/phone-lines';

// the verb checks the number and the provider; the form only says which box is ticked
const lineForm = z.object({
  provider: z.enum(phoneProviders, 'выберите АТС'),
  number: z.string('укажите номер'),
  name: z.string('укажите название'),
  active: z
    .string()
    .optional()
    .transform((v) => v !== undefined),
});

/** «Линии»: the company's numbers at each provider; the head and the admin keep the book. */
export default async function phoneLineRoutes(app: FastifyInstance, deps: AdminDeps) {
  const providers = phoneProviders.map((value) => ({ value, label: phoneProviderLabels[value] }));

  app.get('/books/phone-lines', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const lines = await listLines(ctxOf(deps, req));
    return render(deps, req, reply, 'books/phone-lines', { title: 'Линии', lines, providers, providerLabels: phoneProviderLabels });
  });

  app.post('/books/phone-lines', async (req, reply) =>
    formAction(deps, reply, LIST, () => createLine(ctxOf(deps, req), parseForm(lineForm, body(req))), (l) => ({ text: `Линия «${l.name}» добавлена` }), 'Не добавлено: '),
  );

  app.get('/books/phone-lines/:id', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const line = await getLine(ctxOf(deps, req), idParam(req.params));
    return render(deps, req, reply, 'books/phone-line', { title: line.name, line, providers });
  });

  app.post('/books/phone-lines/:id', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `${LIST}/${id}`, () => updateLine(ctxOf(deps, req), id, parseForm(lineForm, body(req))), (l) => ({ text: `Линия «${l.name}» сохранена`, to: LIST }), 'Не сохранено: ');
  });

  app.post('/books/phone-lines/:id/delete', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `${LIST}/${id}`, () => deleteLine(ctxOf(deps, req), id), () => ({ text: 'Линия удалена', to: LIST }));
  });
}
