import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import type { World } from './helpers/world.js';
import type { User } from '../core/users/users.js';
import { answerTemplates, auditLog, businessConnections, mailboxes } from '../core/db/schema/index.js';
import { getHelpdeskSettings } from '../core/helpdesk/settings.js';
import { createMailbox } from '../core/mail/mailboxes.js';
import { mailEnv } from '../core/mail/env.js';

/** HelpDesk's books in the panel: answer templates, the calendar and SLA page, support mailboxes, Telegram Business. */
let a: AdminApp;
let w: World;
let head: User, admin: User, manager: User;
before(async () => {
  // the mailbox below points at 127.0.0.1 (nothing connects: no worker runs the import)
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } }, env: { MAIL_ALLOW_PRIVATE_HOSTS: 'true' } });
  w = a.world;
  head = await w.user('head', { name: 'Ольга Руководитель' });
  admin = await w.user('admin', { name: 'Админ Админов' });
  manager = await w.user('manager', { name: 'Пётр Менеджеров' });
});
after(() => a.close());

const signedIn = async (u: User) => {
  const c = new PanelClient(a.app);
  await c.signIn(u.email);
  return c;
};

const templatesTitled = async (title: string) => w.database.db.select().from(answerTemplates).where(eq(answerTemplates.title, title));

describe('«Шаблоны ответов»', () => {
  test('the head adds, edits and deletes; the placeholders are explained; an unknown one is refused by name', async () => {
    const c = await signedIn(head);
    let page = await c.get('/admin/books/answer-templates');
    assert.equal(page.statusCode, 200);
    const t = text(page.body);
    for (const p of ['{{имя}}', '{{клиент}}', '{{компания}}', '{{менеджер}}', '{{номер}}', '{{тема}}']) assert.ok(t.includes(p), `${p} is listed`);
    assert.match(t, /\{\{номер\}\} номер обращения/);
    assert.match(t, /\{\{менеджер\}\} имя того, кто отвечает/);

    page = await c.submit('/admin/books/answer-templates', { title: 'Скидка', body: '{{имя}}, ваша скидка {{скидка}}', sortOrder: '5', active: 'on' });
    assert.match(text(page.body), /Не добавлено: .*скидка/);
    assert.equal((await templatesTitled('Скидка')).length, 0);

    page = await c.submit('/admin/books/answer-templates', { title: 'Уточнение', body: '{{имя}}, уточните, пожалуйста, номер заказа.\nОбращение №{{номер}}', sortOrder: '5', active: 'on' });
    assert.match(text(page.body), /Шаблон «Уточнение» добавлен/);
    assert.match(text(page.body), /уточните, пожалуйста, номер заказа/);
    const [row] = await templatesTitled('Уточнение');
    assert.ok(row);

    page = await c.get(`/admin/books/answer-templates/${row.id}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /name="title"[^>]*value="Уточнение"/);
    page = await c.submit(`/admin/books/answer-templates/${row.id}`, { title: 'Уточнение заказа', body: '{{имя}}, пришлите номер заказа. {{менеджер}}', sortOrder: '1' });
    assert.match(text(page.body), /Шаблон «Уточнение заказа» сохранён/);
    const [edited] = await w.database.db.select().from(answerTemplates).where(eq(answerTemplates.id, row.id));
    assert.equal(edited!.body, '{{имя}}, пришлите номер заказа. {{менеджер}}');
    assert.equal(edited!.active, false, 'an unticked box is «not used»');

    await c.get(`/admin/books/answer-templates/${row.id}`);
    page = await c.submit(`/admin/books/answer-templates/${row.id}`, { title: 'Уточнение заказа', body: 'Здравствуйте, {{ИНН}}', sortOrder: '1', active: 'on' });
    assert.match(text(page.body), /Не сохранено: .*ИНН/);
    const [unchanged] = await w.database.db.select().from(answerTemplates).where(eq(answerTemplates.id, row.id));
    assert.equal(unchanged!.body, '{{имя}}, пришлите номер заказа. {{менеджер}}');

    page = await c.submit(`/admin/books/answer-templates/${row.id}/delete`, {});
    assert.match(text(page.body), /Шаблон удалён/);
    assert.equal((await w.database.db.select().from(answerTemplates).where(eq(answerTemplates.id, row.id))).length, 0);
  });

  test('a manager reads the book but writes nothing', async () => {
    const hc = await signedIn(head);
    await hc.get('/admin/books/answer-templates');
    await hc.submit('/admin/books/answer-templates', { title: 'Приняли', body: '{{имя}}, приняли обращение №{{номер}} в работу.', sortOrder: '0', active: 'on' });
    const [tpl] = await templatesTitled('Приняли');
    assert.ok(tpl);

    const m = await signedIn(manager);
    let page = await m.get('/admin/books/answer-templates');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /приняли обращение №\{\{номер\}\} в работу/);
    assert.ok(!page.body.includes('action="/admin/books/answer-templates"'), 'no «add» form for a manager');
    assert.equal((await m.get(`/admin/books/answer-templates/${tpl.id}`)).statusCode, 403);

    page = await m.submit('/admin/books/answer-templates', { title: 'Моё', body: 'Текст', sortOrder: '0', active: 'on' });
    assert.match(text(page.body), /Не добавлено/);
    assert.equal((await templatesTitled('Моё')).length, 0);
    await m.post(`/admin/books/answer-templates/${tpl.id}`, { title: 'Испорчено', body: 'x', sortOrder: '0', active: 'on' });
    await m.post(`/admin/books/answer-templates/${tpl.id}/delete`, {});
    const [still] = await w.database.db.select().from(answerTemplates).where(eq(answerTemplates.id, tpl.id));
    assert.equal(still?.title, 'Приняли', 'a manager neither changes nor deletes');
  });
});

/** the whole settings form as the page sends it, with some cells changed */
function settingsForm(over: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  const cells: Record<string, string> = {};
  for (const p of ['urgent', 'high', 'normal', 'low']) for (const t of ['first', 'res']) for (const u of ['h', 'm']) cells[`sla_${p}_${t}_${u}`] = '';
  return { workDays: ['1', '2', '3', '4', '5'], dayStart: '09:00', dayEnd: '18:00', warnAtPercent: '80', waitingCloseHours: '72', solvedCloseHours: '168', ...cells, ...over };
}

describe('«HelpDesk: график и сроки»', () => {
  test('the head saves the week, the hours, the timers and the SLA table; empty cells mean no target', async () => {
    const c = await signedIn(head);
    let page = await c.get('/admin/helpdesk');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /Праздники и перенесённые рабочие дни/);
    assert.match(page.body, /name="workDays" value="1" checked/);

    const res = await c.post(
      '/admin/helpdesk',
      settingsForm({
        workDays: ['1', '2', '3', '4', '5', '6'],
        dayStart: '8:30',
        dayEnd: '17:45',
        warnAtPercent: '75',
        waitingCloseHours: '48',
        solvedCloseHours: '24',
        sla_urgent_first_h: '0',
        sla_urgent_first_m: '30',
        sla_urgent_res_h: '4',
        sla_normal_first_h: '2',
        sla_normal_res_h: '16',
        sla_normal_res_m: '15',
      }),
    );
    assert.equal(res.statusCode, 303);
    page = await c.get(res.headers.location as string);
    assert.match(text(page.body), /Настройки HelpDesk сохранены/);
    const s = await getHelpdeskSettings(w.as(head));
    assert.deepEqual(s.workDays, [1, 2, 3, 4, 5, 6]);
    assert.equal(s.dayStartMinute, 8 * 60 + 30);
    assert.equal(s.dayEndMinute, 17 * 60 + 45);
    assert.equal(s.warnAtPercent, 75);
    assert.equal(s.waitingCloseHours, 48);
    assert.equal(s.solvedCloseHours, 24);
    assert.deepEqual(s.sla.urgent, { firstResponseMinutes: 30, resolutionMinutes: 240 });
    assert.deepEqual(s.sla.normal, { firstResponseMinutes: 120, resolutionMinutes: 16 * 60 + 15 });
    assert.deepEqual(s.sla.low, { firstResponseMinutes: null, resolutionMinutes: null });
    // the page shows what was saved
    assert.match(page.body, /name="dayStart"[^>]*value="08:30"/);
    assert.match(page.body, /name="sla_normal_res_h"[^>]*value="16"/);
    assert.match(page.body, /name="sla_normal_res_m"[^>]*value="15"/);
    assert.match(page.body, /name="sla_low_first_h"[^>]*value=""/);
    assert.match(page.body, /name="workDays" value="6" checked/);
    assert.doesNotMatch(page.body, /name="workDays" value="7" checked/);
  });

  test('bad input is named in the message and changes nothing', async () => {
    const c = await signedIn(head);
    await c.get('/admin/helpdesk');
    const before = await getHelpdeskSettings(w.as(head));
    const cases: [Record<string, string | string[]>, RegExp][] = [
      [{ dayStart: '18:00', dayEnd: '09:00' }, /Не сохранено: конец рабочего дня \(09:00\) должен быть позже начала \(18:00\)/],
      [{ warnAtPercent: '150' }, /Не сохранено: предупреждение о сроке: целое число от 1 до 99 %/],
      [{ dayStart: '9 утра' }, /начало рабочего дня: время в виде ЧЧ:ММ/],
      [{ workDays: [] }, /отметьте хотя бы один рабочий день/],
      [{ sla_high_first_h: '0', sla_high_first_m: '0' }, /Высокий, первый ответ: срок не может быть нулевым/],
      [{ sla_high_res_m: '75' }, /Высокий, решение: минут не больше 59/],
      [{ waitingCloseHours: '0' }, /закрытие «Ждём клиента»: целое число от 1/],
    ];
    for (const [over, message] of cases) {
      const res = await c.post('/admin/helpdesk', settingsForm({ dayStart: '07:00', warnAtPercent: '60', ...over }));
      assert.equal(res.statusCode, 303);
      const page = await c.get(res.headers.location as string);
      assert.match(text(page.body), message, JSON.stringify(over));
    }
    assert.deepEqual(await getHelpdeskSettings(w.as(head)), before, 'nothing changed');
  });

  test('holidays and moved working days: added with a note, shown with the weekday, removed', async () => {
    const c = await signedIn(admin);
    await c.get('/admin/helpdesk');
    let page = await c.submit('/admin/helpdesk/days', { day: '2027-01-07', kind: 'holiday', note: 'Рождество' });
    assert.match(text(page.body), /07\.01\.2027, четверг: выходной — добавлено в календарь/);
    page = await c.submit('/admin/helpdesk/days', { day: '2027-01-09', kind: 'working', note: '' });
    assert.match(text(page.body), /09\.01\.2027, суббота: рабочий день/);
    let s = await getHelpdeskSettings(w.as(admin));
    assert.deepEqual(s.days, [
      { day: '2027-01-07', working: false, note: 'Рождество' },
      { day: '2027-01-09', working: true, note: null },
    ]);
    const row = text(page.body.split('data-day="2027-01-07"')[1]!.split('</tr>')[0]!);
    assert.match(row, /выходной/);
    assert.match(row, /Рождество/);

    page = await c.submit('/admin/helpdesk/days', { day: '2027-02-30', kind: 'holiday', note: '' });
    assert.match(text(page.body), /Не добавлено: дата: выберите день в календаре/);

    page = await c.submit('/admin/helpdesk/days/delete', { day: '2027-01-07' });
    assert.match(text(page.body), /07\.01\.2027, четверг: снова по обычному графику/);
    s = await getHelpdeskSettings(w.as(admin));
    assert.deepEqual(s.days.map((d) => d.day), ['2027-01-09']);
    assert.ok(!page.body.includes('data-day="2027-01-07"'));

    const m = await signedIn(manager);
    assert.equal((await m.get('/admin/helpdesk')).statusCode, 403);
    await m.get('/admin');
    await m.post('/admin/helpdesk/days', { day: '2027-03-08', kind: 'holiday', note: '' });
    await m.post('/admin/helpdesk', settingsForm({ warnAtPercent: '10' }));
    s = await getHelpdeskSettings(w.as(admin));
    assert.deepEqual(s.days.map((d) => d.day), ['2027-01-09'], 'a manager adds no day');
    assert.notEqual(s.warnAtPercent, 10, 'a manager saves no settings');
  });

  test('the support queue: active users ticked; the page says who is in it; untick all empties it', async () => {
    const ann = await w.user('manager', { name: 'Анна Поддержкина' });
    const bob = await w.user('manager', { name: 'Борис Саппортов' });
    const gone = await w.user('manager', { name: 'Уволенный Сотрудник' });
    await w.database.db.execute(sql`UPDATE users SET active = false WHERE id = ${gone.id}`);
    const c = await signedIn(head);
    let page = await c.get('/admin/helpdesk');
    const queueForm = page.body.split('data-testid="support-queue"')[1]!;
    assert.match(queueForm, /Анна Поддержкина/);
    assert.ok(!queueForm.includes('Уволенный Сотрудник'), 'only active users are offered');

    page = await c.submit('/admin/helpdesk/queue', { userIds: [String(ann.id), String(bob.id)] } as never);
    assert.match(text(page.body), /Очередь поддержки сохранена/);
    assert.match(text(page.body), /Сейчас в очереди: (Анна Поддержкина, Борис Саппортов|Борис Саппортов, Анна Поддержкина)/);
    assert.match(page.body, new RegExp(`name="userIds" value="${ann.id}" checked`));
    let s = await getHelpdeskSettings(w.as(head));
    assert.deepEqual(s.queue.map((q) => q.userId).sort((x, y) => x - y), [ann.id, bob.id].sort((x, y) => x - y));

    page = await c.submit('/admin/helpdesk/queue', { userIds: String(gone.id) });
    assert.match(text(page.body), /Не сохранено/);
    s = await getHelpdeskSettings(w.as(head));
    assert.equal(s.queue.length, 2, 'an inactive user is refused, the queue kept');

    page = await c.submit('/admin/helpdesk/queue', {});
    assert.match(text(page.body), /Очередь пуста/);
    assert.deepEqual((await getHelpdeskSettings(w.as(head))).queue, []);
  });
});

describe('the support mailbox', () => {
  test('«Обращения: каждое письмо — обращение» is saved, shown in the list and audited', async () => {
    const env = mailEnv(a.services);
    const mb = await createMailbox(w.as(admin), env, {
      name: 'Поддержка',
      service: 'other',
      login: 'support@company.test',
      password: 'пароль-ящика',
      imapHost: '127.0.0.1',
      imapPort: 993,
      imapEncryption: 'ssl',
      smtpHost: '127.0.0.1',
      smtpPort: 465,
      smtpEncryption: 'ssl',
    });
    assert.equal(mb.createsTickets, false);
    const c = await signedIn(admin);
    let page = await c.get(`/admin/mailboxes/${mb.id}`);
    assert.match(text(page.body), /Обращения: каждое письмо — обращение/);
    assert.match(page.body, /name="createsTickets" >/);
    const form = {
      name: 'Поддержка',
      service: 'other',
      login: 'support@company.test',
      password: '',
      email: '',
      ownerId: '',
      imapHost: '127.0.0.1',
      imapPort: '993',
      imapEncryption: 'ssl',
      smtpHost: '127.0.0.1',
      smtpPort: '465',
      smtpEncryption: 'ssl',
      active: 'on',
    };
    page = await c.submit(`/admin/mailboxes/${mb.id}`, { ...form, createsTickets: 'on' });
    assert.match(text(page.body), /Изменения сохранены/);
    assert.match(text(page.body.split(`data-mailbox="${mb.id}"`)[1]!.split('</tr>')[0]!), /создаёт обращения/);
    let [row] = await w.database.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.equal(row!.createsTickets, true);
    page = await c.get(`/admin/mailboxes/${mb.id}`);
    assert.match(page.body, /name="createsTickets" checked/);
    const [last] = await w.database.db
      .select()
      .from(auditLog)
      .where(sql`${auditLog.entityType} = 'mailbox' AND ${auditLog.entityId} = ${mb.id} AND ${auditLog.action} = 'update'`)
      .orderBy(sql`${auditLog.id} DESC`)
      .limit(1);
    assert.deepEqual(last!.changes, { createsTickets: { from: false, to: true } });

    await c.submit(`/admin/mailboxes/${mb.id}`, form);
    [row] = await w.database.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
    assert.equal(row!.createsTickets, false, 'unticked is off');
  });
});

describe('«Интеграции»: Telegram Business', () => {
  test('every connection with its manager, whether the bot may answer, its state and since when; the steps in Telegram', async () => {
    const owner = await w.user('manager', { name: 'Вера Бизнесова' });
    await w.database.db.insert(businessConnections).values([
      { id: 'biz-conn-1', telegramUserId: 700100, userChatId: 700100, userId: owner.id, canReply: false, enabled: true, connectedAt: new Date('2026-11-02T10:00:00Z') },
      { id: 'biz-conn-2', telegramUserId: 700200, userChatId: 700200, userId: null, canReply: true, enabled: false, connectedAt: new Date('2026-11-01T10:00:00Z') },
    ]);
    const c = await signedIn(admin);
    const page = await c.get('/admin/integrations');
    assert.equal(page.statusCode, 200);
    const section = text(page.body.split('data-telegram-business')[1]!.split('<h2>Телефония</h2>')[0]!);
    assert.match(section, /Настройки → Telegram для бизнеса → Чат-боты/);
    assert.match(section, /«Отвечать на сообщения»/);
    const row = (id: string) => text(page.body.split(`data-business-connection="${id}"`)[1]!.split('</tr>')[0]!);
    assert.match(row('biz-conn-1'), /Вера Бизнесова/);
    assert.match(row('biz-conn-1'), /нет/);
    assert.match(row('biz-conn-1'), /включено/);
    assert.match(row('biz-conn-1'), /02\.11\.2026/);
    assert.match(row('biz-conn-2'), /не привязан к CRM/);
    assert.match(row('biz-conn-2'), /да/);
    assert.match(row('biz-conn-2'), /отключено/);
    assert.ok(page.body.indexOf('biz-conn-1') < page.body.indexOf('biz-conn-2'), 'newest first');

    const m = await signedIn(owner);
    assert.equal((await m.get('/admin/integrations')).statusCode, 403);
  });
});
