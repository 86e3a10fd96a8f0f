import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, openBrowser, signIn, type AdminApp, type BrowserSession } from './helpers/browser.js';
import { freePort, rawLetter, startDovecot, type Dovecot, type MailUser } from './helpers/dovecot.js';
import { startSmtp, type SmtpFake } from './helpers/smtp.js';
import { systemActor } from '../core/context.js';
import { emails, mailboxes } from '../core/db/schema/index.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { assignMailingType, createMailingType } from '../core/mailing/mailing-types.js';
import { mailEnv } from '../core/mail/env.js';
import { registerMailProcessors } from '../core/mail/processors.js';
import { importMailbox } from '../core/mail/import.js';

/** The e-mail pages of the admin panel: the mailbox reference book, «write a letter» on cards, mail-outs. */
const box: MailUser = { user: 'sales@company.test', password: 'Пароль ящика 7' };
let a: AdminApp;
let dc: Dovecot;
let smtp: SmtpFake;
let admin: User, manager: User;
let cpId: number, leadId: number;



before(async () => {
  // dovecot and the SMTP fake listen on 127.0.0.1, which a CRM reaches only with MAIL_ALLOW_PRIVATE_HOSTS
  [a, dc, smtp] = await Promise.all([openAdminApp({ env: { MAIL_ALLOW_PRIVATE_HOSTS: 'true' } }), startDovecot([box]), startSmtp([box])]);
  const seg = await a.world.segment();
  admin = await a.world.user('admin', { name: 'Анна Админова' });
  manager = await a.world.user('manager', { name: 'Мария Менеджерова', segments: [seg] });
  cpId = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Ромашка', segmentId: seg, responsibleId: manager.id, emails: ['office@romashka.test'] })).id;
  const contact = await createContact(a.world.system, { name: 'Иван Петров', counterpartyId: cpId, emails: ['ivan@romashka.test'] });
  leadId = (await createLead(a.world.system, { title: 'Поставка бумаги', source: 'manual', contactId: contact.id, responsibleId: manager.id })).id;
  const env = mailEnv(a.services, { sendBackoffMs: 30, mailoutLimiter: { max: 10, durationMs: 100 }, timeoutMs: 5000 });
  registerMailProcessors(a.world.system.jobs, { ctx: () => a.services.ctx(systemActor('почта')), env });
  await a.startWorker();
});
after(async () => {
  await a?.close();
  await smtp?.close();
  await dc?.stop();
});

const servers = () => ({
  imapHost: dc.host,
  imapPort: String(dc.port),
  imapEncryption: 'none',
  smtpHost: smtp.host,
  smtpPort: String(smtp.port),
  smtpEncryption: 'none',
});

describe('the mailbox reference book', () => {
  let c: PanelClient;
  let id: number;
  before(async () => {
    c = new PanelClient(a.app);
    await c.signIn(admin.email);
  });

  test('an admin adds a mailbox; the list shows it and the password never comes back', async () => {
    const list = await c.get('/admin/mailboxes');
    assert.match(list.body, /href="\/admin\/mailboxes"/, 'in the menu');
    const form = await c.get('/admin/mailboxes/new');
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /value="imap\.yandex\.ru"/, 'the Яндекс preset is filled in');
    const page = await c.submit('/admin/mailboxes', {
      name: 'Отдел продаж',
      service: 'other',
      login: box.user,
      password: box.password,
      email: '',
      ownerId: '',
      createsLeads: 'on',
      active: 'on',
      ...servers(),
    });
    assert.match(text(page.body), /Почтовый ящик «Отдел продаж» добавлен/);
    assert.match(text(page.body), /sales@company\.test/);
    assert.match(text(page.body), /создаёт лиды/);
    const [row] = await a.world.system.db.select().from(mailboxes).where(eq(mailboxes.login, box.user));
    id = row!.id;
    const edit = await c.get(`/admin/mailboxes/${id}`);
    assert.equal(edit.statusCode, 200);
    assert.ok(!edit.body.includes(box.password) && !edit.body.includes(row!.passwordEncrypted));
    assert.match(edit.body, /name="password" value=""/);
  });

  test('a bad port is shown on its field and nothing is stored', async () => {
    const res = await c.post('/admin/mailboxes', { name: 'Сломанный', service: 'other', login: 'x@company.test', password: 'p', ...servers(), imapPort: 'сто' });
    assert.equal(res.statusCode, 400);
    assert.match(text(res.body), /Ящик не сохранён: неверный порт/);
    assert.match(res.body, /id="m-imapPort"[^>]*aria-invalid=true/);
    const [n] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM mailboxes WHERE login = 'x@company.test'`);
    assert.equal(n!.n, 0);
  });

  test('«check connection» on a saved mailbox and on an unsaved form', async () => {
    const ok = await c.submit(`/admin/mailboxes/${id}/check`, {});
    assert.match(text(ok.body), /Соединение в порядке/);
    const closed = await freePort();
    const res = await c.post('/admin/mailboxes/check', { name: 'Новый', service: 'other', login: box.user, password: box.password, ...servers(), imapPort: String(closed), smtpPort: String(closed) });
    assert.equal(res.statusCode, 200);
    assert.match(text(res.body), /Сервер отказал в соединении/);
    assert.ok(!res.body.includes(box.password), 'the typed password is not echoed back');
    // an edit is checked with the stored password when the field is left empty
    const stored = await c.post('/admin/mailboxes/check', { mailboxId: String(id), name: 'Отдел продаж', service: 'other', login: box.user, password: '', ...servers() });
    assert.match(text(stored.body), /Соединение в порядке/);
  });

  test('editing keeps the password when the field is empty; deleting removes the mailbox', async () => {
    const page = await c.submit(`/admin/mailboxes/${id}`, { name: 'Продажи', service: 'other', login: box.user, password: '', email: box.user, ownerId: '', active: 'on', ...servers() });
    assert.match(text(page.body), /Изменения сохранены/);
    assert.match(text((await c.submit(`/admin/mailboxes/${id}/check`, {})).body), /Соединение в порядке/);
    const extra = await c.submit('/admin/mailboxes', { name: 'Лишний', service: 'gmail', login: 'extra@gmail.com', password: 'x', active: '' });
    assert.match(text(extra.body), /Лишний/);
    const [row] = await a.world.system.db.select().from(mailboxes).where(eq(mailboxes.login, 'extra@gmail.com'));
    const gone = await c.submit(`/admin/mailboxes/${row!.id}/delete`, {});
    assert.match(text(gone.body), /Почтовый ящик удалён/);
    assert.ok(!text(gone.body).includes('Лишний'));
  });

  test('a manager has no mailbox pages', async () => {
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    assert.equal((await m.get('/admin/mailboxes')).statusCode, 403);
    assert.ok(!(await m.get('/admin')).body.includes('href="/admin/mailboxes"'));
  });
});

describe('«write a letter» on a card', () => {
  test('from a counterparty card: the form offers its addresses, the letter is queued and sent', async () => {
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    const card = await m.get(`/admin/counterparties/${cpId}`);
    assert.match(card.body, new RegExp(`href="/admin/mail/write\\?counterpartyId=${cpId}"`));
    const form = await m.get(`/admin/mail/write?counterpartyId=${cpId}`);
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /<option value="ivan@romashka\.test">Иван Петров<\/option>/);
    assert.match(form.body, /<option value="office@romashka\.test">ООО Ромашка<\/option>/);
    const before = smtp.received.length;
    const after = await m.submit('/admin/mail/write', { counterpartyId: String(cpId), to: 'ivan@romashka.test', cc: '', subject: 'Счёт', body: 'Иван, добрый день! Счёт во вложении письма следующим.' });
    assert.match(text(after.body), /Письмо «Счёт» поставлено в очередь на отправку/);
    const [letter] = await a.world.system.db.select().from(emails).where(eq(emails.subject, 'Счёт'));
    assert.equal(letter!.direction, 'outgoing');
    assert.equal(letter!.authorUserId, manager.id);
    assert.ok(letter!.contactId, 'the address found the contact');
    const until = Date.now() + 10_000;
    while (smtp.received.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(smtp.received[before]?.to, ['ivan@romashka.test']);
    // and it is in the card's e-mail tab
    assert.match(text((await m.get(`/admin/counterparties/${cpId}?tab=emails`)).body), /Исходящее: Счёт/);
  });

  test('from a lead card; bad input is shown on the form', async () => {
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    assert.match((await m.get(`/admin/leads/${leadId}`)).body, new RegExp(`href="/admin/mail/write\\?leadId=${leadId}"`));
    const form = await m.get(`/admin/mail/write?leadId=${leadId}`);
    assert.match(form.body, /name="to" value="ivan@romashka\.test"/);
    const bad = await m.post('/admin/mail/write', { leadId: String(leadId), to: 'не адрес', subject: '', body: '' });
    assert.equal(bad.statusCode, 400);
    assert.match(text(bad.body), /Письмо не отправлено/);
    assert.match(text(bad.body), /неверный e-mail: не адрес/);
    const ok = await m.submit('/admin/mail/write', { leadId: String(leadId), to: 'ivan@romashka.test', subject: 'По лиду', body: 'Текст' });
    assert.match(text(ok.body), /поставлено в очередь/);
    const [letter] = await a.world.system.db.select().from(emails).where(eq(emails.subject, 'По лиду'));
    assert.equal(letter!.leadId, leadId);
  });
});

describe('a letter with files', () => {
  test('the files go with the letter over SMTP (the Sent copy is the same bytes) and open from its page; too much is refused', async () => {
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    await m.get(`/admin/mail/write?counterpartyId=${cpId}`);
    const offer = Buffer.from('%PDF-1.4 коммерческое предложение');
    const price = Buffer.from('Товар;Цена\r\nБумага;350\r\n');
    const before = smtp.received.length;
    const res = await m.postMultipart('/admin/mail/write', { counterpartyId: String(cpId), to: 'ivan@romashka.test', cc: '', subject: 'КП с прайсом', body: 'Иван, высылаю КП и прайс.' }, [
      { field: 'files', name: 'КП.pdf', type: 'application/pdf', data: offer },
      { field: 'files', name: 'Прайс.csv', type: 'text/csv', data: price },
    ]);
    assert.equal(res.statusCode, 303, text(res.body).slice(0, 300));
    const [letter] = await a.world.system.db.select().from(emails).where(eq(emails.subject, 'КП с прайсом'));
    assert.deepEqual(letter!.attachments.map((f) => [f.name, f.size]), [['КП.pdf', offer.length], ['Прайс.csv', price.length]]);
    const until = Date.now() + 10_000;
    let sent: Awaited<ReturnType<typeof simpleParser>> | undefined;
    while (!sent && Date.now() < until) {
      for (const got of smtp.received.slice(before)) {
        const parsed = await simpleParser(got.raw);
        if (parsed.subject === 'КП с прайсом') sent = parsed;
      }
      if (!sent) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(sent, 'the letter reached the SMTP server');
    assert.equal(sent.text?.trim(), 'Иван, высылаю КП и прайс.');
    assert.deepEqual(sent.attachments.map((f) => [f.filename, f.content.toString()]), [['КП.pdf', offer.toString()], ['Прайс.csv', price.toString()]]);
    // the letter's page lists the files and opens them
    const page = await m.get(`/admin/mail/emails/${letter!.id}`);
    assert.match(text(page.body), /КП\.pdf/);
    const opened = await m.get(`/admin/mail/emails/${letter!.id}/attachments/0`);
    assert.equal(opened.rawPayload.toString(), offer.toString());

    // more than a mail service takes is refused on the form, and nothing is queued
    await m.get(`/admin/mail/write?counterpartyId=${cpId}`);
    const big = await m.postMultipart('/admin/mail/write', { counterpartyId: String(cpId), to: 'ivan@romashka.test', subject: 'Слишком много', body: 'Текст' }, [
      { field: 'files', name: 'архив.zip', type: 'application/zip', data: Buffer.alloc(16 * 1024 * 1024, 1) },
    ]);
    assert.equal(big.statusCode, 400);
    assert.match(text(big.body), /вложения вместе больше 15 МБ/);
    assert.equal((await a.world.system.db.select().from(emails).where(eq(emails.subject, 'Слишком много'))).length, 0);
  });
});

describe('reading letters', () => {
  test('a letter in the card’s history opens with its attachments, and «Ответить» answers it', async () => {
    const pdf = Buffer.from('%PDF-1.4 счёт');
    await dc.append(
      box,
      'INBOX',
      rawLetter({ from: 'ivan@romashka.test', to: box.user, subject: 'Реквизиты', body: 'Строка один\nСтрока два', messageId: '<admin-read@romashka.test>', attachments: [{ name: 'Реквизиты.pdf', mime: 'application/pdf', content: pdf }] }),
    );
    const [mb] = await a.world.system.db.select().from(mailboxes).where(eq(mailboxes.login, box.user));
    await importMailbox(a.services.ctx(systemActor('test')), mailEnv(a.services), mb!.id);
    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    const tab = await m.get(`/admin/counterparties/${cpId}?tab=emails`);
    const link = /href="(\/admin\/mail\/emails\/\d+)"><b>Входящее: Реквизиты<\/b>/.exec(tab.body)?.[1];
    assert.ok(link, 'the history links to the letter');
    const page = await m.get(link);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Строка один\nСтрока два/);
    const file = /href="(\/admin\/mail\/emails\/\d+\/attachments\/0)">Реквизиты\.pdf<\/a>/.exec(page.body)?.[1];
    assert.ok(file);
    const download = await m.get(file);
    assert.equal(download.statusCode, 200);
    assert.equal(download.headers['content-type'], 'application/pdf');
    assert.ok(download.rawPayload.equals(pdf));
    // answering
    const id = link.split('/').pop()!;
    const form = await m.get(`/admin/mail/write?replyTo=${id}`);
    assert.match(form.body, /name="to" value="ivan@romashka\.test"/);
    assert.match(form.body, /name="subject" value="Re: Реквизиты"/);
    const sent = await m.submit('/admin/mail/write', { replyTo: id, to: 'ivan@romashka.test', subject: 'Re: Реквизиты', body: 'Спасибо!' });
    assert.match(text(sent.body), /поставлено в очередь/);
    assert.match(text(sent.body), /Спасибо!/);
    const [reply] = await a.world.system.db.select().from(emails).where(eq(emails.bodyText, 'Спасибо!'));
    assert.equal(reply!.inReplyTo, '<admin-read@romashka.test>');
    assert.equal(reply!.counterpartyId, cpId);
    // someone outside the client's segments cannot open it
    const stranger = await a.world.user('manager', { name: 'Чужой менеджер' });
    const s2 = new PanelClient(a.app);
    await s2.signIn(stranger.email);
    assert.equal((await s2.get(link)).statusCode, 403);
    assert.equal((await s2.get(file)).statusCode, 403);
  });
});

describe('mail-outs', () => {
  test('the head starts a mail-out to a mailing type and follows it per recipient', async () => {
    const head = await a.world.user('head', { name: 'Глеб Руководителев' });
    const type = await createMailingType(a.world.system, { name: 'Клиенты' });
    const contacts = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM contacts`);
    await assignMailingType(a.world.system, type.id, { ids: contacts.map((r) => Number(r.id)) });
    const h = new PanelClient(a.app);
    await h.signIn(head.email);
    const page = await h.get(`/admin/mailouts?mailingTypeId=${type.id}`);
    assert.equal(page.statusCode, 200);
    const [mb] = await a.world.system.db.select().from(mailboxes).limit(1);
    const res = await h.post('/admin/mailouts', { mailingTypeId: String(type.id), mailboxId: String(mb!.id), subject: 'Новости', body: 'Здравствуйте, {{name}}!' });
    assert.equal(res.statusCode, 303);
    const url = res.headers.location as string;
    assert.match(url, /^\/admin\/mailouts\/\d+$/);
    assert.match(text((await h.get(url)).body), /Рассылка запущена/);
    const until = Date.now() + 10_000;
    let body = '';
    do {
      body = text((await h.get(url)).body);
      if (/завершена/.test(body)) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < until);
    assert.match(body, /завершена/);
    assert.match(body, /отправлено: 1/);
    const bad = await h.post('/admin/mailouts', { mailingTypeId: String(type.id), mailboxId: String(mb!.id), subject: 'x', body: 'Привет, {{имя}}' });
    assert.equal(bad.statusCode, 400);
    assert.match(text(bad.body), /неизвестная подстановка \{\{имя\}\}/);
  });
});

describe('in the browser', () => {
  let b: BrowserSession;
  before(async () => {
    b = await openBrowser();
  });
  after(() => b?.close());

  test('choosing a mail service fills in its servers', async () => {
    const { page, context } = await b.newPage();
    await signIn(page, a.url, admin.email, 'password123');
    await page.goto(`${a.url}/admin/mailboxes/new`);
    assert.equal(await page.inputValue('#m-imapHost'), 'imap.yandex.ru');
    await page.selectOption('#m-service', 'gmail');
    assert.equal(await page.inputValue('#m-imapHost'), 'imap.gmail.com');
    assert.equal(await page.inputValue('#m-smtpHost'), 'smtp.gmail.com');
    assert.equal(await page.inputValue('#m-smtpPort'), '465');
    assert.match(await page.locator('[data-preset-hint]').innerText(), /пароль приложения/i);
    await page.selectOption('#m-service', 'mailru');
    assert.equal(await page.inputValue('#m-imapHost'), 'imap.mail.ru');
    await context.close();
  });
});
