import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { ingestInboundMessage } from '../core/channels/ingest.js';
import type { InboundMessage } from '../core/channels/types.js';
import { listConversations, listMessages, replyInConversation } from '../core/conversations/conversations.js';
import { createContact } from '../core/contacts/contacts.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createDeal } from '../core/deals/deals.js';
import { addLeadParticipant, closeLead } from '../core/leads/leads.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { conversations, leads } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { ServiceError } from '../core/errors.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * The one inbound pipeline, whatever the channel: who the client is, which lead and manager a
 * message belongs to, who is told. Messages enter through ingestInboundMessage as adapters hand them over.
 */
let s: Services & { dataDir: string };
let anna: User, boris: User, vera: User, head: User;
let borisSegmentCp: number;
const notes: Notification[] = [];
let seq = 0;


const msg = (m: Partial<InboundMessage> & { externalUserId: string }): InboundMessage => ({
  channel: 'telegram',
  externalChatId: m.externalUserId,
  providerMessageId: `pm-${++seq}`,
  text: `сообщение ${seq}`,
  ...m,
});
const ingest = (m: Partial<InboundMessage> & { externalUserId: string }) => ingestInboundMessage(s.ctx(), msg(m));
const leadsOf = async (contactId: number) => s.ctx().db.select().from(leads).where(eq(leads.contactId, contactId));

before(async () => {
  s = await openTestServices();
  const sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@in.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@in.test', name: 'Борис', role: 'manager' });
  vera = await createUser(sys, { email: 'vera@in.test', name: 'Вера', role: 'manager' });
  head = await createUser(sys, { email: 'head@in.test', name: 'Глава', role: 'head' });
  // everyone has linked Telegram: notices go to the people a request is for, not to the fallback
  await s.database.rows(sql`UPDATE users SET telegram_id = 900000 + id`);
  // Борис works only his segment; Анна and Вера take the round-robin
  await s.database.rows(sql`UPDATE users SET on_duty = false WHERE id = ${boris.id}`);
  const south = await createSegment(sys, { name: 'Юг' });
  await setUserSegments(sys, boris.id, [south.id]);
  borisSegmentCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Южный порт»', segmentId: south.id })).id;
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  await s.jobs.start();
});
after(() => s?.close());

describe('who the client is', () => {
  test('a contact imported with a phone is found when they write from that number', async () => {
    const imported = await createContact(s.ctx(), { name: 'Светлана из CSV', phones: ['8 (916) 555-44-33'] });
    const r = await ingest({ channel: 'whatsapp', externalUserId: '79165554433@c.us', phone: '+79165554433', name: 'Света' });
    assert.equal(r.contactId, imported.id);
    assert.equal(r.createdContact, false);
    const again = await ingest({ channel: 'whatsapp', externalUserId: '79165554433@c.us' });
    assert.equal(again.contactId, imported.id, 'then by the channel identity');
  });

  test('two first messages of a new client at once make one contact and one lead', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ingest({ externalUserId: 'tg-burst', name: 'Быстрый' })));
    assert.equal(new Set(results.map((r) => r.contactId)).size, 1);
    assert.equal(new Set(results.map((r) => r.conversationId)).size, 1);
    assert.equal(results.filter((r) => r.createdLead).length, 1);
    assert.equal((await leadsOf(results[0]!.contactId)).length, 1);
  });

  test('the same provider message id sent again, even at once, is stored once', async () => {
    const m = msg({ externalUserId: 'tg-dup', name: 'Дубль' });
    const first = await ingestInboundMessage(s.ctx(), m);
    const again = await Promise.all([ingestInboundMessage(s.ctx(), m), ingestInboundMessage(s.ctx(), m)]);
    assert.equal(first.duplicate, false);
    for (const r of again) {
      assert.equal(r.duplicate, true);
      assert.equal(r.messageId, first.messageId);
    }
    const all = await listMessages(s.ctx(), first.conversationId);
    assert.equal(all.length, 1);
  });

  test('a bad message from an adapter is refused with the field named, nothing stored', async () => {
    await assert.rejects(
      ingestInboundMessage(s.ctx(), { ...msg({ externalUserId: '' }) }),
      (e) => e instanceof ServiceError && e.code === 'invalid' && 'externalUserId' in e.fields,
    );
  });
});

describe('which lead and manager', () => {
  test('new clients are shared in turn among the managers on duty', async () => {
    const a = await ingest({ externalUserId: 'tg-rr-1', name: 'Первый' });
    const b = await ingest({ externalUserId: 'tg-rr-2', name: 'Второй' });
    const [la] = await leadsOf(a.contactId);
    const [lb] = await leadsOf(b.contactId);
    assert.notEqual(la!.responsibleId, lb!.responsibleId);
    assert.deepEqual([la!.responsibleId, lb!.responsibleId].sort(), [anna.id, vera.id].sort());
    assert.equal(la!.source, 'telegram');
  });

  test("a contact of a counterparty goes to the manager of its segment", async () => {
    const c = await createContact(s.ctx(), { name: 'Олег из порта', phones: ['+7 918 000-00-01'], counterpartyId: borisSegmentCp });
    const r = await ingest({ channel: 'viber', externalUserId: 'vb-oleg', phone: '+79180000001' });
    assert.equal(r.contactId, c.id);
    const [lead] = await leadsOf(c.id);
    assert.equal(lead!.responsibleId, boris.id);
    assert.equal(lead!.counterpartyId, borisSegmentCp);
  });

  test('an open lead takes further messages; after it is closed the next message opens a new one', async () => {
    const first = await ingest({ externalUserId: 'tg-lead', name: 'Лидия' });
    const second = await ingest({ externalUserId: 'tg-lead' });
    assert.equal(second.leadId, first.leadId);
    assert.equal(second.createdLead, false);
    await closeLead(s.ctx(), first.leadId!);
    const third = await ingest({ externalUserId: 'tg-lead' });
    assert.equal(third.createdLead, true);
    assert.notEqual(third.leadId, first.leadId);
    const [cv] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, third.conversationId));
    assert.equal(cv!.leadId, third.leadId, 'the conversation follows the open lead');
  });

  test('a client with an open deal gets no lead; the deal\'s manager is told', async () => {
    const c = await createContact(s.ctx(), { name: 'Денис со сделкой', phones: ['+7 917 000-00-02'] });
    const deal = await createDeal(s.ctx(), { title: 'Поставка', amount: '10000', contactId: c.id, responsibleId: vera.id });
    const r = await ingest({ channel: 'whatsapp', externalUserId: '79170000002@c.us', phone: '+79170000002', text: 'Когда отгрузка?' });
    assert.equal(r.contactId, c.id);
    assert.equal(r.createdLead, false);
    assert.equal(r.leadId, null);
    assert.equal((await leadsOf(c.id)).length, 0);
    const note = await waitFor('the notice to the deal manager', () => notes.find((n) => n.kind === 'client_message' && n.messageId === r.messageId));
    assert.equal(note.userId, vera.id);
    assert.match(note.text, new RegExp(`Сделка №${deal.id}`));
    assert.match(note.text, /Когда отгрузка\?/);
  });

  test("the lead's participants are told as well as its responsible", async () => {
    const first = await ingest({ externalUserId: 'tg-team', name: 'Команда' });
    const [lead] = await leadsOf(first.contactId);
    await addLeadParticipant(s.ctx(), lead!.id, boris.id);
    const r = await ingest({ externalUserId: 'tg-team', text: 'Всем привет' });
    await waitFor('both notices', () => notes.filter((n) => n.kind === 'client_message' && n.messageId === r.messageId).length === 2);
    const told = notes.filter((n) => n.kind === 'client_message' && n.messageId === r.messageId).map((n) => n.userId);
    assert.deepEqual(told.sort(), [lead!.responsibleId!, boris.id].sort());
  });

  test('with no manager on duty the head of sales is told', async () => {
    await s.database.rows(sql`UPDATE users SET on_duty = false WHERE role = 'manager'`);
    try {
      const r = await ingest({ externalUserId: 'tg-nobody', name: 'Ничей', text: 'Есть кто?' });
      const [lead] = await leadsOf(r.contactId);
      assert.equal(lead!.responsibleId, null);
      const note = await waitFor('the notice to the head', () => notes.find((n) => n.kind === 'client_message' && n.messageId === r.messageId));
      assert.equal(note.userId, head.id);
    } finally {
      await s.database.rows(sql`UPDATE users SET on_duty = true WHERE role = 'manager' AND id <> ${boris.id}`);
    }
  });
});

describe('/chats', () => {
  test('a manager lists the open conversations of their leads, newest first, and sees no one else\'s', async () => {
    const mine = await ingest({ channel: 'viber', externalUserId: 'vb-chats', name: 'Чат', text: 'последнее слово' });
    const [lead] = await leadsOf(mine.contactId);
    const owner = lead!.responsibleId === anna.id ? anna : vera;
    const other = owner === anna ? vera : anna;
    const list = await listConversations(s.ctx(userActor(owner)), { mineFor: owner.id });
    assert.equal(list[0]!.id, mine.conversationId);
    assert.equal(list[0]!.lastText, 'последнее слово');
    assert.equal(list[0]!.lastDirection, 'in');
    assert.equal(list[0]!.channel, 'viber');
    assert.equal(list[0]!.contactName, 'Чат');
    const theirs = await listConversations(s.ctx(userActor(other)), { mineFor: other.id });
    assert.ok(!theirs.some((c) => c.id === mine.conversationId));
    const everything = await listConversations(s.ctx(userActor(other)), { status: 'all', limit: 200 });
    assert.ok(!everything.some((c) => c.id === mine.conversationId), 'not even without the filter');

    const reply = await replyInConversation(s.ctx(userActor(owner)), mine.conversationId, 'Ответ менеджера');
    const after = await listConversations(s.ctx(userActor(owner)), { mineFor: owner.id });
    assert.equal(after[0]!.lastText, 'Ответ менеджера');
    assert.equal(after[0]!.lastDirection, 'out');
    const history = await listMessages(s.ctx(userActor(owner)), mine.conversationId);
    assert.deepEqual(
      history.map((m) => [m.direction, m.text, m.authorUserId]),
      [
        ['out', 'Ответ менеджера', owner.id],
        ['in', 'последнее слово', null],
      ],
    );
    assert.equal(reply.deliveryStatus, 'queued');
  });
});
