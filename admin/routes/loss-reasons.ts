import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createLossReason, listLossReasons, updateLossReason } from '../../core/deals/loss-reasons.js';
import { body, idParam } from '../forms.js';
import { ctxOf, render, requireRoles } from '../render.js';
import { formAction, parseForm } from '../form-action.js';
import type { AdminDeps } from '../types.js';

const BACK = '/admin/books/loss-reasons';

const reasonForm = z.object({
  name: z.string('укажите название').trim().min(1, 'укажите название'),
  sortOrder: z
    .string()
    .optional()
    .transform((s) => (s ?? '').trim() || '100'),
});

/** «Причины отказа» (R10): the head and the admin keep the book; archived reasons stay on old deals. */
export default async function lossReasonRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/books/loss-reasons', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return render(deps, req, reply, 'books/loss-reasons', { title: 'Причины отказа', reasons: await listLossReasons(ctxOf(deps, req), { includeArchived: true }) });
  });

  app.post('/books/loss-reasons', async (req, reply) =>
    formAction(deps, reply, BACK, () => createLossReason(ctxOf(deps, req), parseForm(reasonForm, body(req))), (r) => ({ text: `Причина «${r.name}» добавлена` })),
  );

  app.post('/books/loss-reasons/:id', async (req, reply) =>
    formAction(deps, reply, BACK, () => updateLossReason(ctxOf(deps, req), idParam(req.params), parseForm(reasonForm, body(req))), (r) => ({ text: `Причина «${r.name}» сохранена` })),
  );

  for (const [action, archived] of [['archive', true], ['restore', false]] as const) {
    app.post(`/books/loss-reasons/:id/${action}`, async (req, reply) =>
      formAction(
        deps,
        reply,
        BACK,
        async () => {
          const ctx = ctxOf(deps, req);
          const id = idParam(req.params);
          const current = (await listLossReasons(ctx, { includeArchived: true })).find((r) => r.id === id);
          return updateLossReason(ctx, id, { name: current?.name ?? '', archived });
        },
        (r) => ({ text: archived ? `Причина «${r.name}» в архиве` : `Причина «${r.name}» снова предлагается` }),
      ),
    );
  }
}
