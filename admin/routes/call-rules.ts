import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createCallRule, deleteCallRule, getCallRule, listCallRules, moveCallRule, updateCallRule, type CallRule } from '../../core/telephony/rules.js';
import { listLines } from '../../core/telephony/lines.js';
import { callRuleTargetLabels, phoneProviderLabels, type CallRuleTarget } from '../../core/telephony/labels.js';
import { listUsers } from '../../core/users/users.js';
import { body, idParam, str } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

const LIST = '/admin/books/call-rules';

const optionalId = z
  .string()
  .optional()
  .transform((s) => (s && /^\d{1,10}$/.test(s) ? Number(s) : null));

// the verb checks the hours, the target and who it names; the form turns boxes and lists into values
const ruleForm = z.object({
  name: z.string('укажите название'),
  lineId: optionalId,
  timeFrom: z.string().optional(),
  timeTo: z.string().optional(),
  target: z.enum(Object.keys(callRuleTargetLabels) as [CallRuleTarget, ...CallRuleTarget[]], 'выберите, кому отдавать звонок'),
  targetUserId: optionalId,
  memberIds: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => [v ?? []].flat().filter((s) => /^\d{1,10}$/.test(s)).map(Number)),
  active: z
    .string()
    .optional()
    .transform((v) => v !== undefined),
});

/** «Прием звонков IP»: the rules that give an incoming call to a user, tried in order. */
export default async function callRuleRoutes(app: FastifyInstance, deps: AdminDeps) {
  const choices = async (req: FastifyRequest) => {
    const ctx = ctxOf(deps, req);
    const [lines, users] = await Promise.all([listLines(ctx), listUsers(ctx, { activeOnly: true })]);
    return {
      lines: lines.map((l) => ({ id: l.id, label: `${l.name} (${phoneProviderLabels[l.provider]})` })),
      users: users.map((u) => ({ id: u.id, name: u.name })),
      targets: Object.entries(callRuleTargetLabels).map(([value, label]) => ({ value, label })),
    };
  };

  app.get('/books/call-rules', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const [rules, c, everyone] = await Promise.all([listCallRules(ctx), choices(req), listUsers(ctx)]);
    const nameOf = Object.fromEntries(everyone.map((u) => [u.id, u.name]));
    const lineOf = Object.fromEntries(c.lines.map((l) => [l.id, l.label]));
    return render(deps, req, reply, 'books/call-rules', {
      title: 'Прием звонков IP',
      rules: rules.map((r: CallRule) => ({
        ...r,
        lineLabel: r.lineId ? (lineOf[r.lineId] ?? '—') : 'любая',
        hours: r.timeFrom && r.timeTo ? `${r.timeFrom}–${r.timeTo}` : 'круглосуточно',
        whom: callRuleTargetLabels[r.target] + (r.target === 'user' && r.targetUserId ? `: ${nameOf[r.targetUserId] ?? '—'}` : '') + (r.target === 'queue' ? `: ${r.memberIds.map((id) => nameOf[id] ?? '—').join(', ')}` : ''),
      })),
      ...c,
      rule: null,
    });
  });

  app.post('/books/call-rules', async (req, reply) =>
    formAction(deps, reply, LIST, () => createCallRule(ctxOf(deps, req), parseForm(ruleForm, body(req))), (r) => ({ text: `Правило «${r.name}» добавлено последним` }), 'Не добавлено: '),
  );

  app.get('/books/call-rules/:id', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const rule = await getCallRule(ctxOf(deps, req), idParam(req.params));
    return render(deps, req, reply, 'books/call-rule', { title: rule.name, rule, ...(await choices(req)) });
  });

  app.post('/books/call-rules/:id', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `${LIST}/${id}`, () => updateCallRule(ctxOf(deps, req), id, parseForm(ruleForm, body(req))), (r) => ({ text: `Правило «${r.name}» сохранено`, to: LIST }), 'Не сохранено: ');
  });

  app.post('/books/call-rules/:id/move', async (req, reply) => {
    const dir = str(body(req), 'dir') === 'up' ? 'up' : 'down';
    return formAction(deps, reply, LIST, () => moveCallRule(ctxOf(deps, req), idParam(req.params), dir), () => ({ text: dir === 'up' ? 'Правило поднято' : 'Правило опущено' }));
  });

  app.post('/books/call-rules/:id/delete', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `${LIST}/${id}`, () => deleteCallRule(ctxOf(deps, req), id), () => ({ text: 'Правило удалено', to: LIST }));
  });
}
