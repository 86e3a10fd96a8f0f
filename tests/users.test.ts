import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { fixedClock, openWorld, type World } from './helpers/world.js';
import {
  authenticate,
  authenticateApiKey,
  createApiKey,
  createLinkCode,
  createUser,
  findUserByTelegramId,
  linkTelegram,
  revokeApiKey,
  setPassword,
} from '../core/users/users.js';
import { createSegment, deleteSegment, getUserSegmentIds, listSegmentAssignments, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { ServiceError } from '../core/errors.js';

const clock = fixedClock('2026-11-26T10:00:00Z');
let w: World;
before(async () => (w = await openWorld({ clock })));
after(() => w.close());
const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;

describe('users', () => {
  test('passwords are stored hashed and checked; a wrong one and an unknown e-mail get the same answer', async () => {
    const u = await createUser(w.system, { email: 'Olga@Example.ru', name: 'Ольга', role: 'manager', password: 'секрет-пароль' });
    assert.equal(u.email, 'olga@example.ru');
    const [row] = await w.database.rows<{ password_hash: string }>(sql`SELECT password_hash FROM users WHERE id = ${u.id}`);
    assert.ok(!row!.password_hash.includes('секрет'));
    assert.match(row!.password_hash, /^scrypt\$/);
    assert.equal((await authenticate(w.system, 'olga@example.ru', 'секрет-пароль')).id, u.id);
    const wrong = await authenticate(w.system, 'olga@example.ru', 'не тот').catch((e: ServiceError) => e.message);
    const unknown = await authenticate(w.system, 'nobody@example.ru', 'секрет-пароль').catch((e: ServiceError) => e.message);
    assert.equal(wrong, unknown);
    await setPassword(w.system, u.id, 'новый-пароль');
    await authenticate(w.system, 'olga@example.ru', 'новый-пароль');
  });

  test('bad input and duplicates', async () => {
    await assert.rejects(createUser(w.system, { email: 'x', name: '', role: 'boss' as 'admin' }), (e: ServiceError) => {
      assert.deepEqual(Object.keys(e.fields).sort(), ['email', 'name', 'role']);
      return true;
    });
    await createUser(w.system, { email: 'dup@example.ru', name: 'A', role: 'manager' });
    await assert.rejects(createUser(w.system, { email: 'DUP@example.ru', name: 'B', role: 'manager' }), code('conflict'));
    const m = await w.user('manager');
    await assert.rejects(createUser(w.as(m), { email: 'new@example.ru', name: 'B', role: 'admin' }), code('forbidden'));
  });

  test('a Telegram link code works once and expires', async () => {
    const u = await w.user('manager');
    const { code: c } = await createLinkCode(w.system, u.id, 60);
    const linked = await linkTelegram(w.system, c.toLowerCase(), 555001);
    assert.equal(linked.telegramId, 555001);
    assert.equal((await findUserByTelegramId(w.system, 555001))!.id, u.id);
    await assert.rejects(linkTelegram(w.system, c, 555002), code('invalid'));
    const { code: late } = await createLinkCode(w.system, u.id, 60);
    clock.set('2026-11-26T11:01:00Z');
    await assert.rejects(linkTelegram(w.system, late, 555003), code('invalid'));
    clock.set('2026-11-26T10:00:00Z');
    await assert.rejects(linkTelegram(w.system, 'NOSUCHCODE', 555004), code('invalid'));
    assert.equal(await findUserByTelegramId(w.system, 555004), null);
  });

  test('API keys are shown once, stored hashed, and stop working when revoked', async () => {
    const { id, key } = await createApiKey(w.system, 'Сайт');
    const [row] = await w.database.rows<{ key_hash: string }>(sql`SELECT key_hash FROM api_keys WHERE id = ${id}`);
    assert.notEqual(row!.key_hash, key);
    assert.ok(!row!.key_hash.includes(key.slice(4)));
    assert.deepEqual(await authenticateApiKey(w.system, key), { kind: 'apiKey', apiKeyId: id, name: 'Сайт' });
    assert.equal(await authenticateApiKey(w.system, key + 'x'), null);
    await revokeApiKey(w.system, id);
    assert.equal(await authenticateApiKey(w.system, key), null);
  });
});

describe('segments and «Менеджер по работе с клиентами»', () => {
  test('a manager has one or more segments; a segment in use cannot be deleted', async () => {
    const a = await createSegment(w.system, { name: 'Розница' });
    const b = await createSegment(w.system, { name: 'Опт' });
    await assert.rejects(createSegment(w.system, { name: 'Розница' }), code('conflict'));
    const m = await w.user('manager', { name: 'Менеджер М' });
    await setUserSegments(w.system, m.id, [a.id, b.id]);
    assert.deepEqual(await getUserSegmentIds(w.system, m.id), [a.id, b.id].sort((x, y) => x - y));
    assert.equal((await listSegmentAssignments(w.system)).filter((r) => r.userId === m.id).length, 2);
    await assert.rejects(deleteSegment(w.system, a.id), code('conflict'));
    await setUserSegments(w.system, m.id, [b.id]);
    await deleteSegment(w.system, a.id);
    await createCounterparty(w.system, { kind: 'individual', name: 'Оптовик', segmentId: b.id });
    await setUserSegments(w.system, m.id, []);
    await assert.rejects(deleteSegment(w.system, b.id), code('conflict'));
    await assert.rejects(setUserSegments(w.system, m.id, [999999]), code('invalid'));
  });
});
