import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq, sql } from 'drizzle-orm';
import { openWorld, type World } from './helpers/world.js';
import { rawLetter, startDovecot, type Dovecot, type MailUser } from './helpers/dovecot.js';
import { emails, leads } from '../core/db/schema/index.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { defaultMailPolicy, type MailEnv } from '../core/mail/env.js';
import { createMailbox, updateMailbox, type Mailbox } from '../core/mail/mailboxes.js';
import { importMailbox } from '../core/mail/import.js';
import { getEmail, getEmailThread, readEmailAttachment } from '../core/mail/emails.js';
import { getHistory } from '../core/history/history.js';
import { ServiceError } from '../core/errors.js';

/**
 * R17, e-mail import, against Debian's dovecot on loopback: letters go in by IMAP APPEND, the
 * import reads them back over IMAP like it would from Яндекс or Gmail.
 */
const sales: MailUser = { user: 'sales@company.test', password: 'Пароль-ящика-9' };
let w: World;
let dc: Dovecot;
let env: MailEnv;
let dataDir: string;
let admin: User, manager: User, other: User;
let mailbox: Mailbox;
const rec = { cp: 0, contact: 0, lead: 0, cpOnly: 0 };

before(async () => {
  [w, dc] = await Promise.all([openWorld(), startDovecot([sales])]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-mail-'));
  // dovecot listens on 127.0.0.1, which a CRM reaches only with MAIL_ALLOW_PRIVATE_HOSTS
  env = { ...defaultMailPolicy, secretKey: 'x'.repeat(40), dataDir, publicUrl: 'http://crm.test', timeoutMs: 5000, allowPrivateHosts: true };
  const seg = await w.segment();
  admin = await w.user('admin');
  manager = await w.user('manager', { segments: [seg], name: 'Ольга Менеджер' });
  other = await w.user('manager', { name: 'Другой менеджер' });
  // the managers have linked Telegram: a new lead is announced to its responsible, not to the heads
  await w.database.rows(sql`UPDATE users SET telegram_id = 800000 + id`);
  const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО Ромашка', segmentId: seg, responsibleId: manager.id, emails: ['office@romashka.test'] });
  const contact = await createContact(w.system, { name: 'Иван Петров', counterpartyId: cp.id, emails: ['ivan@romashka.test'] });
  const lead = await createLead(w.system, { title: 'Поставка', source: 'manual', contactId: contact.id, responsibleId: manager.id });
  const cpOnly = await createCounterparty(w.system, { kind: 'individual', name: 'Сидоров С.С.', emails: ['sidorov@mail.test'], responsibleId: manager.id });
  Object.assign(rec, { cp: cp.id, contact: contact.id, lead: lead.id, cpOnly: cpOnly.id });
  mailbox = await createMailbox(w.as(admin), env, {
    name: 'Отдел продаж',
    login: sales.user,
    password: sales.password,
    imapHost: dc.host,
    imapPort: dc.port,
    imapEncryption: 'none',
    smtpHost: '127.0.0.1',
    smtpPort: 2525,
    smtpEncryption: 'none',
    createsLeads: true,
  });
});
after(async () => {
  await dc?.stop();
  await w?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const byMessageId = async (id: string) => {
  const [row] = await w.system.db.select().from(emails).where(and(eq(emails.mailboxId, mailbox.id), eq(emails.messageId, id)));
  return row;
};
const countEmails = async () => (await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM emails WHERE mailbox_id = ${mailbox.id}`))[0]!.n;
const notifyJobs = () =>
  w.database.rows<{ data: { kind: string; userId: number; leadId?: number; text: string } }>(sql`SELECT data FROM jobs WHERE name = 'telegram.notify' ORDER BY id`);

describe('first import', () => {
  const ids = { win: '<win1251@client.test>', koi: '<koi8@client.test>', utf: '<utf8@client.test>', sent: '<sent-1@company.test>', cc: '<cc-1@other.test>' };
  before(async () => {
    await dc.append(
      sales,
      'INBOX',
      rawLetter({
        from: { name: 'Иван Петров', address: 'Ivan@Romashka.test' },
        to: sales.user,
        subject: 'Счёт на оплату — срочно',
        body: 'Добрый день! Пришлите, пожалуйста, счёт. Ёлки-палки, «кавычки» и №5.',
        charset: 'windows-1251',
        transferEncoding: 'quoted-printable',
        messageId: ids.win,
      }),
    );
    await dc.append(
      sales,
      'INBOX',
      rawLetter({
        from: 'office@romashka.test',
        to: sales.user,
        subject: 'Коммерческое предложение',
        body: 'Текст в кодировке КОИ-8: съешь же ещё этих мягких французских булок.',
        charset: 'koi8-r',
        transferEncoding: '8bit',
        messageId: ids.koi,
      }),
    );
    await dc.append(
      sales,
      'INBOX',
      rawLetter({
        from: 'someone@other.test',
        to: sales.user,
        cc: ['sidorov@mail.test'],
        subject: 'Вопрос по доставке 🚚',
        body: 'UTF-8: Привет, мир! 漢字 ✓',
        charset: 'utf-8',
        transferEncoding: 'base64',
        messageId: ids.cc,
      }),
    );
    await dc.append(
      sales,
      'Sent',
      rawLetter({
        from: sales.user,
        to: ['sidorov@mail.test'],
        subject: 'Ответ на ваш запрос',
        body: 'Высылаем прайс-лист.',
        messageId: ids.sent,
      }),
    );
  });

  test('stores the inbox as «Входящее» and the sent folder as «Исходящее»', async () => {
    const r = await importMailbox(w.system, env, mailbox.id);
    assert.equal(r.imported, 4);
    assert.deepEqual(
      r.folders.map((f) => [f.folder, f.role, f.imported]),
      [
        ['INBOX', 'inbox', 3],
        ['Sent', 'sent', 1],
      ],
    );
    const sent = await byMessageId(ids.sent);
    assert.equal(sent!.direction, 'outgoing');
    assert.equal(sent!.status, 'sent');
    assert.equal((await byMessageId(ids.win))!.direction, 'incoming');
  });

  test('Windows-1251, KOI8-R and UTF-8 subjects and bodies read as written', async () => {
    const win = await byMessageId(ids.win);
    assert.equal(win!.subject, 'Счёт на оплату — срочно');
    assert.match(win!.bodyText!, /Добрый день! Пришлите, пожалуйста, счёт\. Ёлки-палки, «кавычки» и №5\./);
    const koi = await byMessageId(ids.koi);
    assert.equal(koi!.subject, 'Коммерческое предложение');
    assert.match(koi!.bodyText!, /съешь же ещё этих мягких французских булок/);
    const utf = await byMessageId(ids.cc);
    assert.equal(utf!.subject, 'Вопрос по доставке 🚚');
    assert.match(utf!.bodyText!, /Привет, мир! 漢字 ✓/);
  });

  test('a letter from a contact is tied to the contact, its counterparty and its open lead', async () => {
    const win = await byMessageId(ids.win);
    assert.equal(win!.fromAddress, 'ivan@romashka.test');
    assert.deepEqual([win!.contactId, win!.counterpartyId, win!.leadId], [rec.contact, rec.cp, rec.lead]);
    const koi = await byMessageId(ids.koi);
    assert.deepEqual([koi!.contactId, koi!.counterpartyId], [null, rec.cp], 'the counterparty’s own address');
    // appears in the histories the manager reads
    const history = await getHistory(w.as(manager), 'lead', rec.lead);
    assert.ok(history.some((h) => h.kind === 'email' && h.title === 'Входящее: Счёт на оплату — срочно'));
  });

  test('Cc and the To of a sent letter tie too', async () => {
    assert.equal((await byMessageId(ids.cc))!.counterpartyId, rec.cpOnly);
    assert.deepEqual((await byMessageId(ids.cc))!.ccAddresses, ['sidorov@mail.test']);
    assert.equal((await byMessageId(ids.sent))!.counterpartyId, rec.cpOnly);
  });

  test('the responsible manager is told of a client’s letter; nobody else sees it', async () => {
    const jobs = await notifyJobs();
    const told = jobs.filter((j) => j.data.kind === 'email_received' && j.data.userId === manager.id);
    assert.ok(told.some((j) => j.data.text.includes('Счёт на оплату') && j.data.leadId === rec.lead));
    const win = await byMessageId(ids.win);
    await getEmail(w.as(manager), win!.id);
    await assert.rejects(getEmail(w.as(other), win!.id), (e) => e instanceof ServiceError && e.code === 'forbidden');
  });

  test('importing again adds nothing; a new letter is picked up alone', async () => {
    const before = await countEmails();
    const again = await importMailbox(w.system, env, mailbox.id);
    assert.equal(again.imported, 0);
    assert.equal(await countEmails(), before);
    await dc.append(sales, 'INBOX', rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Ещё одно', body: 'текст', messageId: '<one-more@client.test>' }));
    const third = await importMailbox(w.system, env, mailbox.id);
    assert.equal(third.imported, 1);
    assert.equal(await countEmails(), before + 1);
  });

  test('the same letter twice in a folder is stored once', async () => {
    const raw = rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Дубль', body: 'x', messageId: '<dup@client.test>' });
    await dc.append(sales, 'INBOX', raw);
    await dc.append(sales, 'INBOX', raw);
    const r = await importMailbox(w.system, env, mailbox.id);
    assert.equal(r.imported, 1);
  });

  test('a letter without a Message-ID is stored once too', async () => {
    await dc.append(sales, 'INBOX', rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Без идентификатора', body: 'x', messageId: null }));
    assert.equal((await importMailbox(w.system, env, mailbox.id)).imported, 1);
    assert.equal((await importMailbox(w.system, env, mailbox.id)).imported, 0);
    const [row] = await w.system.db.select().from(emails).where(eq(emails.subject, 'Без идентификатора'));
    assert.match(row!.messageId!, /@no-message-id\.crm>$/);
  });
});

describe('attachments', () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))]);
  const csv = Buffer.from('ИНН;Название\n7707083893;ПАО Сбербанк\n', 'utf8');
  let id: number;
  before(async () => {
    await dc.append(
      sales,
      'INBOX',
      rawLetter({
        from: 'ivan@romashka.test',
        to: sales.user,
        subject: 'Реквизиты и договор',
        body: 'Во вложении.',
        messageId: '<attach@client.test>',
        attachments: [
          { name: 'Договор №12.pdf', mime: 'application/pdf', content: pdf },
          { name: 'реквизиты.csv', mime: 'text/csv', content: csv },
        ],
      }),
    );
    await importMailbox(w.system, env, mailbox.id);
    id = (await byMessageId('<attach@client.test>'))!.id;
  });

  test('are stored under DATA_DIR/attachments with their names, types and sizes', async () => {
    const e = await byMessageId('<attach@client.test>');
    assert.deepEqual(
      e!.attachments.map((a) => [a.name, a.mime, a.size]),
      [
        ['Договор №12.pdf', 'application/pdf', pdf.length],
        ['реквизиты.csv', 'text/csv', csv.length],
      ],
    );
    for (const a of e!.attachments) {
      assert.match(a.path, /^attachments\/mail\//);
      assert.ok(existsSync(path.join(dataDir, a.path)));
    }
  });

  test('read back byte for byte by whoever sees the letter', async () => {
    const a = await readEmailAttachment(w.as(manager), env, id, 0);
    assert.equal(a.name, 'Договор №12.pdf');
    assert.ok(a.data.equals(pdf));
    assert.ok((await readEmailAttachment(w.as(manager), env, id, 1)).data.equals(csv));
    await assert.rejects(readEmailAttachment(w.as(other), env, id, 0), (e) => e instanceof ServiceError && e.code === 'forbidden');
    await assert.rejects(readEmailAttachment(w.as(manager), env, id, 5), (e) => e instanceof ServiceError && e.code === 'not_found');
  });
});

describe('threading', () => {
  test('a conversation is one thread by In-Reply-To and References, whatever the order', async () => {
    const root = '<thread-root@client.test>';
    const r1 = '<thread-r1@company.test>';
    const r2 = '<thread-r2@client.test>';
    const r3 = '<thread-r3@company.test>';
    const at = (minutes: number) => new Date(Date.now() - 60 * 60_000 + minutes * 60_000);
    // the second reply arrives first, with References cut short to its parent
    await dc.append(sales, 'INBOX', rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Re: Re: Цены', body: '3', date: at(2), messageId: r2, inReplyTo: r1, references: [r1] }));
    await importMailbox(w.system, env, mailbox.id);
    await dc.append(sales, 'INBOX', rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Цены', body: '1', date: at(0), messageId: root }));
    await dc.append(sales, 'Sent', rawLetter({ from: sales.user, to: 'ivan@romashka.test', subject: 'Re: Цены', body: '2', date: at(1), messageId: r1, inReplyTo: root, references: [root] }));
    // a reply with In-Reply-To only
    await dc.append(sales, 'Sent', rawLetter({ from: sales.user, to: 'ivan@romashka.test', subject: 'Re: Re: Re: Цены', body: '4', date: at(3), messageId: r3, inReplyTo: r2 }));
    await importMailbox(w.system, env, mailbox.id);
    const keys = new Set<string | null>();
    for (const id of [root, r1, r2, r3]) keys.add((await byMessageId(id))!.threadKey);
    assert.deepEqual([...keys], [root]);
    const thread = await getEmailThread(w.as(manager), (await byMessageId(r3))!.id);
    assert.deepEqual(
      thread.map((e) => e.messageId),
      [root, r1, r2, r3],
    );
    assert.equal((await byMessageId(r1))!.inReplyTo, root);
    assert.deepEqual((await byMessageId(r2))!.references, [r1]);
  });

  test('an unrelated letter starts its own thread', async () => {
    await dc.append(sales, 'INBOX', rawLetter({ from: 'ivan@romashka.test', to: sales.user, subject: 'Другая тема', body: 'x', messageId: '<alone@client.test>' }));
    await importMailbox(w.system, env, mailbox.id);
    assert.equal((await byMessageId('<alone@client.test>'))!.threadKey, '<alone@client.test>');
  });
});

describe('leads from unknown senders', () => {
  test('a letter from an unknown address opens a lead (source e-mail) and tells its manager', async () => {
    const before = (await notifyJobs()).length;
    await dc.append(
      sales,
      'INBOX',
      rawLetter({ from: { name: 'Мария Новикова', address: 'maria@newclient.test' }, to: sales.user, subject: 'Хочу купить оптом', body: 'Сколько стоит?', messageId: '<new-client-1@newclient.test>' }),
    );
    await importMailbox(w.system, env, mailbox.id);
    const letter = await byMessageId('<new-client-1@newclient.test>');
    assert.ok(letter!.leadId, 'the letter is on a lead');
    const [lead] = await w.system.db.select().from(leads).where(eq(leads.id, letter!.leadId!));
    assert.equal(lead!.source, 'email');
    assert.equal(lead!.title, 'Письмо: Хочу купить оптом');
    assert.ok(lead!.contactId && lead!.contactId === letter!.contactId);
    assert.ok(lead!.responsibleId, 'routing gave it a manager');
    const jobs = (await notifyJobs()).slice(before);
    const told = jobs.filter((j) => j.data.userId === lead!.responsibleId && j.data.leadId === lead!.id);
    assert.equal(told.length, 1, 'one message about it, not two');
    assert.match(told[0]!.data.text, /Хочу купить оптом/);
    assert.match(told[0]!.data.text, /Мария Новикова <maria@newclient\.test>/);
  });

  test('the next letter from that address joins the same lead and is announced as a letter', async () => {
    const first = await byMessageId('<new-client-1@newclient.test>');
    const before = (await notifyJobs()).length;
    await dc.append(sales, 'INBOX', rawLetter({ from: 'maria@newclient.test', to: sales.user, subject: 'Уточнение', body: '100 штук', messageId: '<new-client-2@newclient.test>' }));
    await importMailbox(w.system, env, mailbox.id);
    const second = await byMessageId('<new-client-2@newclient.test>');
    assert.equal(second!.leadId, first!.leadId);
    const [lead] = await w.system.db.select().from(leads).where(eq(leads.id, first!.leadId!));
    const jobs = (await notifyJobs()).slice(before);
    assert.deepEqual(
      jobs.map((j) => [j.data.kind, j.data.userId, j.data.leadId]),
      [['email_received', lead!.responsibleId, lead!.id]],
    );
    const count = await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE source = 'email'`);
    assert.equal(count[0]!.n, 1);
  });

  test('no lead from an auto-reply, from a letter older than the mailbox, or when the mailbox does not open leads', async () => {
    const count = async () => (await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE source = 'email'`))[0]!.n;
    const before = await count();
    await dc.append(
      sales,
      'INBOX',
      rawLetter({ from: 'robot@bounce.test', to: sales.user, subject: 'Автоответ', body: 'Я в отпуске', headers: { 'Auto-Submitted': 'auto-replied' } }),
    );
    const old = new Date(Date.now() - 400 * 86400_000);
    await dc.append(sales, 'INBOX', rawLetter({ from: 'old@archive.test', to: sales.user, subject: 'Старое письмо', body: 'x', date: old }), { date: old });
    await importMailbox(w.system, env, mailbox.id);
    assert.equal(await count(), before);
    await updateMailbox(w.as(admin), env, mailbox.id, { createsLeads: false });
    await dc.append(sales, 'INBOX', rawLetter({ from: 'stranger@nowhere.test', to: sales.user, subject: 'Здравствуйте', body: 'x' }));
    await importMailbox(w.system, env, mailbox.id);
    assert.equal(await count(), before);
    const [kept] = await w.system.db.select().from(emails).where(eq(emails.subject, 'Здравствуйте'));
    assert.equal(kept!.leadId, null, 'the letter is kept, tied to nothing');
    await updateMailbox(w.as(admin), env, mailbox.id, { createsLeads: true });
  });
});

describe('UIDVALIDITY', () => {
  test('a recreated folder is read again without storing a letter twice', async () => {
    const sent = rawLetter({ from: sales.user, to: 'ivan@romashka.test', subject: 'До пересоздания', body: 'x', messageId: '<before-reset@company.test>' });
    await dc.append(sales, 'Sent', sent);
    await importMailbox(w.system, env, mailbox.id);
    const before = await countEmails();
    const [state] = await w.database.rows<{ uid_validity: string | number }>(sql`SELECT uid_validity FROM mail_folder_state WHERE mailbox_id = ${mailbox.id} AND folder = 'Sent'`);

    // a mail client deletes and recreates the folder: new UIDVALIDITY, UIDs start again at 1
    const client = await dc.connect(sales);
    await client.mailboxDelete('Sent');
    await client.mailboxCreate('Sent').catch(() => undefined);
    await client.logout();
    await dc.append(sales, 'Sent', sent);
    await dc.append(sales, 'Sent', rawLetter({ from: sales.user, to: 'ivan@romashka.test', subject: 'После пересоздания', body: 'y', messageId: '<after-reset@company.test>' }));

    const r = await importMailbox(w.system, env, mailbox.id);
    const folder = r.folders.find((f) => f.folder === 'Sent')!;
    assert.equal(folder.uidValidityChanged, true);
    assert.equal(folder.imported, 1);
    assert.equal(await countEmails(), before + 1);
    const [now] = await w.database.rows<{ uid_validity: string | number; last_uid: string | number }>(
      sql`SELECT uid_validity, last_uid FROM mail_folder_state WHERE mailbox_id = ${mailbox.id} AND folder = 'Sent'`,
    );
    assert.notEqual(Number(now!.uid_validity), Number(state!.uid_validity));
    assert.equal(Number(now!.last_uid), 2);
    assert.equal((await importMailbox(w.system, env, mailbox.id)).imported, 0);
  });
});

test('letters are listed in the history of the record, newest first', async () => {
  const rows = await w.system.db.select({ id: emails.id }).from(emails).where(eq(emails.contactId, rec.contact)).orderBy(asc(emails.at));
  const history = await getHistory(w.as(manager), 'contact', rec.contact, { limit: 1000 });
  assert.equal(history.filter((h) => h.kind === 'email').length, rows.length);
});
