import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyScopeLabel, createApiKey, createLinkCode, createUser, getUser, listApiKeys, listUsers, revokeApiKey, setPassword, updateUser } from '../../core/users/users.js';
import { deleteUser } from '../../core/users/delete-user.js';
import { destroyUserSessions } from '../../core/sessions/sessions.js';
import { listSegmentAssignments } from '../../core/segments/segments.js';
import { isServiceError } from '../../core/errors.js';
import type { Role } from '../../core/context.js';
import { body, bool, idParam, str } from '../forms.js';
import { ctxOf, redirectWith, render, requireRoles } from '../render.js';
import { telegramBotUsername } from '../telegram.js';
import type { AdminDeps } from '../types.js';
import { zoneChoices } from '../format.js';
import { extensionLabels, setUserExtensions, userExtensions } from '../../core/telephony/lines.js';
import { phoneProviders } from '../../core/telephony/types.js';
import { formAction } from '../form-action.js';

const roles: Role[] = ['admin', 'head', 'manager'];
const isRole = (v: string): v is Role => (roles as string[]).includes(v);
const newPassword = () => randomBytes(9).toString('base64url');

export default async function userRoutes(app: FastifyInstance, deps: AdminDeps) {
  const listPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    requireRoles(req, 'admin');
    const ctx = ctxOf(deps, req);
    const [users, assignments] = await Promise.all([listUsers(ctx), listSegmentAssignments(ctx)]);
    const segmentsOf: Record<number, string[]> = {};
    for (const a of assignments) (segmentsOf[a.userId] ??= []).push(a.segmentName);
    return render(deps, req, reply, 'books/users', { title: 'Пользователи', users, segmentsOf, values: {}, errors: {}, ...extra }, status);
  };

  const userPage = async (req: FastifyRequest, reply: FastifyReply, id: number, extra: Record<string, unknown> = {}, status = 200) => {
    requireRoles(req, 'admin');
    const ctx = ctxOf(deps, req);
    const user = await getUser(ctx, id);
    const assignments = (await listSegmentAssignments(ctx)).filter((a) => a.userId === id);
    const zones = zoneChoices();
    const extensions = await userExtensions(ctx, id);
    const phoneFields = phoneProviders.map((provider) => ({ provider, label: extensionLabels[provider], value: extensions[provider] ?? '' }));
    return render(deps, req, reply, 'books/user', { title: user.name, user, segments: assignments.map((a) => a.segmentName), zones, phoneFields, errors: {}, ...extra }, status);
  };

  app.get('/users', (req, reply) => listPage(req, reply));

  app.post('/users', async (req, reply) => {
    requireRoles(req, 'admin');
    const form = body(req);
    const password = str(form, 'password') || newPassword();
    try {
      const user = await createUser(ctxOf(deps, req), { email: str(form, 'email'), name: str(form, 'name'), role: str(form, 'role') as Role, password });
      // the password is shown on this one answer and never again
      return userPage(req, reply, user.id, { created: true, shownPassword: str(form, 'password') ? null : password });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) {
        return listPage(req, reply, { values: form, errors: e.fields, error: e.message }, 400);
      }
      throw e;
    }
  });

  app.get('/users/:id', (req, reply) => userPage(req, reply, idParam(req.params)));

  app.post('/users/:id', async (req, reply) => {
    requireRoles(req, 'admin');
    const id = idParam(req.params);
    const form = body(req);
    const ctx = ctxOf(deps, req);
    const role = str(form, 'role');
    try {
      const user = await updateUser(ctx, id, {
        name: str(form, 'name'),
        ...(isRole(role) ? { role } : {}),
        active: bool(form, 'active'),
        onDuty: bool(form, 'onDuty'),
        timeZone: str(form, 'timeZone') || 'Europe/Moscow',
      });
      if (!user.active) await destroyUserSessions(ctx, id);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return userPage(req, reply, id, { errors: e.fields }, 400);
      throw e;
    }
    return redirectWith(deps, reply, `/admin/users/${id}`, { type: 'ok', text: 'Сохранено' });
  });

  // the user's extension at each provider: where click-to-call rings first and whose answer a call records
  app.post('/users/:id/extensions', async (req, reply) => {
    requireRoles(req, 'admin');
    const id = idParam(req.params);
    const form = body(req);
    const ext = Object.fromEntries(phoneProviders.map((p) => [p, str(form, `extension_${p}`)]));
    return formAction(deps, reply, `/admin/users/${id}`, () => setUserExtensions(ctxOf(deps, req), id, ext), () => ({ text: 'Внутренние номера сохранены' }), 'Не сохранено: ');
  });

  app.post('/users/:id/password', async (req, reply) => {
    requireRoles(req, 'admin');
    const id = idParam(req.params);
    const ctx = ctxOf(deps, req);
    const given = str(body(req), 'password');
    const password = given || newPassword();
    try {
      await setPassword(ctx, id, password);
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return userPage(req, reply, id, { errors: e.fields }, 400);
      throw e;
    }
    // a reset signs the user out everywhere (unless they reset their own)
    await destroyUserSessions(ctx, id, id === req.adminUser!.id ? (req.adminToken ?? undefined) : undefined);
    return userPage(req, reply, id, { passwordReset: true, shownPassword: given ? null : password });
  });

  app.post('/users/:id/link-code', async (req, reply) => {
    requireRoles(req, 'admin');
    const id = idParam(req.params);
    const { code, expiresAt } = await createLinkCode(ctxOf(deps, req), id);
    const bot = await telegramBotUsername(deps.services.config, req.log);
    return userPage(req, reply, id, { linkCode: { code, expiresAt, deepLink: bot ? `https://t.me/${bot}?start=${code}` : null } });
  });

  app.post('/users/:id/delete', async (req, reply) => {
    requireRoles(req, 'admin');
    const id = idParam(req.params);
    try {
      await deleteUser(ctxOf(deps, req), id);
    } catch (e) {
      if (isServiceError(e) && (e.code === 'conflict' || e.code === 'forbidden')) return redirectWith(deps, reply, `/admin/users/${id}`, { type: 'error', text: e.message });
      throw e;
    }
    return redirectWith(deps, reply, '/admin/users', { type: 'ok', text: 'Пользователь удалён' });
  });

  // API keys: the key is shown once, on the answer to its creation
  const keysPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    requireRoles(req, 'admin');
    return render(deps, req, reply, 'books/api-keys', { title: 'API-ключи', keys: await listApiKeys(ctxOf(deps, req)), scopes: apiKeyScopeLabel, ...extra }, status);
  };
  app.get('/api-keys', (req, reply) => keysPage(req, reply));
  app.post('/api-keys', async (req, reply) => {
    requireRoles(req, 'admin');
    try {
      const { key } = await createApiKey(ctxOf(deps, req), str(body(req), 'name'), str(body(req), 'scope'));
      return keysPage(req, reply, { newKey: key });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return keysPage(req, reply, { error: Object.values(e.fields).join('; ') }, 400);
      throw e;
    }
  });
  app.post('/api-keys/:id/revoke', async (req, reply) => {
    await revokeApiKey(ctxOf(deps, req), idParam(req.params));
    return redirectWith(deps, reply, '/admin/api-keys', { type: 'ok', text: 'Ключ отозван: запросы с ним больше не принимаются' });
  });
}
