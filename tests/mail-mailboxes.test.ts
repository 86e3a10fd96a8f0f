import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { openWorld, type World } from './helpers/world.js';
import { freePort, rawLetter, startDovecot, type Dovecot, type MailUser } from './helpers/dovecot.js';
import { startSmtp, type SmtpFake } from './helpers/smtp.js';
import { auditLog, emails, mailboxes } from '../core/db/schema/index.js';
import type { User } from '../core/users/users.js';
import { systemActor } from '../core/context.js';
import { defaultMailPolicy, type MailEnv } from '../core/mail/env.js';
import { mailServicePresets } from '../core/mail/presets.js';
import {
  checkMailboxConnection,
  checkMailboxSettings,
  createMailbox,
  deleteMailbox,
  getMailbox,
  listMailboxes,
  mailboxPassword,
  updateMailbox,
  type MailboxInput,
} from '../core/mail/mailboxes.js';
import { registerMailProcessors } from '../core/mail/processors.js';
import { decryptSecret, encryptSecret } from '../core/crypto/secret-box.js';
import { ServiceError } from '../core/errors.js';

/** R17: the mailbox reference book — presets, validation, access, «check connection», passwords at rest, schedules. */
const box: MailUser = { user: 'info@company.test', password: 'Сложный-Пароль_2024!' };
const work: MailUser = { user: 'work@company.test', password: 'рабочий-ящик' };
let w: World;
let dc: Dovecot;
let smtp: SmtpFake;
let env: MailEnv;
let dataDir: string;
let admin: User, manager: User, head: User;

const isInvalid = (...fields: string[]) => (e: unknown) =>
  e instanceof ServiceError && e.code === 'invalid' && fields.every((f) => f in e.fields);
const isForbidden = (e: unknown) => e instanceof ServiceError && e.code === 'forbidden';

before(async () => {
  [w, dc, smtp] = await Promise.all([openWorld(), startDovecot([box, work]), startSmtp([box, work])]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-mail-'));
  // the test servers listen on 127.0.0.1, which a CRM reaches only with MAIL_ALLOW_PRIVATE_HOSTS
  env = { ...defaultMailPolicy, secretKey: 'k'.repeat(48), dataDir, publicUrl: 'http://crm.test', importEveryMs: 45_000, timeoutMs: 3000, allowPrivateHosts: true };
  admin = await w.user('admin');
  head = await w.user('head');
  manager = await w.user('manager');
});
after(async () => {
  await smtp?.close();
  await dc?.stop();
  await w?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const local = (): MailboxInput => ({
  name: 'Инфо',
  login: box.user,
  password: box.password,
  imapHost: dc.host,
  imapPort: dc.port,
  imapEncryption: 'none',
  smtpHost: smtp.host,
  smtpPort: smtp.port,
  smtpEncryption: 'none',
});

describe('the reference book', () => {
  test('a service preset fills hosts, ports and encryption; the login is the sender address', async () => {
    const mb = await createMailbox(w.as(admin), env, { name: 'Яндекс', service: 'yandex', login: 'Sales@Yandex.ru', password: 'app-password' });
    const y = mailServicePresets.yandex;
    assert.deepEqual(
      [mb.imapHost, mb.imapPort, mb.imapEncryption, mb.smtpHost, mb.smtpPort, mb.smtpEncryption],
      [y.imapHost, 993, 'ssl', y.smtpHost, 465, 'ssl'],
    );
    assert.equal(mb.email, 'sales@yandex.ru');
    const gmail = await createMailbox(w.as(admin), env, { name: 'Gmail', service: 'gmail', login: 'crm@gmail.com', password: 'x', smtpPort: 587, smtpEncryption: 'starttls' });
    assert.deepEqual([gmail.imapHost, gmail.smtpHost, gmail.smtpPort, gmail.smtpEncryption], ['imap.gmail.com', 'smtp.gmail.com', 587, 'starttls']);
    const mailru = await createMailbox(w.as(admin), env, { name: 'Mail.ru', service: 'mailru', login: 'crm@mail.ru', password: 'x' });
    assert.equal(mailru.imapHost, 'imap.mail.ru');
  });

  test('bad input names its fields and stores nothing', async () => {
    const count = async () => (await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM mailboxes`))[0]!.n;
    const before = await count();
    await assert.rejects(createMailbox(w.as(admin), env, { name: '', login: 'a@b.ru', password: 'x', service: 'yandex' }), isInvalid('name'));
    await assert.rejects(createMailbox(w.as(admin), env, { name: 'Свой', login: 'me@corp.ru', password: 'x' }), isInvalid('imapHost', 'smtpHost'), '«other» needs servers');
    await assert.rejects(
      createMailbox(w.as(admin), env, { ...local(), imapPort: 'abc', smtpPort: 70000, imapHost: 'bad host!' }),
      isInvalid('imapPort', 'smtpPort', 'imapHost'),
    );
    await assert.rejects(createMailbox(w.as(admin), env, { ...local(), password: '' }), isInvalid('password'));
    await assert.rejects(createMailbox(w.as(admin), env, { ...local(), login: 'not-an-address' }), isInvalid('email'), 'a login that is no address needs one');
    await assert.rejects(createMailbox(w.as(admin), env, { ...local(), ownerId: 99999 }), isInvalid('ownerId'));
    assert.equal(await count(), before);
  });

  test('only admins manage mailboxes; a manager sees their own and shared ones', async () => {
    await assert.rejects(createMailbox(w.as(manager), env, local()), isForbidden);
    await assert.rejects(createMailbox(w.as(head), env, local()), isForbidden);
    const mine = await createMailbox(w.as(admin), env, { ...local(), name: 'Менеджера', login: 'mgr@company.test', ownerId: manager.id });
    const theirs = await createMailbox(w.as(admin), env, { ...local(), name: 'Чужой', login: 'head@company.test', ownerId: head.id });
    await assert.rejects(updateMailbox(w.as(manager), env, mine.id, { name: 'x' }), isForbidden);
    await assert.rejects(deleteMailbox(w.as(manager), mine.id), isForbidden);
    const seen = (await listMailboxes(w.as(manager))).map((m) => m.id);
    assert.ok(seen.includes(mine.id));
    assert.ok(!seen.includes(theirs.id));
    await assert.rejects(getMailbox(w.as(manager), theirs.id), isForbidden);
    assert.ok((await listMailboxes(w.as(head))).some((m) => m.id === theirs.id));
  });

  test('the same mailbox cannot be added twice', async () => {
    await createMailbox(w.as(admin), env, { ...local(), name: 'Первый', login: 'dup@company.test' });
    await assert.rejects(
      createMailbox(w.as(admin), env, { ...local(), name: 'Второй', login: 'DUP@company.test' }),
      (e) => e instanceof ServiceError && e.code === 'conflict',
    );
  });
});

describe('passwords at rest', () => {
  test('the password is sealed with SECRET_KEY (AES-256-GCM), nowhere in clear, and never handed out', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Пароль', login: 'secret@company.test' });
    assert.ok(!('passwordEncrypted' in mb) && !('password' in mb));
    assert.ok(!('passwordEncrypted' in (await getMailbox(w.as(admin), mb.id))));
    // every text of every row of every table, as PostgreSQL prints it
    const tables = await w.database.rows<{ t: string }>(sql`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`);
    assert.ok(tables.length > 10);
    for (const { t } of tables) {
      const [hit] = await w.database.rows<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM ${sql.identifier(t)} x WHERE x::text LIKE ${'%' + box.password + '%'} OR x::text LIKE ${'%' + Buffer.from(box.password).toString('base64') + '%'}`,
      );
      assert.equal(hit!.n, 0, `the password is readable in table ${t}`);
    }
    const [row] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.match(row!.passwordEncrypted, /^v1\./);
    assert.equal(mailboxPassword(env, row!), box.password);
    assert.throws(() => mailboxPassword({ secretKey: 'another-key-'.repeat(4) }, row!), /cannot be decrypted/);
    // tampering is detected, not decrypted into garbage
    const parts = row!.passwordEncrypted.split('.');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3]!, 'base64url').toString('latin1'), 'latin1').toString('base64url');
    assert.throws(() => decryptSecret(env.secretKey, 'mailbox-password', parts.join('.')));
    // the same password sealed twice looks different
    assert.notEqual(encryptSecret(env.secretKey, 'mailbox-password', 'p'), encryptSecret(env.secretKey, 'mailbox-password', 'p'));
  });

  test('editing without a password keeps the stored one; a new one replaces it', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Правка', login: 'edit@company.test' });
    const read = async () => mailboxPassword(env, (await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id)))[0]!);
    const renamed = await updateMailbox(w.as(admin), env, mb.id, { name: 'Правка 2', password: '' });
    assert.equal(renamed.name, 'Правка 2');
    assert.equal(await read(), box.password);
    await updateMailbox(w.as(admin), env, mb.id, { password: 'новый-пароль' });
    assert.equal(await read(), 'новый-пароль');
    // the audit trail says who changed what, and that the password changed, never the password itself
    await deleteMailbox(w.as(admin), mb.id);
    const trail = await w.system.db.select().from(auditLog).where(sql`${auditLog.entityType} = 'mailbox' AND ${auditLog.entityId} = ${mb.id}`).orderBy(auditLog.id);
    assert.deepEqual(trail.map((a) => [a.action, a.actorUserId]), [['create', admin.id], ['update', admin.id], ['update', admin.id], ['delete', admin.id]]);
    assert.deepEqual(trail[1]!.changes, { name: { from: 'Правка', to: 'Правка 2' } });
    assert.deepEqual(Object.keys(trail[2]!.changes), ['password']);
    assert.equal(trail[3]!.changes.login?.from, 'edit@company.test');
    const text = JSON.stringify(trail);
    assert.ok(!text.includes(box.password) && !text.includes('новый-пароль') && !text.includes('v1.'), 'no password in the audit trail');
  });
});

describe('«check connection»', () => {
  test('logs in over IMAP and SMTP and says so', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Проверка', login: box.user });
    const r = await checkMailboxConnection(w.as(admin), env, mb.id);
    assert.deepEqual(r, { ok: true, imap: { ok: true }, smtp: { ok: true } });
    const [row] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.ok(row!.lastCheckAt);
    assert.equal(row!.lastError, null);
  });

  test('an unsaved edit can be checked with the stored password, against the stored servers and login only', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Форма', login: work.user, password: work.password });
    // the form renames the mailbox and leaves the password empty
    const r = await checkMailboxSettings(w.as(admin), env, { mailboxId: mb.id, name: 'Форма 2', password: '' });
    assert.equal(r.ok, true);
    // another login needs the password typed (tests/hardening-secrets.test.ts: another server too)
    await assert.rejects(checkMailboxSettings(w.as(admin), env, { mailboxId: mb.id, login: box.user, password: '' }), isInvalid('password'));
    await assert.rejects(checkMailboxSettings(w.as(admin), env, { ...local(), password: '' }), isInvalid('password'));
    await assert.rejects(checkMailboxConnection(w.as(manager), env, mb.id), isForbidden);
  });
});

describe('the import schedule', () => {
  const schedule = async (id: number) =>
    (await w.database.rows<{ every_ms: string | number; name: string }>(sql`SELECT every_ms, name FROM job_schedules WHERE key = ${'mail.import:' + id}`))[0];

  test('a new mailbox gets a repeatable import and a first one at once; switching off or deleting removes it', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Расписание', login: 'sched@company.test' });
    const s = await schedule(mb.id);
    assert.equal(s?.name, 'mail.import');
    assert.equal(Number(s!.every_ms), env.importEveryMs);
    const [now] = await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM jobs WHERE name = 'mail.import' AND data->>'mailboxId' = ${String(mb.id)}`);
    assert.equal(now!.n, 1);
    await updateMailbox(w.as(admin), env, mb.id, { active: false });
    assert.equal(await schedule(mb.id), undefined);
    await updateMailbox(w.as(admin), env, mb.id, { active: true });
    assert.ok(await schedule(mb.id));
    await deleteMailbox(w.as(admin), mb.id);
    assert.equal(await schedule(mb.id), undefined);
  });

  test('the import job queued with a new mailbox brings its letters in; deleting the mailbox keeps them', async () => {
    // the mailboxes made above point at Яндекс, Gmail…: no job may try to reach them
    for (const m of await listMailboxes(w.as(admin))) await deleteMailbox(w.as(admin), m.id);
    await dc.append(work, 'INBOX', rawLetter({ from: 'client@somewhere.test', to: work.user, subject: 'Через очередь', body: 'x', messageId: '<queued@somewhere.test>' }));
    registerMailProcessors(w.system.jobs, { ctx: () => w.ctx(systemActor('почта')), env });
    await w.system.jobs.start();
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Рабочий', login: work.user, password: work.password });
    const until = Date.now() + 10_000;
    let row: typeof emails.$inferSelect | undefined;
    while (!row && Date.now() < until) {
      [row] = await w.system.db.select().from(emails).where(eq(emails.messageId, '<queued@somewhere.test>'));
      if (!row) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(row, 'imported by the job');
    assert.equal(row!.mailboxId, mb.id);
    await deleteMailbox(w.as(admin), mb.id);
    const [kept] = await w.system.db.select().from(emails).where(eq(emails.id, row!.id));
    assert.equal(kept!.mailboxId, null);
    assert.equal(kept!.subject, 'Через очередь');
  });
});

// last: after a failed login dovecot makes the next one from 127.0.0.1 wait seconds (auth penalty)
describe('«check connection» with wrong settings', () => {
  test('a wrong password or a closed port is explained in Russian and recorded', async () => {
    const mb = await createMailbox(w.as(admin), env, { ...local(), name: 'Неверный', login: 'wrong@company.test', password: 'не тот' });
    const r = await checkMailboxConnection(w.as(admin), env, mb.id);
    assert.equal(r.ok, false);
    assert.match(r.imap.error!, /^IMAP: Неверный логин или пароль/);
    assert.match(r.smtp.error!, /^SMTP: Неверный логин или пароль/);
    const [row] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.match(row!.lastError!, /Неверный логин или пароль/);
    assert.ok(!row!.lastError!.includes('не тот'));
    const closed = await freePort();
    const r2 = await checkMailboxSettings(w.as(admin), env, { ...local(), imapPort: closed, smtpPort: closed });
    assert.match(r2.imap.error!, /Сервер отказал в соединении/);
    assert.match(r2.smtp.error!, /Сервер отказал в соединении/);
  });
});
