import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { ingestInboundMessage } from '../core/channels/ingest.js';
import type { ChannelAdapter, InboundMessage, OutboundMessage } from '../core/channels/types.js';
import { registerChannelJobs } from '../core/channels/send-job.js';
import { getConversation, readAttachment, replyInConversation } from '../core/conversations/conversations.js';
import { attachmentsDirFor } from '../core/channels/attachments.js';
import { getEmail } from '../core/mail/emails.js';
import { createContact } from '../core/contacts/contacts.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createDeal } from '../core/deals/deals.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { auditLog, conversations, emails, historyEvents, leads, mailboxes, messages, tickets } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { ServiceError } from '../core/errors.js';
import { createTicket, getTicket, isExistingClient, leadFromTicket, listTickets, replyToTicket, ticketCard, ticketFromLead, updateTicket } from '../core/helpdesk/tickets.js';
import { addNote } from '../core/notes/notes.js';
import { isOverdue } from '../core/helpdesk/overdue.js';
import { clientWroteOnTicket } from '../core/helpdesk/open.js';
import { helpdeskTick } from '../core/helpdesk/sla.js';
import { inTransaction } from '../core/context.js';
import { fixedClock } from './helpers/world.js';
import { storeLetters } from '../core/mail/store.js';
import { AddressMatcher } from '../core/mail/matching.js';
import type { ParsedLetter } from '../core/mail/parse.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * R23 «Обращения», the core: where a client's message goes (an existing client's request is a
 * ticket, a new person's a lead), what a ticket's messages and answers do to it, lead ↔ ticket,
 * who sees a ticket, and the same for letters. The real queue sends answers through a stand-in
 * WhatsApp adapter; notices are read from the queue.
 */
let s: Services & { dataDir: string };
let anna: User, boris: User, head: User;
let romashka: number, ivan: number, petr: number;
const notes: Notification[] = [];
const sent: OutboundMessage[] = [];
let seq = 0;

const IVAN_WA = '79160000001@c.us';
const PETR_WA = '79160000002@c.us';

const adapter: ChannelAdapter = {
  kind: 'whatsapp',
  async send(m) {
    sent.push(m);
    return { providerMessageId: `out-${sent.length}` };
  },
  status: () => ({ ok: true }),
};

const ingest = (m: Partial<InboundMessage> & { externalUserId: string }) =>
  ingestInboundMessage(s.ctx(), { channel: 'whatsapp', externalChatId: m.externalUserId, providerMessageId: `wa-${++seq}`, text: `сообщение ${seq}`, ...m });
const ticketRow = async (id: number) => (await s.ctx().db.select().from(tickets).where(eq(tickets.id, id)))[0]!;
const noticesFor = (ticketId: number) => notes.filter((n) => n.ticketId === ticketId);
const as = (u: User) => s.ctx(userActor(u));

before(async () => {
  s = await openTestServices();
  const sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@tickets.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@tickets.test', name: 'Борис', role: 'manager' });
  head = await createUser(sys, { email: 'head@tickets.test', name: 'Глава', role: 'head' });
  await s.database.rows(sql`UPDATE users SET telegram_id = 700000 + id`);
  const north = await createSegment(sys, { name: 'Север' });
  const south = await createSegment(sys, { name: 'Юг' });
  await setUserSegments(sys, anna.id, [north.id]);
  await setUserSegments(sys, boris.id, [south.id]);
  romashka = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Ромашка»', segmentId: north.id, responsibleId: anna.id, isActiveClient: true })).id;
  ivan = (await createContact(sys, { name: 'Иван Петров', counterpartyId: romashka, phones: ['+79160000001'], emails: ['ivan@romashka.test'] })).id;
  // a person without a company, who paid for a deal once
  petr = (await createContact(sys, { name: 'Пётр Сидоров', phones: ['+79160000002'] })).id;
  const deal = await createDeal(sys, { title: 'Разовая поставка', contactId: petr, amount: '1000' });
  await s.database.rows(sql`UPDATE deals SET paid_on = '2024-03-01', closed_at = now() WHERE id = ${deal.id}`);
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  registerChannelJobs(s.jobs, s, { whatsapp: adapter });
  await s.jobs.start();
});
after(() => s?.close());

describe('where a client message goes', () => {
  let ticketId: number;

  test('an existing client (a company marked «действующий клиент») opens a ticket, not a lead', async () => {
    assert.equal(await isExistingClient(s.ctx(), ivan), true);
    const r = await ingest({ externalUserId: IVAN_WA, phone: '+79160000001', name: 'Иван', text: 'Не печатает касса\nс утра ошибка 42' });
    assert.equal(r.contactId, ivan);
    assert.equal(r.createdTicket, true);
    assert.equal(r.createdLead, false);
    assert.equal(r.leadId, null);
    ticketId = r.ticketId!;
    const t = await ticketRow(ticketId);
    assert.equal(t.subject, 'Не печатает касса', 'the first line is the subject');
    assert.equal(t.channel, 'whatsapp');
    assert.equal(t.status, 'new');
    assert.equal(t.counterpartyId, romashka);
    assert.equal(t.assigneeId, anna.id, "the company's responsible takes it");
    assert.equal(t.conversationId, r.conversationId);
    const [conv] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, r.conversationId));
    assert.equal(conv!.ticketId, ticketId);
    assert.equal((await s.ctx().db.select().from(leads).where(eq(leads.contactId, ivan))).length, 0, 'no lead for a request of an existing client');
    const n = await waitFor('the new ticket notice', () => noticesFor(ticketId).find((x) => x.kind === 'new_ticket'));
    assert.equal(n.userId, anna.id);
    assert.match(n.text, new RegExp(`^Обращение №${ticketId} · WhatsApp · Иван Петров \\(ООО «Ромашка»\\): Не печатает касса`));
    assert.equal(n.conversationId, r.conversationId);
    assert.equal(n.messageId, r.messageId);
  });

  test('a contact with a paid deal is an existing client too; unassigned, the heads are told', async () => {
    const r = await ingest({ externalUserId: PETR_WA, phone: '+79160000002', name: 'Пётр', text: 'Где документы?' });
    assert.equal(r.createdTicket, true);
    const t = await ticketRow(r.ticketId!);
    assert.equal(t.assigneeId, null, 'no company, no support queue: nobody yet');
    const n = await waitFor('the heads told of an unassigned ticket', () => noticesFor(t.id).find((x) => x.kind === 'new_ticket'));
    assert.equal(n.userId, head.id);
  });

  test("a new person's message opens a lead, as before", async () => {
    const r = await ingest({ externalUserId: '79169999999@c.us', phone: '+79169999999', name: 'Новый клиент', text: 'Сколько стоит?' });
    assert.equal(r.createdLead, true);
    assert.equal(r.createdTicket, false);
    assert.equal(r.ticketId, null);
    assert.ok(r.leadId);
  });

  test('the next message joins the ticket and its assignee is told with the number', async () => {
    const r = await ingest({ externalUserId: IVAN_WA, text: 'Фото ошибки пришлю позже' });
    assert.equal(r.ticketId, ticketId);
    assert.equal(r.createdTicket, false);
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, r.messageId));
    assert.equal(m!.ticketId, ticketId);
    const n = await waitFor('the client message notice', () => noticesFor(ticketId).find((x) => x.kind === 'client_message' && x.messageId === r.messageId));
    assert.equal(n.userId, anna.id);
    assert.match(n.text, new RegExp(`^Обращение №${ticketId}`));
  });

  test('a retried delivery is stored once', async () => {
    const m: InboundMessage = { channel: 'whatsapp', externalUserId: IVAN_WA, externalChatId: IVAN_WA, providerMessageId: 'wa-retry-1', text: 'Повтор' };
    const [a, b] = await Promise.all([ingestInboundMessage(s.ctx(), m), ingestInboundMessage(s.ctx(), m)]);
    const again = await ingestInboundMessage(s.ctx(), m);
    assert.equal(a.messageId, b.messageId);
    assert.equal(again.messageId, a.messageId);
    assert.equal(again.duplicate, true);
    assert.equal(again.ticketId, ticketId);
    const rows = await s.ctx().db.select().from(messages).where(eq(messages.providerMessageId, 'wa-retry-1'));
    assert.equal(rows.length, 1);
  });

  test('an answer from the CRM stamps the first response, puts the ticket in work and goes out', async () => {
    const reply = await replyInConversation(as(anna), (await ticketRow(ticketId)).conversationId!, 'Здравствуйте! Перезагрузите кассу, пожалуйста.');
    assert.equal(reply.ticketId, ticketId);
    const t = await ticketRow(ticketId);
    assert.equal(t.status, 'in_progress');
    assert.ok(t.firstResponseAt);
    await waitFor('the answer sent', () => sent.find((m) => m.externalChatId === IVAN_WA && m.text.startsWith('Здравствуйте!')));
    const again = await replyToTicket(as(anna), ticketId, { text: 'Получилось?' });
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, again.messageId!));
    assert.equal(m!.ticketId, ticketId);
    assert.equal((await ticketRow(ticketId)).firstResponseAt!.getTime(), t.firstResponseAt.getTime(), 'stamped once');
    await waitFor('the second answer sent', () => sent.find((x) => x.text === 'Получилось?'));
  });

  test('«Ждём клиента» goes back to work when the client answers', async () => {
    await updateTicket(as(anna), ticketId, { status: 'waiting' });
    const waiting = await ticketRow(ticketId);
    assert.equal(waiting.status, 'waiting');
    assert.ok(waiting.waitingSince);
    await ingest({ externalUserId: IVAN_WA, text: 'Перезагрузил, не помогло' });
    const t = await ticketRow(ticketId);
    assert.equal(t.status, 'in_progress');
    assert.equal(t.waitingSince, null);
  });

  test('a solved ticket reopens on a client message that is not a rating', async () => {
    await updateTicket(as(anna), ticketId, { status: 'solved' });
    assert.equal((await ticketRow(ticketId)).status, 'solved');
    const r = await ingest({ externalUserId: IVAN_WA, text: 'Опять та же ошибка' });
    assert.equal(r.ticketId, ticketId);
    const t = await ticketRow(ticketId);
    assert.equal(t.status, 'in_progress');
    assert.equal(t.solvedAt, null);
    const events = await s.ctx().db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'ticket'), eq(historyEvents.entityId, ticketId)));
    assert.ok(events.some((e) => e.summary === 'Клиент ответил — обращение открыто снова'));
  });

  test('a digit after «Решено» is the rating: nothing reopens', async () => {
    await updateTicket(as(anna), ticketId, { status: 'solved' });
    const r = await ingest({ externalUserId: IVAN_WA, text: '5' });
    assert.equal(r.ticketId, ticketId);
    const t = await ticketRow(ticketId);
    assert.equal(t.status, 'solved');
    assert.equal(t.rating, 5);
  });

  test('a digit again (a second press, a repeated answer) is still only a rating: nothing reopens or opens', async () => {
    const again = await ingest({ externalUserId: IVAN_WA, text: '5' });
    assert.equal(again.ticketId, ticketId);
    assert.equal(again.createdTicket, false);
    let t = await ticketRow(ticketId);
    assert.equal(t.status, 'solved', 'a repeated rating does not reopen');
    assert.equal(t.rating, 5, 'the first rating stays');
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, again.messageId));
    assert.equal(m!.ticketId, ticketId, 'the digit joins the ticket');
    await updateTicket(as(anna), ticketId, { status: 'closed' });
    const late = await ingest({ externalUserId: IVAN_WA, text: '4' });
    assert.equal(late.ticketId, ticketId);
    assert.equal(late.createdTicket, false, 'a digit on a closed ticket opens no new one');
    t = await ticketRow(ticketId);
    assert.equal(t.status, 'closed');
    assert.equal(t.rating, 5);
  });

  test('a closed ticket is left closed: the next message of an existing client opens a new one', async () => {
    await updateTicket(as(anna), ticketId, { status: 'closed' });
    const r = await ingest({ externalUserId: IVAN_WA, text: 'Новый вопрос: как выгрузить отчёт?' });
    assert.equal(r.createdTicket, true);
    assert.notEqual(r.ticketId, ticketId);
  });
});

describe('who sees a ticket', () => {
  test("a manager of another segment cannot see a client's ticket; its assignee can", async () => {
    const t = await createTicket(as(head), { subject: 'Звонок: сломался терминал', contactId: ivan, priority: 'high', text: 'Позвонил в 10:00' });
    assert.equal(t.channel, 'manual');
    assert.equal(t.assigneeId, anna.id);
    await assert.rejects(getTicket(as(boris), t.id), (e: ServiceError) => e.code === 'forbidden');
    assert.ok(!(await listTickets(as(boris), { status: 'all' })).rows.some((r) => r.id === t.id));
    assert.ok((await listTickets(as(anna), { status: 'all' })).rows.some((r) => r.id === t.id));
    await updateTicket(as(head), t.id, { assigneeId: boris.id });
    assert.equal((await getTicket(as(boris), t.id)).assigneeId, boris.id, 'the assignee sees it');
    const told = await waitFor('the new assignee told', () => notes.find((n) => n.ticketId === t.id && n.userId === boris.id && n.kind === 'new_ticket'));
    assert.match(told.text, new RegExp(`Вам назначено обращение №${t.id}`));
    await addNote(as(boris), 'ticket', t.id, 'Выезд завтра');
    const card = await ticketCard(as(boris), t.id);
    assert.deepEqual(
      card.entries.map((e) => [e.kind, e.text]),
      [
        ['note', 'Позвонил в 10:00'],
        ['note', 'Выезд завтра'],
      ],
    );
    assert.equal(card.canReply, false, 'a ticket typed in has no chat to answer in');
    const noted = await s.ctx().db.select().from(auditLog).where(and(eq(auditLog.entityType, 'ticket'), eq(auditLog.entityId, t.id), eq(auditLog.action, 'note_add')));
    assert.equal(noted.length, 2, "the typed-in text is audited as a note, like Борис's");
    assert.equal(noted[0]!.actorUserId, head.id);
    await assert.rejects(addNote(as(anna), 'ticket', t.id + 1000, 'нет такого'), (e: ServiceError) => e.code === 'not_found');
  });
});

describe('lead ↔ ticket', () => {
  test("«Сделать обращением» turns a lead's chat into a ticket, «Сделать лидом» turns it back", async () => {
    const first = await ingest({ externalUserId: '79165550000@c.us', phone: '+79165550000', name: 'Ольга', text: 'Не приходит чек' });
    assert.ok(first.createdLead);
    const ticket = await ticketFromLead(as(head), first.leadId!);
    assert.equal(ticket.conversationId, first.conversationId);
    assert.equal(ticket.leadId, first.leadId);
    const [lead] = await s.ctx().db.select().from(leads).where(eq(leads.id, first.leadId!));
    assert.equal(lead!.status, 'closed', 'the lead had nothing else: it is closed');
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, first.messageId));
    assert.equal(m!.ticketId, ticket.id, "the lead's message is the ticket's");
    const next = await ingest({ externalUserId: '79165550000@c.us', text: 'Так что с чеком?' });
    assert.equal(next.ticketId, ticket.id);
    assert.equal(next.createdLead, false);

    const leadId = await leadFromTicket(as(head), ticket.id);
    const t = await ticketRow(ticket.id);
    assert.equal(t.status, 'closed');
    assert.equal(t.leadId, leadId);
    const [conv] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, first.conversationId));
    assert.equal(conv!.leadId, leadId);
    assert.equal(conv!.ticketId, null);
    const later = await ingest({ externalUserId: '79165550000@c.us', text: 'И ещё хочу купить кассу' });
    assert.equal(later.leadId, leadId);
    assert.equal(later.ticketId, null);
  });
});

describe("an assignee from another segment", () => {
  test("reads the chat while its ticket is open; afterwards only the ticket's own messages and files", async () => {
    const dir = attachmentsDirFor(s.dataDir);
    const r = await ingestInboundMessage(
      s.ctx(),
      {
        channel: 'whatsapp',
        externalUserId: IVAN_WA,
        externalChatId: IVAN_WA,
        providerMessageId: `wa-${++seq}`,
        text: 'Скриншот ошибки',
        attachments: [{ name: 'error.png', mime: 'image/png', data: Buffer.from('png') }],
      },
      { attachmentsDir: dir },
    );
    const ticket = r.ticketId!;
    assert.ok(ticket);
    await updateTicket(as(head), ticket, { assigneeId: boris.id });
    assert.equal((await getConversation(as(boris), r.conversationId)).id, r.conversationId, 'the assignee answers the chat');
    await updateTicket(as(head), ticket, { status: 'closed' });
    await assert.rejects(getConversation(as(boris), r.conversationId), (e: ServiceError) => e.code === 'forbidden');
    const file = await readAttachment(as(boris), r.messageId, 0, dir);
    assert.equal(file.data.toString(), 'png', "the ticket's file is still theirs to read");
    // the client writes again: a new ticket, Анна's; Борис does not read it
    const later = await ingest({ externalUserId: IVAN_WA, text: 'Новый вопрос' });
    assert.notEqual(later.ticketId, ticket);
    await assert.rejects(getConversation(as(boris), later.conversationId), (e: ServiceError) => e.code === 'forbidden');
    await assert.rejects(readAttachment(as(boris), later.messageId, 0, dir), (e: ServiceError) => e.code === 'forbidden');
  });
});

describe('one open ticket per lead and per chat', () => {
  test('«Сделать обращением» twice (at once, or again on a busy lead) makes one ticket; a typed-in ticket does not take the chat', async () => {
    const first = await ingest({ externalUserId: '79165551111@c.us', phone: '+79165551111', name: 'Олег', text: 'Вопрос по заказу' });
    assert.ok(first.createdLead);
    // a note keeps the lead open after «Сделать обращением», so a second press finds it still open
    await addNote(as(head), 'lead', first.leadId!, 'Клиент просил перезвонить');
    const both = await Promise.allSettled([ticketFromLead(as(head), first.leadId!), ticketFromLead(as(head), first.leadId!)]);
    const made = both.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof ticketFromLead>>> => r.status === 'fulfilled');
    assert.equal(made.length, 1, 'one ticket');
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as ServiceError).code, 'conflict');
    await assert.rejects(ticketFromLead(as(head), first.leadId!), (e: ServiceError) => e.code === 'conflict' && /уже/.test(e.message));
    assert.equal((await s.ctx().db.select().from(tickets).where(eq(tickets.leadId, first.leadId!))).length, 1);
    await assert.rejects(
      createTicket(as(head), { subject: 'Ещё одно', conversationId: first.conversationId }),
      (e: ServiceError) => e.code === 'conflict' && e.message.includes(`№${made[0]!.value.id}`),
    );
    const [conv] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, first.conversationId));
    assert.equal(conv!.ticketId, made[0]!.value.id, "the chat keeps its open ticket");
  });
});

describe('the manager’s own Telegram (Business)', () => {
  test("the manager's own message answers the ticket and opens nothing", async () => {
    const chat = 'biz:555:777';
    const r = await ingestInboundMessage(s.ctx(), {
      channel: 'telegram',
      externalUserId: '777',
      externalChatId: chat,
      providerMessageId: 'biz:555:777:1',
      name: 'Иван',
      phone: '+79160000001',
      text: 'Добрый день, снова касса',
      business: { connectionId: 'bc-1', userId: boris.id },
    });
    assert.equal(r.createdTicket, true);
    const t = await ticketRow(r.ticketId!);
    assert.equal(t.assigneeId, boris.id, "a business chat's ticket is its owner's");
    const [conv] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, r.conversationId));
    assert.equal(conv!.businessConnectionId, 'bc-1');
    assert.equal(conv!.businessUserId, boris.id);
    const own = await ingestInboundMessage(s.ctx(), {
      channel: 'telegram',
      externalUserId: '777',
      externalChatId: chat,
      providerMessageId: 'biz:555:777:2',
      text: 'Сейчас посмотрю',
      business: { connectionId: 'bc-1', userId: boris.id },
      outgoing: { authorUserId: boris.id },
    });
    assert.equal(own.ticketId, t.id);
    const [m] = await s.ctx().db.select().from(messages).where(eq(messages.id, own.messageId));
    assert.equal(m!.direction, 'out');
    assert.equal(m!.authorUserId, boris.id);
    assert.equal(m!.deliveryStatus, 'sent');
    const after = await ticketRow(t.id);
    assert.equal(after.status, 'in_progress');
    assert.ok(after.firstResponseAt);
    assert.ok(!notes.some((n) => n.messageId === own.messageId), 'nobody is told of their own message');
  });
});

describe('letters', () => {
  let leadsBox: typeof mailboxes.$inferSelect;
  let supportBox: typeof mailboxes.$inferSelect;
  let uid = 0;

  const letter = (l: Partial<ParsedLetter> & { messageId: string; from: { address: string; name: string } }): ParsedLetter => ({
    subject: '',
    to: [],
    cc: [],
    replyTo: [],
    date: new Date(),
    text: 'Текст письма',
    inReplyTo: null,
    references: [],
    attachments: [],
    automatic: false,
    ...l,
  });
  const store = (mailbox: typeof mailboxes.$inferSelect, l: ParsedLetter) =>
    storeLetters(s.ctx(), { mailbox, folder: 'INBOX', role: 'inbox', uidValidity: 1, lastUid: uid, letters: [{ uid: ++uid, letter: l, attachments: [], receivedAt: new Date() }], matcher: new AddressMatcher() });
  const byMessageId = async (id: string) => (await s.ctx().db.select().from(emails).where(eq(emails.messageId, id)))[0]!;

  before(async () => {
    const box = (name: string, email: string, flags: { createsLeads?: boolean; createsTickets?: boolean }) =>
      s
        .ctx()
        .db.insert(mailboxes)
        .values({ name, login: email, email, passwordEncrypted: 'x', imapHost: 'imap.test', imapPort: 993, smtpHost: 'smtp.test', smtpPort: 465, createdAt: new Date(Date.now() - 60_000), ...flags })
        .returning();
    [leadsBox] = (await box('Продажи', 'sales@company.test', { createsLeads: true })) as [typeof mailboxes.$inferSelect];
    [supportBox] = (await box('Поддержка', 'help@company.test', { createsTickets: true })) as [typeof mailboxes.$inferSelect];
  });

  test("an existing client's letter to a mailbox that opens leads opens a ticket; the answer in the thread joins it", async () => {
    await store(leadsBox, letter({ messageId: '<q1@romashka.test>', from: { address: 'ivan@romashka.test', name: 'Иван' }, subject: 'Акт сверки', to: ['sales@company.test'] }));
    const first = await byMessageId('<q1@romashka.test>');
    assert.ok(first.ticketId, 'a ticket, not a lead');
    const t = await ticketRow(first.ticketId);
    assert.equal(t.channel, 'email');
    assert.equal(t.subject, 'Акт сверки');
    assert.equal(t.mailboxId, leadsBox.id);
    assert.equal(t.emailThreadKey, first.threadKey);
    assert.equal(t.contactId, ivan);
    await waitFor('the new e-mail ticket told', () => noticesFor(t.id).find((n) => n.kind === 'new_ticket' && n.userId === anna.id));

    await store(leadsBox, letter({ messageId: '<q2@romashka.test>', from: { address: 'ivan@romashka.test', name: 'Иван' }, subject: 'Re: Акт сверки', inReplyTo: '<q1@romashka.test>', references: ['<q1@romashka.test>'] }));
    assert.equal((await byMessageId('<q2@romashka.test>')).ticketId, t.id);
    const n = await waitFor('the letter on the ticket told', () => noticesFor(t.id).find((x) => x.kind === 'email_received'));
    assert.match(n.text, new RegExp(`Обращение №${t.id}`));

    const answer = await replyToTicket(as(anna), t.id, { text: 'Акт во вложении завтра.' });
    const [out] = await s.ctx().db.select().from(emails).where(eq(emails.id, answer.emailId!));
    assert.equal(out!.ticketId, t.id);
    assert.equal(out!.direction, 'outgoing');
    assert.equal(out!.mailboxId, leadsBox.id);
    assert.equal(out!.inReplyTo, '<q2@romashka.test>', 'in the thread, under the last letter');
    assert.equal(out!.authorUserId, anna.id);
    const after = await ticketRow(t.id);
    assert.ok(after.firstResponseAt);
    assert.equal(after.status, 'in_progress');
    const card = await ticketCard(as(anna), t.id);
    assert.deepEqual(
      card.entries.map((e) => [e.kind, e.direction]),
      [
        ['email', 'in'],
        ['email', 'in'],
        ['email', 'out'],
      ],
    );
  });

  test("a stranger's letter to a mailbox that opens leads opens a lead, as before", async () => {
    await store(leadsBox, letter({ messageId: '<x1@stranger.test>', from: { address: 'buyer@stranger.test', name: 'Покупатель' }, subject: 'Прайс' }));
    const e = await byMessageId('<x1@stranger.test>');
    assert.equal(e.ticketId, null);
    assert.ok(e.leadId);
  });

  test('any letter to a support mailbox opens a ticket, a contact made for an unknown sender', async () => {
    await store(supportBox, letter({ messageId: '<h1@someone.test>', from: { address: 'mila@someone.test', name: 'Мила' }, subject: 'Не могу войти' }));
    const e = await byMessageId('<h1@someone.test>');
    assert.ok(e.ticketId);
    assert.ok(e.contactId);
    const t = await ticketRow(e.ticketId);
    assert.equal(t.subject, 'Не могу войти');
    assert.equal(t.mailboxId, supportBox.id);
    assert.equal(t.contactId, e.contactId);
    // an auto-reply opens nothing
    await store(supportBox, letter({ messageId: '<auto@someone.test>', from: { address: 'robot@someone.test', name: '' }, subject: 'Автоответ', automatic: true }));
    assert.equal((await byMessageId('<auto@someone.test>')).ticketId, null);
    // solved, then the client writes in the thread: reopened
    await updateTicket(as(head), t.id, { status: 'solved' });
    await store(supportBox, letter({ messageId: '<h2@someone.test>', from: { address: 'mila@someone.test', name: 'Мила' }, subject: 'Re: Не могу войти', inReplyTo: '<h1@someone.test>', references: ['<h1@someone.test>'], text: 'Снова не пускает' }));
    assert.equal((await byMessageId('<h2@someone.test>')).ticketId, t.id);
    assert.equal((await ticketRow(t.id)).status, 'in_progress');
    const list = await s.ctx().db.select().from(emails).where(eq(emails.ticketId, t.id)).orderBy(asc(emails.id));
    assert.ok(list.length >= 2);

    // solved again and rated by a digit; a second digit, even after «Закрыто», only joins the ticket
    await updateTicket(as(head), t.id, { status: 'solved' });
    assert.ok((await ticketRow(t.id)).ratingRequestedAt);
    const reply = (id: string, text: string) =>
      store(supportBox, letter({ messageId: id, from: { address: 'mila@someone.test', name: 'Мила' }, subject: 'Re: Не могу войти', inReplyTo: '<h1@someone.test>', references: ['<h1@someone.test>'], text }));
    await reply('<h3@someone.test>', '5');
    assert.equal((await ticketRow(t.id)).rating, 5);
    await reply('<h4@someone.test>', '4');
    assert.equal((await byMessageId('<h4@someone.test>')).ticketId, t.id);
    assert.equal((await ticketRow(t.id)).status, 'solved', 'a repeated digit does not reopen');
    await updateTicket(as(head), t.id, { status: 'closed' });
    await reply('<h5@someone.test>', '3');
    assert.equal((await byMessageId('<h5@someone.test>')).ticketId, t.id, 'a digit on a closed ticket opens no new one');
    const after = await ticketRow(t.id);
    assert.equal(after.status, 'closed');
    assert.equal(after.rating, 5);
  });

  test("a ticket's letters are read by its assignee from another segment", async () => {
    await store(supportBox, letter({ messageId: '<seg1@romashka.test>', from: { address: 'ivan@romashka.test', name: 'Иван' }, subject: 'Счёт не пришёл' }));
    const e = await byMessageId('<seg1@romashka.test>');
    assert.ok(e.ticketId);
    await assert.rejects(getEmail(as(boris), e.id), (err: ServiceError) => err.code === 'forbidden');
    await updateTicket(as(head), e.ticketId, { assigneeId: boris.id });
    assert.equal((await getEmail(as(boris), e.id)).id, e.id);
  });

  test("a ticket in a manager's own mailbox is answered by its owner, the assignee or a head, not by another manager who sees it", async () => {
    const [own] = await s
      .ctx()
      .db.insert(mailboxes)
      .values({ name: 'Анна', login: 'anna-box@company.test', email: 'anna-box@company.test', passwordEncrypted: 'x', imapHost: 'imap.test', imapPort: 993, smtpHost: 'smtp.test', smtpPort: 465, createdAt: new Date(Date.now() - 60_000), createsTickets: true, ownerId: anna.id })
      .returning();
    const [borisSegment] = await s.database.rows<{ segment_id: number }>(sql`SELECT segment_id FROM user_segments WHERE user_id = ${boris.id}`);
    const south = await createCounterparty(s.ctx(), { kind: 'legal_entity', name: 'ООО «Южный»', responsibleId: boris.id, segmentId: borisSegment!.segment_id });
    await createContact(s.ctx(), { name: 'Юрий', counterpartyId: south.id, emails: ['yuri@south.test'] });
    await store(own!, letter({ messageId: '<own1@south.test>', from: { address: 'yuri@south.test', name: 'Юрий' }, subject: 'Вопрос Анне' }));
    const t = (await byMessageId('<own1@south.test>')).ticketId!;
    assert.equal((await ticketRow(t)).assigneeId, anna.id, "the mailbox's manager takes it");
    assert.equal((await getTicket(as(boris), t)).id, t, 'Борис sees the ticket by his segment');
    assert.equal((await ticketCard(as(boris), t)).canReply, false);
    await assert.rejects(replyToTicket(as(boris), t, { text: 'Отвечу за Анну' }), (e: ServiceError) => e.code === 'forbidden' && /личного ящика/.test(e.message));
    assert.ok((await replyToTicket(as(anna), t, { text: 'Отвечаю' })).emailId);
    assert.ok((await replyToTicket(as(head), t, { text: 'Дополню' })).emailId);
  });

  test('a support ticket made into a lead keeps its thread in the lead: the next letter opens nothing', async () => {
    await store(supportBox, letter({ messageId: '<s1@buyer.test>', from: { address: 'olga@buyer.test', name: 'Ольга' }, subject: 'Хочу ещё кассу' }));
    const t = (await byMessageId('<s1@buyer.test>')).ticketId!;
    assert.ok(t);
    const leadId = await leadFromTicket(as(head), t);
    await store(supportBox, letter({ messageId: '<s2@buyer.test>', from: { address: 'olga@buyer.test', name: 'Ольга' }, subject: 'Re: Хочу ещё кассу', inReplyTo: '<s1@buyer.test>', references: ['<s1@buyer.test>'], text: 'Когда счёт?' }));
    const next = await byMessageId('<s2@buyer.test>');
    assert.equal(next.ticketId, null, 'no new ticket');
    assert.equal(next.leadId, leadId, 'the letter is the lead’s');
    const opened = await s.ctx().db.select().from(tickets).where(eq(tickets.emailThreadKey, next.threadKey!));
    assert.deepEqual(opened.map((x) => x.id), [t]);
  });
});

describe('«Просрочено» is one rule', () => {
  test('a closed ticket whose first answer never came is not overdue, in the list or by isOverdue', async () => {
    const open = await createTicket(as(head), { subject: 'Просрочен первый ответ', contactId: ivan });
    const closed = await createTicket(as(head), { subject: 'Закрыт без ответа', contactId: ivan });
    const past = new Date(Date.now() - 3_600_000);
    await s.ctx().db.update(tickets).set({ firstResponseDueAt: past }).where(inArray(tickets.id, [open.id, closed.id]));
    await updateTicket(as(head), closed.id, { status: 'closed' });
    await s.ctx().db.update(tickets).set({ firstResponseDueAt: past }).where(eq(tickets.id, closed.id));
    const overdue = (await listTickets(as(head), { status: 'all', overdue: true })).rows.map((r) => r.id);
    assert.ok(overdue.includes(open.id));
    assert.ok(!overdue.includes(closed.id), 'a closed ticket is not overdue');
    const all = (await listTickets(as(head), { status: 'all' })).rows;
    assert.equal(all.find((r) => r.id === closed.id)!.overdue, false);
    assert.equal(isOverdue(await ticketRow(closed.id), new Date()), false);
    assert.equal(isOverdue(await ticketRow(open.id), new Date()), true);
  });
});

describe('the resolution clock across «Решено» and a new priority (a fake clock)', () => {
  // Wednesday 25 November 2026, 10:00 in Moscow; the default calendar is Monday–Friday 9–18
  const clock = fixedClock('2026-11-25T07:00:00Z');
  let c: Services;
  let boss: User, petrova: User;
  let company: number;
  const row = async (id: number) => (await c.ctx().db.select().from(tickets).where(eq(tickets.id, id)))[0]!;
  const make = async (priority: 'normal' | 'low' = 'normal') => {
    clock.set('2026-11-25T07:00:00Z');
    const t = await createTicket(c.ctx(userActor(boss)), { subject: 'Касса', counterpartyId: company, assigneeId: petrova.id, priority });
    await c.ctx().db.update(tickets).set({ firstResponseAt: clock.now(), status: 'in_progress' }).where(eq(tickets.id, t.id));
    return t.id;
  };

  before(async () => {
    c = await openTestServices({}, { clock });
    const sys = c.ctx();
    boss = await createUser(sys, { email: 'boss@clock.test', name: 'Руководитель', role: 'head', timeZone: 'Europe/Moscow' });
    petrova = await createUser(sys, { email: 'petrova@clock.test', name: 'Петрова', role: 'manager', timeZone: 'Europe/Moscow' });
    company = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Часы»' })).id;
  });
  after(() => c?.close());

  test('«Решено» stops the clock: reopened by hand days later, the minutes left run on and nobody is told of a breach', async () => {
    const id = await make();
    // normal: 1440 working minutes from Wednesday 10:00 → Friday 16:00 MSK
    assert.equal((await row(id)).resolutionDueAt!.toISOString(), '2026-11-27T13:00:00.000Z');
    clock.set('2026-11-25T09:00:00Z'); // 12:00: 1320 minutes left
    await updateTicket(c.ctx(userActor(boss)), id, { status: 'solved' });
    assert.equal((await row(id)).resolutionPausedMinutes, 1320);
    clock.set('2026-12-01T07:00:00Z'); // Tuesday 10:00, past the old due
    await updateTicket(c.ctx(userActor(boss)), id, { status: 'in_progress' });
    // 1320 from Tuesday 10:00: 480 + 540 + 300 → Thursday 14:00 MSK
    assert.equal((await row(id)).resolutionDueAt!.toISOString(), '2026-12-03T11:00:00.000Z');
    await helpdeskTick(c.ctx());
    assert.equal((await row(id)).resolutionBreachedAt, null, 'no breach right after a reopen');
  });

  test("the client's message reopens a solved ticket with the minutes that were left", async () => {
    const id = await make();
    clock.set('2026-11-25T09:00:00Z');
    await updateTicket(c.ctx(userActor(boss)), id, { status: 'solved' });
    clock.set('2026-12-01T07:00:00Z');
    const solved = await row(id);
    await inTransaction(c.ctx(), (tx) => clientWroteOnTicket(tx, solved));
    const t = await row(id);
    assert.equal(t.status, 'in_progress');
    assert.equal(t.resolutionDueAt!.toISOString(), '2026-12-03T11:00:00.000Z');
    await helpdeskTick(c.ctx());
    assert.equal((await row(id)).resolutionBreachedAt, null);
  });

  test('a new priority moves the due by the difference of targets, keeping the time spent waiting', async () => {
    const id = await make();
    clock.set('2026-11-25T09:00:00Z');
    await updateTicket(c.ctx(userActor(boss)), id, { status: 'waiting' });
    clock.set('2026-11-30T06:00:00Z'); // Monday 9:00: back to work, 1320 left → Wednesday 13:00 MSK
    await updateTicket(c.ctx(userActor(boss)), id, { status: 'in_progress' });
    assert.equal((await row(id)).resolutionDueAt!.toISOString(), '2026-12-02T10:00:00.000Z');
    clock.set('2026-11-30T07:00:00Z'); // Monday 10:00: 1260 left; low adds 2880 − 1440
    await updateTicket(c.ctx(userActor(boss)), id, { priority: 'low' });
    const t = await row(id);
    // 2700 from Monday 10:00: 480 + 4 × 540 + 60 → Monday 7 December 10:00 MSK
    assert.equal(t.resolutionDueAt!.toISOString(), '2026-12-07T07:00:00.000Z');
    // warned when 576 (20 % of 2880) are left: 2124 after Monday 10:00 → Friday 9:24 MSK
    assert.equal(t.resolutionWarnAt!.toISOString(), '2026-12-04T06:24:00.000Z');

    // while waiting, the minutes left change instead
    const other = await make();
    clock.set('2026-11-25T09:00:00Z');
    await updateTicket(c.ctx(userActor(boss)), other, { status: 'waiting' });
    await updateTicket(c.ctx(userActor(boss)), other, { priority: 'low' });
    assert.equal((await row(other)).resolutionPausedMinutes, 1320 + 1440);
  });
});
