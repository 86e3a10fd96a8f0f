import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { openTestServices } from './helpers/services.js';
import { PanelClient, pageText } from './helpers/http-client.js';
import { randomInn } from './helpers/world.js';
import type { Services } from '../core/services.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { ingestInboundMessage } from '../core/channels/ingest.js';
import { attachmentsDirFor } from '../core/channels/attachments.js';
import { channelSendJob } from '../core/channels/send-job.js';
import { createTicket } from '../core/helpdesk/tickets.js';
import { ticketReport } from '../core/helpdesk/report.js';
import { helpdeskTick } from '../core/helpdesk/sla.js';
import { fillAnswerTemplate, listAnswerTemplates } from '../core/helpdesk/templates.js';
import { formatWorkingMinutes } from '../core/helpdesk/labels.js';
import { buildApp } from '../api/app.js';

/**
 * «Обращения» in the panel (R23), over HTTP with a signed-in session: the list and its filters with
 * each manager's access, the card with the conversation, the answer (stored and queued for the
 * channel), status changes, a template filled into the answer, the counterparty's «Обращения»
 * tab, the report per manager, a ticket typed in by hand, lead ↔ ticket, and CSRF on every form.
 */
const IVAN = '+79135550102';

let s: Services & { dataDir: string };
let app: FastifyInstance;
let admin: User, anna: User, boris: User;
let cpA: number, cpB: number, ivanId: number;
/** Ivan's WhatsApp message: an existing client's request, Anna's (the client's responsible) */
let t1: number;
/** Boris's client's ticket, typed in by Boris */
let t2: number;
/** the admin's ticket for Anna's client, given to the admin, its first answer overdue */
let t3: number;
const panels = new Map<User, PanelClient>();

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);

async function panel(user: User): Promise<PanelClient> {
  let p = panels.get(user);
  if (!p) {
    p = new PanelClient(app);
    await p.signIn(user.email);
    panels.set(user, p);
  }
  return p;
}

/** the ticket numbers a list page shows, in order */
const ids = (html: string) => [...html.matchAll(/<tr data-ticket-id="(\d+)"/g)].map((m) => Number(m[1]));

before(async () => {
  s = await openTestServices();
  const sys = s.ctx();
  const segA = (await createSegment(sys, { name: 'Поддержка А' })).id;
  const segB = (await createSegment(sys, { name: 'Поддержка Б' })).id;
  const user = async (role: 'admin' | 'manager', name: string, email: string, segments: number[] = []) => {
    const u = await createUser(sys, { email, name, role, password: 'password123' });
    if (segments.length) await setUserSegments(sys, u.id, segments);
    return u;
  };
  admin = await user('admin', 'Ольга Админова', 'admin@tickets.test');
  anna = await user('manager', 'Анна Помогаева', 'anna@tickets.test', [segA]);
  boris = await user('manager', 'Борис Тихонов', 'boris@tickets.test', [segB]);
  cpA = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Верный Клиент', inn: randomInn('legal_entity'), segmentId: segA, responsibleId: anna.id, isActiveClient: true })).id;
  ivanId = (await createContact(sys, { name: 'Иван Постоянный', phones: [IVAN], counterpartyId: cpA })).id;
  cpB = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО Чужой Сегмент', inn: randomInn('legal_entity'), segmentId: segB, responsibleId: boris.id, isActiveClient: true })).id;
  const petrId = (await createContact(sys, { name: 'Пётр Далёкий', phones: ['+79162223344'], counterpartyId: cpB })).id;

  const r = await ingestInboundMessage(
    sys,
    { channel: 'whatsapp', externalUserId: '79135550102@c.us', externalChatId: '79135550102@c.us', providerMessageId: 'wa-t1', phone: IVAN, name: 'Иван', text: 'Не приходит счёт за май' },
    { attachmentsDir: attachmentsDirFor(s.dataDir) },
  );
  assert.ok(r.ticketId && r.createdTicket, 'an existing client’s message opens a ticket');
  t1 = r.ticketId;
  t2 = (await createTicket(s.ctx(userActor(boris)), { subject: 'Сломался терминал', counterpartyId: cpB, contactId: petrId, priority: 'high', text: 'Позвонил, терминал не включается' })).id;
  t3 = (await createTicket(s.ctx(userActor(admin)), { subject: 'Акт сверки за квартал', counterpartyId: cpA, priority: 'urgent', assigneeId: admin.id })).id;
  // the first answer to the admin's ticket was due an hour ago
  await s.database.rows(sql`UPDATE tickets SET first_response_due_at = now() - interval '1 hour' WHERE id = ${t3}`);

  app = await buildApp(s);
});

after(async () => {
  await app?.close();
  await s?.close();
});

describe('the list', () => {
  test('open tickets by default; status, assignee, overdue, priority, channel and search filter it', async () => {
    const p = await panel(admin);
    const list = async (q = '') => ids((await p.get(`/admin/tickets${q ? `?${q}` : ''}`)).body).sort((a, b) => a - b);
    assert.deepEqual(await list(), [t1, t2, t3]);
    assert.deepEqual(await list('priority=high'), [t2]);
    assert.deepEqual(await list('channel=whatsapp'), [t1]);
    assert.deepEqual(await list('channel=manual'), [t2, t3]);
    assert.deepEqual(await list('overdue=1'), [t3]);
    assert.deepEqual(await list(`assigneeId=${boris.id}`), [t2]);
    assert.deepEqual(await list('q=' + encodeURIComponent('терминал')), [t2]);
    assert.deepEqual(await list(`q=${t3}`), [t3]);
    assert.deepEqual(await list('status=closed'), []);
    const page = pageText((await p.get('/admin/tickets')).body);
    for (const x of ['Не приходит счёт за май', 'ООО Верный Клиент', 'Иван Постоянный', 'Срочный', 'WhatsApp', 'Вручную', 'просрочено', 'Анна Помогаева']) assert.ok(page.includes(x), `${x} in ${page}`);
  });

  test('a manager opens their own tickets; «Все» shows every ticket they may see, never another segment’s', async () => {
    const p = await panel(anna);
    assert.deepEqual(ids((await p.get('/admin/tickets')).body), [t1]);
    assert.deepEqual(ids((await p.get('/admin/tickets?assigneeId=all')).body).sort((a, b) => a - b), [t1, t3]);
    assert.deepEqual(ids((await p.get(`/admin/tickets?assigneeId=${boris.id}`)).body), []);
    const other = await p.get(`/admin/tickets/${t2}`);
    assert.ok([403, 404].includes(other.statusCode), `another segment's ticket answered ${other.statusCode}`);
    assert.doesNotMatch(other.body, /Сломался терминал/);
    const post = await p.post(`/admin/tickets/${t2}/status`, { status: 'solved' });
    assert.equal(post.statusCode, 303);
    assert.equal((await rows<{ status: string }>(sql`SELECT status FROM tickets WHERE id = ${t2}`))[0]!.status, 'new', 'nothing changed');
  });
});

describe('the card', () => {
  test('shows the header, the SLA due times and the conversation oldest first', async () => {
    const p = await panel(anna);
    const res = await p.get(`/admin/tickets/${t1}`);
    assert.equal(res.statusCode, 200);
    const text = pageText(res.body);
    for (const x of [`Обращение №${t1}`, 'Не приходит счёт за май', 'Новое', 'Обычный', 'Анна Помогаева', 'WhatsApp', 'Иван Постоянный', 'ООО Верный Клиент', 'Первый ответ', 'Решение']) assert.ok(text.includes(x), `${x} in ${text}`);
    assert.match(res.body, new RegExp(`href="/admin/contacts/${ivanId}"`));
    assert.match(res.body, new RegExp(`href="/admin/counterparties/${cpA}"`));
    assert.match(res.body, /data-entry="message" data-direction="in"/);
    // the overdue first answer is marked on the admin's ticket
    const late = pageText((await (await panel(admin)).get(`/admin/tickets/${t3}`)).body);
    assert.match(late, /Первый ответ до .* просрочено/);
  });

  test('an answer is stored on the ticket and queued for the client’s channel; the ticket goes «В работе»', async () => {
    const p = await panel(anna);
    await p.get(`/admin/tickets/${t1}`);
    const page = await p.submit(`/admin/tickets/${t1}/reply`, { text: 'Счёт отправили повторно, проверьте почту' });
    assert.match(pageText(page.body), /Ответ отправлен/);
    const [m] = await rows<{ id: number; direction: string; author_user_id: number; delivery_status: string; ticket_id: number }>(
      sql`SELECT id, direction, author_user_id, delivery_status, ticket_id FROM messages WHERE text = 'Счёт отправили повторно, проверьте почту'`,
    );
    assert.ok(m, 'the answer is stored');
    assert.deepEqual([m.direction, m.author_user_id, m.ticket_id], ['out', anna.id, t1]);
    const job = await s.jobs.getJob(`channel.send:${m.id}`, channelSendJob('whatsapp'));
    assert.ok(job, 'the send is queued');
    const [t] = await rows<{ status: string; first_response_at: Date | null }>(sql`SELECT status, first_response_at FROM tickets WHERE id = ${t1}`);
    assert.equal(t!.status, 'in_progress');
    assert.ok(t!.first_response_at);
    // the card shows the client's message, then the answer, with its author
    const text = pageText(page.body);
    assert.ok(text.indexOf('Не приходит счёт за май') < text.indexOf('Счёт отправили повторно'), 'oldest first');
    assert.match(page.body, /data-entry="message" data-direction="out"/);
    // an empty answer is refused with the reason on the card
    const empty = await p.submit(`/admin/tickets/${t1}/reply`, { text: '   ' });
    assert.match(pageText(empty.body), /Ответ не отправлен/);
  });

  test('«Шаблоны» reload the card with the template filled into the answer', async () => {
    const p = await panel(anna);
    const templates = await listAnswerTemplates(s.ctx(userActor(anna)));
    const tpl = templates.find((t) => t.title === 'Приветствие')!;
    const card = await p.get(`/admin/tickets/${t1}`);
    assert.match(card.body, new RegExp(`href="/admin/tickets/${t1}\\?template=${tpl.id}#reply"`));
    const filled = await p.get(`/admin/tickets/${t1}?template=${tpl.id}`);
    const expected = await fillAnswerTemplate(s.ctx(userActor(anna)), tpl.id, t1);
    assert.match(expected, /Анна Помогаева/);
    const area = /<textarea id="reply-text" name="text"[^>]*>([^<]*)<\/textarea>/.exec(filled.body)?.[1] ?? '';
    assert.equal(pageText(area).trim(), expected.replace(/\s+/g, ' ').trim());
    assert.match(filled.body, new RegExp(`name="templateId" value="${tpl.id}"`));
    // a link to a template that is gone says so on the card, with the answer left empty
    const missing = await p.get(`/admin/tickets/${t1}?template=999999`);
    assert.equal(missing.statusCode, 303);
    assert.equal(String(missing.headers.location), `/admin/tickets/${t1}#reply`);
    const back = await p.get(`/admin/tickets/${t1}`);
    assert.match(pageText(back.body), /Шаблон не подставлен: шаблона №999999 нет среди включённых/);
    assert.equal(/<textarea id="reply-text" name="text"[^>]*>([^<]*)<\/textarea>/.exec(back.body)?.[1], '');
  });

  test('status, priority and assignee change through their forms; a bad value is a flash naming what is wrong', async () => {
    const p = await panel(admin);
    await p.get(`/admin/tickets/${t3}`);
    let page = await p.submit(`/admin/tickets/${t3}/status`, { status: 'waiting' });
    assert.match(pageText(page.body), /Статус изменён/);
    assert.match(pageText(page.body), /Ждём клиента/);
    page = await p.submit(`/admin/tickets/${t3}/priority`, { priority: 'low' });
    assert.match(pageText(page.body), /Приоритет изменён/);
    page = await p.submit(`/admin/tickets/${t3}/assignee`, { assigneeId: String(anna.id) });
    assert.match(pageText(page.body), /Ответственный назначен/);
    const [t] = await rows<{ status: string; priority: string; assignee_id: number }>(sql`SELECT status, priority, assignee_id FROM tickets WHERE id = ${t3}`);
    assert.deepEqual([t!.status, t!.priority, t!.assignee_id], ['waiting', 'low', anna.id]);
    page = await p.submit(`/admin/tickets/${t3}/status`, { status: 'lost' });
    assert.match(pageText(page.body), /Статус не изменён: выберите статус из списка/);
    page = await p.submit(`/admin/tickets/${t3}/priority`, { priority: '' });
    assert.match(pageText(page.body), /Приоритет не изменён: выберите приоритет из списка/);
  });

  test('a note on the ticket goes through the notes form and shows in the conversation', async () => {
    const p = await panel(anna);
    await p.get(`/admin/tickets/${t1}`);
    const page = await p.submit('/admin/notes', { entity: 'ticket', id: String(t1), text: 'Проверить выгрузку в 1С', back: `/admin/tickets/${t1}` });
    assert.match(pageText(page.body), /Заметка добавлена/);
    assert.match(pageText(page.body), /Проверить выгрузку в 1С/);
  });
});

describe('a ticket typed in by hand', () => {
  test('the client is found by name, the ticket created; a missing subject is a flash with the field’s reason', async () => {
    const p = await panel(anna);
    const search = await p.get('/admin/tickets/new?find=' + encodeURIComponent('Верный'));
    assert.match(search.body, new RegExp(`href="/admin/tickets/new\\?counterpartyId=${cpA}"`));
    const form = await p.get(`/admin/tickets/new?counterpartyId=${cpA}`);
    assert.match(pageText(form.body), /ООО Верный Клиент/);
    assert.match(form.body, new RegExp(`<option value="${ivanId}"`));
    const bad = await p.post('/admin/tickets', { subject: '', counterpartyId: String(cpA), contactId: String(ivanId), priority: 'normal', text: '' });
    assert.equal(bad.statusCode, 303);
    assert.match(String(bad.headers.location), new RegExp(`/admin/tickets/new\\?counterpartyId=${cpA}`));
    assert.match(pageText((await p.get(String(bad.headers.location))).body), /Обращение не создано: укажите тему обращения/);
    const made = await p.submit('/admin/tickets', { subject: 'Вопрос по гарантии', counterpartyId: String(cpA), contactId: String(ivanId), priority: 'high', text: 'Звонил в 10:00' });
    assert.match(pageText(made.body), /Обращение №\d+ создано/);
    const [t] = await rows<{ id: number; channel: string; counterparty_id: number; contact_id: number; priority: string; assignee_id: number }>(
      sql`SELECT id, channel, counterparty_id, contact_id, priority, assignee_id FROM tickets WHERE subject = 'Вопрос по гарантии'`,
    );
    assert.deepEqual([t!.channel, t!.counterparty_id, t!.contact_id, t!.priority, t!.assignee_id], ['manual', cpA, ivanId, 'high', anna.id]);
    // Boris may not open a ticket for Anna's client
    const b = await panel(boris);
    await b.get('/admin/tickets/new');
    const refused = await b.post('/admin/tickets', { subject: 'Чужой клиент', counterpartyId: String(cpA), priority: 'normal' });
    assert.equal(refused.statusCode, 303);
    assert.equal((await rows(sql`SELECT 1 FROM tickets WHERE subject = 'Чужой клиент'`)).length, 0);
  });
});

describe('cards around the ticket', () => {
  test('the counterparty card has «Обращения» with its tickets only', async () => {
    const p = await panel(admin);
    const res = await p.get(`/admin/counterparties/${cpA}?tab=tickets`);
    assert.equal(res.statusCode, 200);
    assert.match(pageText(res.body), /Обращения/);
    const shown = ids(res.body);
    assert.ok(shown.includes(t1) && shown.includes(t3), `${shown}`);
    assert.ok(!shown.includes(t2));
    assert.deepEqual(ids((await p.get(`/admin/counterparties/${cpB}?tab=tickets`)).body), [t2]);
  });

  test('«Сделать обращением» on a lead, and «Сделать лидом» on a ticket', async () => {
    // a new person writes: a lead, Anna's
    const sys = s.ctx();
    const r = await ingestInboundMessage(sys, { channel: 'whatsapp', externalUserId: '79990001122@c.us', externalChatId: '79990001122@c.us', providerMessageId: 'wa-lead-1', phone: '+79990001122', name: 'Новичок', text: 'У меня вопрос по доставке' });
    assert.ok(r.leadId);
    await s.database.rows(sql`UPDATE leads SET responsible_id = ${admin.id} WHERE id = ${r.leadId}`);
    const p = await panel(admin);
    const lead = await p.get(`/admin/leads/${r.leadId}`);
    assert.match(lead.body, new RegExp(`action="/admin/leads/${r.leadId}/ticket"`));
    const made = await p.post(`/admin/leads/${r.leadId}/ticket`, {});
    assert.equal(made.statusCode, 303);
    const to = String(made.headers.location);
    assert.match(to, /^\/admin\/tickets\/\d+$/);
    const card = await p.get(to);
    assert.match(pageText(card.body), /У меня вопрос по доставке/);
    // the ticket already comes from a lead: it links to it and offers no second one
    const fromLead = Number(to.split('/').pop());
    assert.match(card.body, new RegExp(`href="/admin/leads/${r.leadId}"`));
    assert.doesNotMatch(card.body, new RegExp(`action="/admin/tickets/${fromLead}/lead"`));

    // an open ticket without a lead offers «Сделать лидом»; once made, the closed ticket does not
    const ticketId = (await createTicket(s.ctx(userActor(admin)), { subject: 'Хотят докупить лицензии', counterpartyId: cpA, assigneeId: admin.id })).id;
    assert.match((await p.get(`/admin/tickets/${ticketId}`)).body, new RegExp(`action="/admin/tickets/${ticketId}/lead"`));
    const back = await p.post(`/admin/tickets/${ticketId}/lead`, {});
    assert.equal(back.statusCode, 303);
    assert.match(String(back.headers.location), /^\/admin\/leads\/\d+$/);
    assert.equal((await rows<{ status: string }>(sql`SELECT status FROM tickets WHERE id = ${ticketId}`))[0]!.status, 'closed');
    const closed = await p.get(`/admin/tickets/${ticketId}`);
    assert.match(pageText(closed.body), /Закрыто/);
    assert.doesNotMatch(closed.body, new RegExp(`action="/admin/tickets/${ticketId}/lead"`));
    // nor does a ticket closed without a lead (the core would refuse it anyway)
    const done = (await createTicket(s.ctx(userActor(admin)), { subject: 'Вопрос снят', counterpartyId: cpA, assigneeId: admin.id })).id;
    await p.submit(`/admin/tickets/${done}/status`, { status: 'closed' });
    assert.doesNotMatch((await p.get(`/admin/tickets/${done}`)).body, new RegExp(`action="/admin/tickets/${done}/lead"`));
    // closed unanswered past its first-response target: no longer «просрочено», as in the lists and the report
    await s.database.rows(sql`UPDATE tickets SET first_response_due_at = now() - interval '1 hour' WHERE id = ${done}`);
    assert.doesNotMatch(pageText((await p.get(`/admin/tickets/${done}`)).body), /просрочено/);
    assert.ok(!ids((await p.get('/admin/tickets?status=all&overdue=1')).body).includes(done));
  });
});

describe('changed messages and the ticket’s history', () => {
  test('an edited or deleted message is marked on the ticket, the contact’s «Сообщения» and a lead’s history, the deletion by its side', async () => {
    // Telegram Business tells the CRM of edits and deletions (core/channels/business.ts stamps these columns)
    const [client] = await rows<{ id: number }>(sql`SELECT id FROM messages WHERE ticket_id = ${t1} AND direction = 'in' ORDER BY id LIMIT 1`);
    const [ours] = await rows<{ id: number }>(sql`SELECT id FROM messages WHERE ticket_id = ${t1} AND direction = 'out' ORDER BY id LIMIT 1`);
    await s.database.rows(sql`UPDATE messages SET edited_at = now() WHERE id = ${client!.id}`);
    await s.database.rows(sql`UPDATE messages SET deleted_at = now() WHERE id IN (${client!.id}, ${ours!.id})`);
    const p = await panel(anna);
    const entry = (html: string, id: number) => pageText(new RegExp(`<li class="card note" id="message-${id}"[\\s\\S]*?</li>`).exec(html)?.[0] ?? '');
    const card = (await p.get(`/admin/tickets/${t1}`)).body;
    assert.match(entry(card, client!.id), /изменено .*удалено клиентом/);
    assert.match(entry(card, ours!.id), /удалено менеджером/);
    assert.doesNotMatch(entry(card, ours!.id), /клиентом|изменено/);

    const row = (html: string, text: string) => pageText([...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!).find((r) => r.includes(text)) ?? '');
    const tab = (await p.get(`/admin/contacts/${ivanId}?tab=messages`)).body;
    assert.match(row(tab, 'Не приходит счёт за май'), /Сообщение от клиента \(WhatsApp\) изменено .* удалено клиентом/);
    assert.match(row(tab, 'Счёт отправили повторно'), /Сообщение клиенту \(WhatsApp\) удалено менеджером/);

    // a new person's message on a lead, changed afterwards: the lead's history says so
    const r = await ingestInboundMessage(s.ctx(), { channel: 'whatsapp', externalUserId: '79990003344@c.us', externalChatId: '79990003344@c.us', providerMessageId: 'wa-lead-edit', phone: '+79990003344', name: 'Правщик', text: 'Нужна доставка завтра' });
    await s.database.rows(sql`UPDATE messages SET edited_at = now() WHERE id = ${r.messageId}`);
    const history = (await (await panel(admin)).get(`/admin/leads/${r.leadId}`)).body;
    assert.match(row(history, 'Нужна доставка завтра'), /Сообщение от клиента \(WhatsApp\) изменено/);
    assert.doesNotMatch(row(history, 'Нужна доставка завтра'), /удалено/);
  });

  test('the card shows the ticket’s own events: created, status and priority changes, an SLA breach', async () => {
    const p = await panel(admin);
    // t3's first answer is late (its priority change moved the target: set it back an hour): the minute tick records the breach
    await s.database.rows(sql`UPDATE tickets SET first_response_due_at = now() - interval '1 hour', first_response_breached_at = NULL WHERE id = ${t3}`);
    await helpdeskTick(s.ctx());
    const html = (await p.get(`/admin/tickets/${t3}`)).body;
    const history = pageText(/<div class="card" id="history">([\s\S]*?)<\/div>\s*<form class="card note-form"/.exec(html)?.[1] ?? '');
    for (const x of ['История обращения', 'Обращение заведено вручную', 'Ждём клиента', 'Низкий', 'Анна Помогаева', 'Просрочен первый ответ', 'Ольга Админова']) assert.ok(history.includes(x), `${x} in ${history}`);
    // only events: the conversation and notes are shown above, not twice
    assert.doesNotMatch(history, /Заметка/);
  });
});

describe('the report', () => {
  test('per manager: created, open, overdue, solved, medians and the average rating over the period', async () => {
    const p = await panel(admin);
    const res = await p.get('/admin/tickets/report?period=today');
    assert.equal(res.statusCode, 200);
    const now = new Date();
    const report = await ticketReport(s.ctx(userActor(admin)), { from: new Date(now.getTime() - 86_400_000), to: new Date(now.getTime() + 86_400_000) });
    // by hand: t1 (Anna, answered), t2 (Boris), t3 (now Anna's, waiting), the hand-typed one (Anna), the lead's (closed)
    const rowOf = (id: number | 'none' | 'total') => {
      const m = new RegExp(`<tr data-assignee="${id}">([\\s\\S]*?)</tr>`).exec(res.body);
      return m ? pageText(m[1]!).trim() : '';
    };
    const annas = report.rows.find((r) => r.assigneeId === anna.id)!;
    assert.equal(annas.created, 3);
    assert.equal(annas.open, 3);
    assert.ok(rowOf(anna.id).startsWith(`Анна Помогаева 3 3 ${annas.overdue} ${annas.solved} ${formatWorkingMinutes(annas.medianFirstResponseMinutes)}`), rowOf(anna.id));
    assert.ok(rowOf(boris.id).startsWith('Борис Тихонов 1 1 '), rowOf(boris.id));
    assert.ok(rowOf('total').startsWith(`Итого ${report.total.created} ${report.total.open} ${report.total.overdue} ${report.total.solved}`), rowOf('total'));
    for (const period of ['week', 'month']) assert.equal((await p.get(`/admin/tickets/report?period=${period}`)).statusCode, 200);
    const custom = await p.get('/admin/tickets/report?period=custom&from=2020-01-01&to=2020-01-31');
    assert.match(pageText(custom.body), /с 01\.01\.2020 по 31\.01\.2020/);
    assert.match(pageText((await p.get('/admin/tickets/report?period=custom&from=2020-02-01&to=2020-01-01')).body), /Начало периода позже его конца/);
    // a manager sees only their own row
    const mine = await (await panel(boris)).get('/admin/tickets/report?period=today');
    assert.equal(mine.statusCode, 200);
    assert.doesNotMatch(pageText(mine.body), /Анна Помогаева/);
  });
});

describe('CSRF', () => {
  test('every ticket form without the token is refused with 403 and changes nothing', async () => {
    const p = await panel(admin);
    await p.get(`/admin/tickets/${t1}`);
    for (const [url, form] of [
      [`/admin/tickets/${t1}/reply`, { text: 'без токена' }],
      [`/admin/tickets/${t1}/status`, { status: 'closed' }],
      [`/admin/tickets/${t1}/priority`, { priority: 'urgent' }],
      [`/admin/tickets/${t1}/assignee`, { assigneeId: String(boris.id) }],
      [`/admin/tickets/${t1}/lead`, {}],
      ['/admin/tickets', { subject: 'без токена', counterpartyId: String(cpA) }],
    ] as const) {
      const res = await p.post(url, form, { csrf: false });
      assert.equal(res.statusCode, 403, url);
      assert.match(pageText(res.body), /CSRF/);
    }
    const [t] = await rows<{ status: string; priority: string; assignee_id: number }>(sql`SELECT status, priority, assignee_id FROM tickets WHERE id = ${t1}`);
    assert.deepEqual([t!.status, t!.priority, t!.assignee_id], ['in_progress', 'normal', anna.id]);
    assert.equal((await rows(sql`SELECT 1 FROM messages WHERE text = 'без токена'`)).length, 0);
    assert.equal((await rows(sql`SELECT 1 FROM tickets WHERE subject = 'без токена'`)).length, 0);
  });
});
