import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { answerPlaceholders, deleteAnswerTemplate, getAnswerTemplate, listAnswerTemplates, saveAnswerTemplate } from '../../core/helpdesk/templates.js';
import { body, idParam } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, hasRole, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

const LIST = '/admin/books/answer-templates';

type Placeholder = (typeof answerPlaceholders)[number];

/** What each {{placeholder}} becomes, for the people who write templates (a new placeholder without a line here is a type error). */
export const placeholderMeanings: Record<Placeholder, string> = {
  имя: 'имя контакта клиента (например, «Анна»)',
  клиент: 'контакт клиента полностью, как в карточке',
  компания: 'контрагент клиента (название компании)',
  менеджер: 'имя того, кто отвечает',
  номер: 'номер обращения',
  тема: 'тема обращения',
};

// the verb checks the placeholders and the lengths; the form only reads the boxes and the number
const templateForm = z.object({
  title: z.string('укажите название'),
  body: z.string('впишите текст'),
  sortOrder: z
    .string()
    .optional()
    .transform((s, c) => {
      const v = (s ?? '').trim();
      if (v === '') return 0;
      if (!/^-?\d{1,6}$/.test(v)) {
        c.addIssue({ code: 'custom', message: 'порядок — целое число' });
        return z.NEVER;
      }
      return Number(v);
    }),
  active: z
    .string()
    .optional()
    .transform((v) => v !== undefined),
});

/** Only the admin and the head keep the book; checked here so a manager's post comes back as a message, not a page of error. */
const staffOnly = (req: FastifyRequest) => requireRoles(req, 'admin', 'head');

/** «Шаблоны ответов»: ready answers for tickets, with placeholders; everyone reads, the admin and the head write. */
export default async function answerTemplateRoutes(app: FastifyInstance, deps: AdminDeps) {
  const placeholders = answerPlaceholders.map((name) => ({ name, tag: `{{${name}}}`, meaning: placeholderMeanings[name] }));

  app.get('/books/answer-templates', async (req, reply) => {
    const canEdit = hasRole(req, 'admin', 'head');
    const templates = await listAnswerTemplates(ctxOf(deps, req), { includeInactive: canEdit });
    return render(deps, req, reply, 'books/answer-templates', { title: 'Шаблоны ответов', templates, placeholders, canEdit });
  });

  app.post('/books/answer-templates', async (req, reply) =>
    formAction(
      deps,
      reply,
      LIST,
      () => {
        staffOnly(req);
        return saveAnswerTemplate(ctxOf(deps, req), null, parseForm(templateForm, body(req)));
      },
      (t) => ({ text: `Шаблон «${t.title}» добавлен` }),
      'Не добавлено: ',
    ),
  );

  app.get('/books/answer-templates/:id', async (req, reply) => {
    staffOnly(req);
    const template = await getAnswerTemplate(ctxOf(deps, req), idParam(req.params));
    return render(deps, req, reply, 'books/answer-template', { title: template.title, template, placeholders });
  });

  app.post('/books/answer-templates/:id', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      // a manager has no edit page to go back to
      hasRole(req, 'admin', 'head') ? `${LIST}/${id}` : LIST,
      () => {
        staffOnly(req);
        return saveAnswerTemplate(ctxOf(deps, req), id, parseForm(templateForm, body(req)));
      },
      (t) => ({ text: `Шаблон «${t.title}» сохранён`, to: LIST }),
      'Не сохранено: ',
    );
  });

  app.post('/books/answer-templates/:id/delete', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      LIST,
      () => {
        staffOnly(req);
        return deleteAnswerTemplate(ctxOf(deps, req), id);
      },
      () => ({ text: 'Шаблон удалён', to: LIST }),
    );
  });
}
