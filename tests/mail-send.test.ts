import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { openTestServices } from './helpers/services.js';
import { startDovecot, type Dovecot, type MailUser } from './helpers/dovecot.js';
import { startSmtp, type SmtpFake } from './helpers/smtp.js';
import { buildApp } from '../api/app.js';
import type { Services } from '../core/services.js';
import { systemActor } from '../core/context.js';
import { emails, mailoutRecipients, unsubscribes } from '../core/db/schema/index.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { assignMailingType, createMailingType } from '../core/mailing/mailing-types.js';
import { mailEnv, type MailEnv } from '../core/mail/env.js';
import { createMailbox, type Mailbox } from '../core/mail/mailboxes.js';
import { composeEmail } from '../core/mail/compose.js';
import { importMailbox } from '../core/mail/import.js';
import { registerMailProcessors } from '../core/mail/processors.js';
import { createMailout, getMailout } from '../core/mail/mailouts.js';
import { ServiceError } from '../core/errors.js';
import { waitFor } from './helpers/wait.js';

/**
 * R18 and mail-outs: letters written in the CRM go out through a real SMTP server (smtp-server
 * on loopback) by the job queue, and are filed in the mailbox's Sent folder on dovecot.
 */
const sales: MailUser = { user: 'sales@company.test', password: 'общий-ящик-1' };
const olga: MailUser = { user: 'olga@company.test', password: 'ящик-ольги-2' };
let s: Services;
let app: FastifyInstance;
let dc: Dovecot;
let smtp: SmtpFake;
let env: MailEnv;
let admin: User, manager: User, stranger: User;
let shared: Mailbox, own: Mailbox;
const rec = { cp: 0, contact: 0, lead: 0, otherCp: 0 };

const as = (u: User) => s.ctx(userActor(u));
const emailRow = async (id: number) => (await s.database.db.select().from(emails).where(eq(emails.id, id)))[0]!;
const statusIs = (id: number, status: string) => async () => ((await emailRow(id)).status === status ? emailRow(id) : null);

before(async () => {
  // dovecot and the SMTP fake listen on 127.0.0.1, which a CRM reaches only with MAIL_ALLOW_PRIVATE_HOSTS
  [s, dc, smtp] = await Promise.all([openTestServices({ MAIL_ALLOW_PRIVATE_HOSTS: 'true' }), startDovecot([sales, olga]), startSmtp([sales, olga])]);
  env = mailEnv(s, { sendAttempts: 3, sendBackoffMs: 30, mailoutLimiter: { max: 1, durationMs: 300 }, timeoutMs: 5000 });
  const sys = s.ctx(systemActor('test'));
  const seg = await createSegment(sys, { name: 'Москва' });
  admin = await createUser(sys, { email: 'admin@company.test', name: 'Админ', role: 'admin', password: 'password123' });
  manager = await createUser(sys, { email: 'olga@company.test', name: 'Ольга Менеджер', role: 'manager', password: 'password123' });
  stranger = await createUser(sys, { email: 'petr@company.test', name: 'Пётр', role: 'manager', password: 'password123' });
  await setUserSegments(sys, manager.id, [seg.id]);
  const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Ромашка', segmentId: seg.id, responsibleId: manager.id });
  const contact = await createContact(sys, { name: 'Анна Смирнова', counterpartyId: cp.id, emails: ['anna@client.test'] });
  const lead = await createLead(sys, { title: 'Поставка', source: 'manual', contactId: contact.id, responsibleId: manager.id });
  const otherCp = await createCounterparty(sys, { kind: 'individual', name: 'Чужой клиент', emails: ['other@client.test'] });
  Object.assign(rec, { cp: cp.id, contact: contact.id, lead: lead.id, otherCp: otherCp.id });
  const servers = { imapHost: dc.host, imapPort: dc.port, imapEncryption: 'none', smtpHost: smtp.host, smtpPort: smtp.port, smtpEncryption: 'none' } as const;
  shared = await createMailbox(as(admin), env, { name: 'Отдел продаж', login: sales.user, password: sales.password, ...servers });
  own = await createMailbox(as(admin), env, { name: 'Ольга', login: olga.user, password: olga.password, ownerId: manager.id, ...servers });
  registerMailProcessors(s.jobs, { ctx: () => s.ctx(systemActor('почта')), env });
  await s.jobs.start();
  app = await buildApp(s);
});
after(async () => {
  await app?.close();
  await s?.close();
  await smtp?.close();
  await dc?.stop();
});

describe('sending a letter (R18)', () => {
  let first: Awaited<ReturnType<typeof composeEmail>>;

  test('written on a contact card, it goes from the manager’s own mailbox and is marked sent', async () => {
    const before = smtp.received.length;
    first = await composeEmail(as(manager), { contactId: rec.contact, subject: 'Коммерческое предложение', body: 'Анна, добрый день!\nВысылаю КП.' });
    assert.equal(first.direction, 'outgoing');
    assert.equal(first.status, 'queued');
    assert.deepEqual(first.toAddresses, ['anna@client.test']);
    assert.equal(first.mailboxId, own.id);
    assert.equal(first.counterpartyId, rec.cp);
    const sent = await waitFor('the letter to be sent', statusIs(first.id, 'sent'));
    assert.equal(sent.error, null);
    const got = smtp.received.slice(before);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.user, olga.user, 'logged in as the mailbox');
    assert.deepEqual(got[0]!.to, ['anna@client.test']);
    const mail = await simpleParser(got[0]!.raw);
    assert.equal(mail.subject, 'Коммерческое предложение');
    assert.equal(mail.text?.trim(), 'Анна, добрый день!\nВысылаю КП.');
    assert.equal(mail.from?.value[0]?.address, olga.user);
    assert.equal(mail.from?.value[0]?.name, 'Ольга Менеджер');
    assert.equal(mail.messageId, first.messageId);
  });

  test('the sent letter is in the mailbox’s Sent folder, and importing it stores nothing new', async () => {
    const client = await dc.connect(olga);
    const lock = await client.getMailboxLock('Sent');
    let found: number[] = [];
    try {
      found = await waitFor('the Sent copy', async () => {
        const r = await client.search({ header: { 'message-id': first.messageId! } }, { uid: true });
        return r && r.length ? r : null;
      });
      const copy = await client.fetchOne(String(found[0]), { source: true, flags: true }, { uid: true });
      assert.ok(copy && copy.flags?.has('\\Seen'));
      assert.equal((await simpleParser(copy.source!)).subject, 'Коммерческое предложение');
    } finally {
      lock.release();
      await client.logout();
    }
    assert.equal(found.length, 1);
    const r = await importMailbox(s.ctx(systemActor('test')), env, own.id);
    assert.equal(r.folders.find((f) => f.role === 'sent')!.imported, 0);
    const [n] = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM emails WHERE message_id = ${first.messageId}`);
    assert.equal(n!.n, 1);
  });

  test('a reply is threaded under the letter it answers', async () => {
    const before = smtp.received.length;
    const reply = await composeEmail(as(manager), { replyToEmailId: first.id, body: 'И ещё прайс.' });
    assert.equal(reply.subject, 'Re: Коммерческое предложение');
    assert.equal(reply.threadKey, first.threadKey);
    await waitFor('the reply to be sent', statusIs(reply.id, 'sent'));
    const mail = await simpleParser(smtp.received[before]!.raw);
    assert.equal(mail.inReplyTo, first.messageId);
    assert.deepEqual([mail.references].flat(), [first.messageId]);
  });

  test('the Telegram /mail verb: an address and a lead, the actor’s mailbox by default', async () => {
    const e = await composeEmail(as(manager), { to: 'Анна <anna@client.test>', subject: 'По лиду', body: 'Текст', leadId: rec.lead });
    assert.deepEqual([e.leadId, e.contactId, e.counterpartyId, e.mailboxId], [rec.lead, rec.contact, rec.cp, own.id]);
    await waitFor('it to be sent', statusIs(e.id, 'sent'));
    // a manager without a mailbox of their own writes from the shared one
    const fromShared = await composeEmail(as(stranger), { to: 'someone@else.test', subject: 'Привет', body: 'Текст' });
    assert.equal(fromShared.mailboxId, shared.id);
    await waitFor('it to be sent', statusIs(fromShared.id, 'sent'));
    // an address alone ties the letter to the record it belongs to
    const byAddress = await composeEmail(as(manager), { to: ['anna@client.test'], subject: 'Без карточки', body: 'Текст' });
    assert.deepEqual([byAddress.contactId, byAddress.counterpartyId, byAddress.leadId], [rec.contact, rec.cp, rec.lead]);
    await waitFor('it to be sent', statusIs(byAddress.id, 'sent'));
  });

  test('bad input and records out of reach are refused and nothing is stored', async () => {
    const count = async () => (await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM emails`))[0]!.n;
    const before = await count();
    const invalid = (field: string) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && field in e.fields;
    await assert.rejects(composeEmail(as(manager), { to: 'not-an-address', subject: 'x', body: 'x' }), invalid('to'));
    await assert.rejects(composeEmail(as(manager), { to: 'a@b.test', subject: 'x', body: '  ' }), invalid('body'));
    await assert.rejects(composeEmail(as(manager), { to: 'a@b.test', subject: '', body: 'x' }), invalid('subject'));
    await assert.rejects(composeEmail(as(manager), { counterpartyId: rec.cp, subject: 'x', body: 'x' }), invalid('to'), 'the counterparty has no address');
    await assert.rejects(
      composeEmail(as(manager), { counterpartyId: rec.otherCp, subject: 'x', body: 'x' }),
      (e) => e instanceof ServiceError && e.code === 'forbidden',
    );
    await assert.rejects(
      composeEmail(as(stranger), { mailboxId: own.id, to: 'a@b.test', subject: 'x', body: 'x' }),
      (e) => e instanceof ServiceError && e.code === 'forbidden',
      'someone else’s mailbox',
    );
    assert.equal(await count(), before);
  });
});

describe('SMTP failures', () => {
  after(() => smtp.failWith(null));

  test('a temporary refusal is retried, then the letter is marked failed and its author told', async () => {
    smtp.failWith(451, 'Greylisted, please try again later');
    const attempts = smtp.attempts;
    const e = await composeEmail(as(manager), { contactId: rec.contact, subject: 'Не дойдёт', body: 'x' });
    const failed = await waitFor('the letter to fail', statusIs(e.id, 'failed'));
    assert.equal(smtp.attempts - attempts, env.sendAttempts, 'tried sendAttempts times');
    assert.match(failed.error!, /451/);
    // the notice is queued once the failure commits: a moment after the status is seen
    await waitFor('the author told in Telegram', () => s.jobs.getJob(`notify:${manager.id}:email:${e.id}:failed`, 'telegram.notify'));
  });

  test('a permanent refusal fails at once', async () => {
    smtp.failWith(550, 'Mailbox unavailable');
    const attempts = smtp.attempts;
    const e = await composeEmail(as(manager), { contactId: rec.contact, subject: 'Нет ящика', body: 'x' });
    const failed = await waitFor('the letter to fail', statusIs(e.id, 'failed'));
    assert.equal(smtp.attempts - attempts, 1);
    assert.match(failed.error!, /550/);
  });

  test('a refusal that clears goes out on a later try', async () => {
    smtp.failWith(421, 'Service busy');
    const attempts = smtp.attempts;
    const e = await composeEmail(as(manager), { contactId: rec.contact, subject: 'Со второй попытки', body: 'x' });
    await waitFor('the first try', async () => smtp.attempts > attempts);
    smtp.failWith(null);
    await waitFor('the letter to be sent', statusIs(e.id, 'sent'));
    assert.equal(smtp.attempts - attempts, 2);
  });
});

describe('mail-outs', () => {
  let typeId: number;
  const people = { anna: 0, boris: 0, galina: 0, viktor: 0 };
  before(async () => {
    const sys = s.ctx(systemActor('test'));
    typeId = (await createMailingType(as(admin), { name: 'Новинки' })).id;
    people.anna = rec.contact;
    people.boris = (await createContact(sys, { name: 'Борис', emails: ['boris@client2.test'] })).id;
    people.galina = (await createContact(sys, { name: 'Галина', emails: ['galina@client3.test'] })).id;
    people.viktor = (await createContact(sys, { name: 'Виктор', phones: ['+79161234567'] })).id;
    await assignMailingType(as(admin), typeId, { ids: Object.values(people) });
  });

  const template = { subject: '{{name}}, новинки месяца', body: 'Здравствуйте, {{name}}!\nКомпания: {{company}}.\nВаш менеджер: {{manager}}.' };
  const lettersTo = (from: number, address: string) => smtp.received.slice(from).filter((m) => m.to.includes(address));
  let firstRun: number;

  test('fills the placeholders for each contact, throttled, with a status per recipient', async () => {
    firstRun = smtp.received.length;
    const m = await createMailout(as(admin), { mailingTypeId: typeId, mailboxId: shared.id, ...template });
    const done = await waitFor('the mail-out to finish', async () => {
      const r = await getMailout(as(admin), m.id);
      return r.status === 'done' ? r : null;
    });
    assert.deepEqual(done.counts, { queued: 0, sent: 3, failed: 0, unsubscribed: 0, no_email: 1 });
    const got = smtp.received.slice(firstRun);
    assert.equal(got.length, 3);
    const anna = await simpleParser(lettersTo(firstRun, 'anna@client.test')[0]!.raw);
    assert.equal(anna.subject, 'Анна Смирнова, новинки месяца');
    assert.match(anna.text!, /Здравствуйте, Анна Смирнова!\nКомпания: ООО Ромашка\.\nВаш менеджер: Ольга Менеджер\./);
    assert.match(anna.text!, /Чтобы не получать эту рассылку, перейдите по ссылке: http:\/\/\S+\/unsubscribe\/\S+/);
    assert.match(String(anna.headers.get('list-unsubscribe') ?? JSON.stringify(anna.headers.get('list'))), /unsubscribe/);
    const boris = await simpleParser(lettersTo(firstRun, 'boris@client2.test')[0]!.raw);
    assert.match(boris.text!, /Здравствуйте, Борис!\nКомпания: \.\nВаш менеджер: Админ\./, 'no company; the author stands in for the manager');
    // at most one letter started per 300 ms: three letters take at least two windows
    const times = got.map((g) => g.at).sort((a, b) => a - b);
    assert.ok(times[2]! - times[0]! >= 450, `3 letters in ${times[2]! - times[0]!} ms`);
    // each letter is in the contact's history
    const [row] = await s.database.db.select().from(mailoutRecipients).where(eq(mailoutRecipients.contactId, people.boris));
    assert.ok(row!.emailId);
    assert.equal((await emailRow(row!.emailId!)).contactId, people.boris);
  });

  test('the unsubscribe link works over HTTP, and the next mail-out skips the address', async () => {
    const link = (address: string) => {
      const text = lettersTo(firstRun, address)[0]!.raw.toString('utf8');
      return new URL(/https?:\/\/[^\s>]+\/unsubscribe\/[A-Za-z0-9_.-]+/.exec(text.replace(/=\r\n/g, ''))![0]).pathname;
    };
    const boris = link('boris@client2.test');
    // opening the link (as a mail scanner would) only asks; the button unsubscribes
    const ask = await app.inject({ method: 'GET', url: boris });
    assert.equal(ask.statusCode, 200);
    assert.match(ask.headers['content-type'] as string, /text\/html/);
    assert.match(ask.body, /Отписаться от рассылки\?/);
    assert.match(ask.body, /boris@client2\.test/);
    assert.match(ask.body, /«Новинки»/);
    assert.equal((await s.database.db.select().from(unsubscribes).where(eq(unsubscribes.mailingTypeId, typeId))).length, 0, 'opening the link unsubscribes nobody');
    const action = /<form method="post" action="([^"]+)"/.exec(ask.body)![1]!;
    assert.equal(action, boris);
    const res = await app.inject({ method: 'POST', url: action, payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Вы отписались от рассылки/);
    assert.match((await app.inject({ method: 'GET', url: boris })).body, /Вы уже отписаны/, 'following it again says so');
    // one-click from a mail client (RFC 8058)
    const galina = await app.inject({
      method: 'POST',
      url: link('galina@client3.test'),
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(galina.statusCode, 200);
    // a forged or damaged token does nothing
    const forged = boris.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const bad = await app.inject({ method: 'GET', url: forged });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Ссылка недействительна/);
    const rows = await s.database.db.select().from(unsubscribes).where(eq(unsubscribes.mailingTypeId, typeId));
    assert.deepEqual(rows.map((r) => r.email).sort(), ['boris@client2.test', 'galina@client3.test']);

    const second = smtp.received.length;
    const m = await createMailout(as(admin), { mailingTypeId: typeId, mailboxId: shared.id, ...template });
    const done = await waitFor('the second mail-out to finish', async () => {
      const r = await getMailout(as(admin), m.id);
      return r.status === 'done' ? r : null;
    });
    assert.deepEqual(done.counts, { queued: 0, sent: 1, failed: 0, unsubscribed: 2, no_email: 1 });
    assert.deepEqual(
      smtp.received.slice(second).map((g) => g.to),
      [['anna@client.test']],
    );
  });

  test('a template with an unknown placeholder, or a manager, is refused', async () => {
    await assert.rejects(
      createMailout(as(admin), { mailingTypeId: typeId, subject: 'x', body: 'Привет, {{имя}}' }),
      (e) => e instanceof ServiceError && e.code === 'invalid' && 'body' in e.fields,
    );
    await assert.rejects(createMailout(as(manager), { mailingTypeId: typeId, ...template }), (e) => e instanceof ServiceError && e.code === 'forbidden');
  });
});
