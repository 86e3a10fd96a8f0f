/**
 * `npm run bench:mail`: imports 10,000 letters from a local dovecot and prints letters per second.
 *
 * The letters are written straight into the user's maildir (APPENDing 10,000 would measure the
 * seeding, not the import) and dovecot indexes them before the clock starts, as a real server
 * has. A mix like a sales inbox: 100 known clients and strangers, UTF-8, KOI8-R and
 * Windows-1251, every 20th letter with an attachment, every 5th a reply. The database is an
 * in-memory PGlite, or PostgreSQL when TEST_DATABASE_URL is set.
 *   BENCH_LETTERS=2000 npm run bench:mail    (a smaller run)
 */
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { systemActor, systemClock, type ServiceContext } from '../../core/context.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { createContact } from '../../core/contacts/contacts.js';
import { createCounterparty } from '../../core/counterparties/counterparties.js';
import { createUser, userActor } from '../../core/users/users.js';
import { defaultMailPolicy, type MailEnv } from '../../core/mail/env.js';
import { createMailbox } from '../../core/mail/mailboxes.js';
import { importMailbox } from '../../core/mail/import.js';
import { createTestDatabase, testEngine } from '../helpers/db.js';
import { rawLetter, startDovecot } from '../helpers/dovecot.js';

const TOTAL = Number(process.env.BENCH_LETTERS ?? 10_000);
const user = { user: 'bench@company.test', password: 'bench-password' };

async function main(): Promise<void> {
  const dc = await startDovecot([user]);
  const database = await createTestDatabase();
  const jobs = new EmbeddedQueue(database);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-bench-'));
  try {
    const log = pino({ level: 'silent' });
    const ctx = (actor = systemActor('bench')): ServiceContext => ({ db: database.db, actor, clock: systemClock, jobs, log, timeZone: 'Europe/Moscow' });
    const env: MailEnv = { ...defaultMailPolicy, secretKey: 'b'.repeat(40), dataDir, publicUrl: 'http://crm.test', allowPrivateHosts: true };

    const clients: string[] = [];
    for (let i = 0; i < 100; i++) {
      const cp = await createCounterparty(ctx(), { kind: 'legal_entity', name: `ООО Клиент ${i}`, emails: [`office${i}@client${i}.test`] });
      await createContact(ctx(), { name: `Контакт ${i}`, counterpartyId: cp.id, emails: [`person${i}@client${i}.test`] });
      clients.push(`person${i}@client${i}.test`, `office${i}@client${i}.test`);
    }

    process.stdout.write(`seeding ${TOTAL} letters into the maildir… `);
    let t = Date.now();
    const maildir = path.join(dc.mailRoot, user.user, 'Maildir');
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(path.join(maildir, d), { recursive: true });
    const charsets = ['utf-8', 'koi8-r', 'windows-1251'] as const;
    const stamp = Math.floor(Date.now() / 1000);
    for (let i = 0; i < TOTAL; i++) {
      const from = i % 3 === 0 ? `stranger${i}@elsewhere.test` : clients[i % clients.length]!;
      const raw = rawLetter({
        from: { name: `Отправитель ${i}`, address: from },
        to: user.user,
        subject: `Заявка №${i}: поставка товара`,
        body: `Добрый день!\nПросим выставить счёт по заявке №${i}.\n${'Текст письма. '.repeat(20)}\nС уважением, отправитель ${i}`,
        charset: charsets[i % 3],
        transferEncoding: i % 2 ? 'quoted-printable' : '8bit',
        messageId: `<bench-${i}@bench.test>`,
        ...(i % 5 === 4 ? { inReplyTo: `<bench-${i - 1}@bench.test>`, references: [`<bench-${i - 1}@bench.test>`] } : {}),
        ...(i % 20 === 0 ? { attachments: [{ name: `счёт-${i}.pdf`, mime: 'application/pdf', content: Buffer.alloc(8 * 1024, i % 256) }] } : {}),
      });
      writeFileSync(path.join(maildir, 'cur', `${stamp}.M${i}P${process.pid}.bench:2,S`), raw);
    }
    if (process.getuid?.() === 0) {
      const chownAll = (p: string) => chownSync(p, 65534, 65534);
      chownAll(maildir);
      for (const d of ['cur', 'new', 'tmp']) chownAll(path.join(maildir, d));
      for (let i = 0; i < TOTAL; i++) chownAll(path.join(maildir, 'cur', `${stamp}.M${i}P${process.pid}.bench:2,S`));
    }
    // dovecot builds its index on the first look, like a server that has had the mail for a while
    const client = await dc.connect(user);
    const status = await client.status('INBOX', { messages: true });
    if (!status) throw new Error('dovecot gave no STATUS for INBOX');
    await client.logout();
    process.stdout.write(`${status.messages} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);

    const admin = await createUser(ctx(), { email: 'admin@bench.test', name: 'Админ', role: 'admin', password: 'password123' });
    const mailbox = await createMailbox(ctx(userActor(admin)), env, {
      name: 'Бенчмарк',
      login: user.user,
      password: user.password,
      imapHost: dc.host,
      imapPort: dc.port,
      imapEncryption: 'none',
      smtpHost: '127.0.0.1',
      smtpPort: 25,
      smtpEncryption: 'none',
    });

    t = Date.now();
    const cpu = process.cpuUsage();
    const r = await importMailbox(ctx(), env, mailbox.id);
    const seconds = (Date.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    t = Date.now();
    const again = await importMailbox(ctx(), env, mailbox.id);
    const noop = (Date.now() - t) / 1000;
    process.stdout.write(
      `database: ${testEngine}\n` +
        `imported ${r.imported} letters in ${seconds.toFixed(1)} s: ${Math.round(r.imported / seconds)} letters per second\n` +
        // on a busy machine wall time wanders; the CRM process's own CPU time says what the import costs
        `CPU time of this process: ${((used.user + used.system) / 1e6).toFixed(1)} s (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs)\n` +
        `a second run found ${again.imported} new in ${noop.toFixed(2)} s\n`,
    );
    if (r.imported !== TOTAL) throw new Error(`expected ${TOTAL} letters, imported ${r.imported}`);
  } finally {
    await jobs.close();
    await database.close();
    await dc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
