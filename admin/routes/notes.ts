import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addNote, deleteNote, noteEntities, updateNote } from '../../core/notes/notes.js';
import { safeNext } from '../session.js';
import { body, idParam, str } from '../forms.js';
import { ctxOf } from '../render.js';
import { formAction, parseForm } from '../form-action.js';
import { cardPath } from '../lists.js';
import type { AdminDeps } from '../types.js';


const noteForm = z.object({
  entity: z.enum(noteEntities, 'заметку можно оставить у контрагента, контакта, лида или сделки'),
  id: z.coerce.number('нет такой записи').int('нет такой записи').positive('нет такой записи').max(2_147_483_647, 'нет такой записи'),
  text: z.string('напишите заметку').default(''),
});
const noteTextForm = z.object({ text: z.string('напишите заметку').default('') });

/** «Заметки» on every card (R12): add, edit and delete; the verbs check who may. Each form returns to its tab. */
export default async function noteRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.post('/notes', async (req, reply) => {
    const form = body(req);
    const entity = str(form, 'entity');
    const fallback = Object.hasOwn(cardPath, entity) ? `/admin/${cardPath[entity as keyof typeof cardPath]}/${str(form, 'id')}?tab=notes` : '/admin';
    const back = safeNext(str(form, 'back') || fallback);
    return formAction(
      deps,
      reply,
      back,
      () => {
        const f = parseForm(noteForm, form);
        return addNote(ctxOf(deps, req), f.entity, f.id, f.text);
      },
      () => ({ text: 'Заметка добавлена' }),
      'Заметка не добавлена: ',
    );
  });

  app.post('/notes/:id', async (req, reply) => {
    const form = body(req);
    return formAction(
      deps,
      reply,
      safeNext(str(form, 'back')),
      () => updateNote(ctxOf(deps, req), idParam(req.params), parseForm(noteTextForm, form).text),
      () => ({ text: 'Заметка сохранена' }),
      'Заметка не сохранена: ',
    );
  });

  app.post('/notes/:id/delete', async (req, reply) => {
    return formAction(
      deps,
      reply,
      safeNext(str(body(req), 'back')),
      () => deleteNote(ctxOf(deps, req), idParam(req.params)),
      () => ({ text: 'Заметка удалена' }),
      'Заметка не удалена: ',
    );
  });
}
