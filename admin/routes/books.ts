import type { FastifyInstance, FastifyReply } from 'fastify';
import { createSegment, deleteSegment, listSegmentAssignments, listSegments, renameSegment, setUserSegments } from '../../core/segments/segments.js';
import { createAction, createResult, deleteAction, deleteResult, listActions, listResults, updateAction } from '../../core/works/actions.js';
import { renameResult } from '../../core/works/results.js';
import { createDealStage, deleteDealStage, listDealStages } from '../../core/deals/deals.js';
import { updateDealStage } from '../../core/deals/stages.js';
import { documentEventLabels } from '../../core/documents/stage-moves.js';
import { createCampaign, editCampaign, listCampaignBook, removeCampaign } from '../../core/leads/campaign-book.js';
import { leadSourceCounts } from '../../core/leads/sources.js';
import { listUsers } from '../../core/users/users.js';
import { inTransaction } from '../../core/context.js';
import { isServiceError } from '../../core/errors.js';
import { body, idParam, ints, str } from '../forms.js';
import { ctxOf, redirectWith, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

/** Runs a reference-book change and comes back to the book with its outcome; a refusal is shown, not thrown. */
async function change(deps: AdminDeps, reply: FastifyReply, back: string, ok: string, fn: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    await fn();
  } catch (e) {
    if (isServiceError(e) && ['invalid', 'conflict', 'not_found'].includes(e.code)) {
      return redirectWith(deps, reply, back, { type: 'error', text: e.code === 'invalid' && Object.keys(e.fields).length ? Object.values(e.fields).join('; ') : e.message });
    }
    throw e;
  }
  return redirectWith(deps, reply, back, { type: 'ok', text: ok });
}

export default async function bookRoutes(app: FastifyInstance, deps: AdminDeps) {
  // Сегменты рынка
  app.get('/segments', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const [segments, assignments] = await Promise.all([listSegments(ctx), listSegmentAssignments(ctx)]);
    const managersOf: Record<number, string[]> = {};
    for (const a of assignments) (managersOf[a.segmentId] ??= []).push(a.userName);
    return render(deps, req, reply, 'books/segments', { title: 'Сегменты рынка', segments, managersOf });
  });
  app.post('/segments', async (req, reply) => {
    const form = body(req);
    return change(deps, reply, '/admin/segments', `Сегмент «${str(form, 'name')}» добавлен`, () =>
      createSegment(ctxOf(deps, req), { name: str(form, 'name'), description: str(form, 'description') }),
    );
  });
  app.post('/segments/:id', async (req, reply) =>
    change(deps, reply, '/admin/segments', 'Сегмент переименован', () => renameSegment(ctxOf(deps, req), idParam(req.params), str(body(req), 'name'))),
  );
  app.post('/segments/:id/delete', async (req, reply) =>
    change(deps, reply, '/admin/segments', 'Сегмент удалён', () => deleteSegment(ctxOf(deps, req), idParam(req.params))),
  );

  // «Менеджер по работе с клиентами»: which segments each user works
  app.get('/managers', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const [users, segments, assignments] = await Promise.all([listUsers(ctx, { activeOnly: true }), listSegments(ctx), listSegmentAssignments(ctx)]);
    const has = new Set(assignments.map((a) => `${a.userId}:${a.segmentId}`));
    return render(deps, req, reply, 'books/managers', { title: 'Менеджер по работе с клиентами', users: users.filter((u) => u.role !== 'admin' || has.size), segments, has });
  });
  app.post('/managers', async (req, reply) => {
    const form = body(req);
    const ctx = ctxOf(deps, req);
    return change(deps, reply, '/admin/managers', 'Назначения сегментов сохранены', () =>
      inTransaction(ctx, async (tx) => {
        for (const userId of ints(form, 'users')) await setUserSegments(tx, userId, ints(form, `seg_${userId}`));
      }),
    );
  });

  // Действия и результаты
  app.get('/actions', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const [actions, results] = await Promise.all([listActions(ctx), listResults(ctx)]);
    return render(deps, req, reply, 'books/actions', { title: 'Действия и результаты', actions, results });
  });
  app.post('/actions', async (req, reply) => {
    const form = body(req);
    return change(deps, reply, '/admin/actions', `Действие «${str(form, 'name')}» добавлено`, () =>
      createAction(ctxOf(deps, req), { name: str(form, 'name'), resultIds: ints(form, 'resultIds') }),
    );
  });
  app.post('/actions/:id', async (req, reply) => {
    const form = body(req);
    return change(deps, reply, '/admin/actions', 'Действие сохранено', () =>
      updateAction(ctxOf(deps, req), idParam(req.params), { name: str(form, 'name'), resultIds: ints(form, 'resultIds') }),
    );
  });
  app.post('/actions/:id/delete', async (req, reply) =>
    change(deps, reply, '/admin/actions', 'Действие удалено', () => deleteAction(ctxOf(deps, req), idParam(req.params))),
  );
  app.post('/results', async (req, reply) =>
    change(deps, reply, '/admin/actions', 'Результат добавлен', () => createResult(ctxOf(deps, req), str(body(req), 'name'))),
  );
  app.post('/results/:id', async (req, reply) =>
    change(deps, reply, '/admin/actions', 'Результат переименован', () => renameResult(ctxOf(deps, req), idParam(req.params), str(body(req), 'name'))),
  );
  app.post('/results/:id/delete', async (req, reply) =>
    change(deps, reply, '/admin/actions', 'Результат удалён', () => deleteResult(ctxOf(deps, req), idParam(req.params))),
  );

  // Стадии сделок
  app.get('/stages', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return render(deps, req, reply, 'books/stages', { title: 'Стадии сделок', stages: await listDealStages(ctxOf(deps, req)), documentEvents: documentEventLabels });
  });
  const stageInput = (form: ReturnType<typeof body>) => ({
    name: str(form, 'name'),
    sortOrder: str(form, 'sortOrder') || '100',
    isWon: str(form, 'outcome') === 'won',
    isLost: str(form, 'outcome') === 'lost',
    enterOn: str(form, 'enterOn'),
  });
  app.post('/stages', async (req, reply) =>
    change(deps, reply, '/admin/stages', 'Стадия добавлена', () => createDealStage(ctxOf(deps, req), stageInput(body(req)) as never)),
  );
  app.post('/stages/:id', async (req, reply) =>
    change(deps, reply, '/admin/stages', 'Стадия сохранена', () => updateDealStage(ctxOf(deps, req), idParam(req.params), stageInput(body(req)))),
  );
  app.post('/stages/:id/delete', async (req, reply) =>
    change(deps, reply, '/admin/stages', 'Стадия удалена', () => deleteDealStage(ctxOf(deps, req), idParam(req.params))),
  );

  // Рекламные кампании (R15)
  app.get('/campaigns', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return render(deps, req, reply, 'books/campaigns', { title: 'Рекламные кампании', campaigns: await listCampaignBook(ctxOf(deps, req)) });
  });
  app.post('/campaigns', async (req, reply) => {
    const form = body(req);
    return change(deps, reply, '/admin/campaigns', 'Кампания добавлена', () =>
      createCampaign(ctxOf(deps, req), { name: str(form, 'name'), utmSource: str(form, 'utmSource'), utmMedium: str(form, 'utmMedium'), utmCampaign: str(form, 'utmCampaign') }),
    );
  });
  app.post('/campaigns/:id', async (req, reply) =>
    change(deps, reply, '/admin/campaigns', 'Кампания переименована', () => editCampaign(ctxOf(deps, req), idParam(req.params), str(body(req), 'name'))),
  );
  app.post('/campaigns/:id/delete', async (req, reply) =>
    change(deps, reply, '/admin/campaigns', 'Кампания удалена', () => removeCampaign(ctxOf(deps, req), idParam(req.params))),
  );

  // Источники лидов: a fixed list, read-only
  app.get('/lead-sources', async (req, reply) =>
    render(deps, req, reply, 'books/lead-sources', { title: 'Источники лидов', sources: await leadSourceCounts(ctxOf(deps, req)) }),
  );

}
