import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { fixedClock, openWorld, type World } from './helpers/world.js';
import { createCounterparty, getCounterparty, listCounterparties } from '../core/counterparties/counterparties.js';
import { addIdentity, createContact, findContactByIdentity, findContactByPhone, getContact } from '../core/contacts/contacts.js';
import { createLead, takeLead } from '../core/leads/leads.js';
import { createDeal, listDealStages, setDealStage } from '../core/deals/deals.js';
import { completeWork, createWork } from '../core/works/works.js';
import { listActions } from '../core/works/actions.js';
import { getHistory } from '../core/history/history.js';
import { mergeContacts, mergeCounterparties } from '../core/merge/merge.js';
import { conversations, messages } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';

const clock = fixedClock('2026-11-02T08:00:00Z');
let w: World;
before(async () => (w = await openWorld({ clock })));
after(() => w.close());

const tick = (minutes = 1) => clock.set(new Date(clock.now().getTime() + minutes * 60_000));

describe('history', () => {
  test('a counterparty shows works, messages and its events as one timeline, newest first', async () => {
    const m = await w.user('manager');
    const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «История»', responsibleId: m.id });
    const contact = await createContact(w.system, { name: 'Ольга', counterpartyId: cp.id });
    tick();
    const call = (await listActions(w.system)).find((a) => a.name === 'Позвонить')!;
    const work = await createWork(w.as(m), { actionId: call.id, deadline: clock.now(), counterpartyId: cp.id, contactId: contact.id });
    tick();
    const [conv] = await w.database.db.insert(conversations).values({ channel: 'whatsapp', contactId: contact.id, externalChatId: '79160001122@c.us' }).returning();
    await w.database.db.insert(messages).values({ conversationId: conv!.id, channel: 'whatsapp', direction: 'in', providerMessageId: 'wa-1', text: 'Здравствуйте, сколько стоит?', at: clock.now() });
    tick();
    await completeWork(w.as(m), work.id, { resultId: call.results[0]!.id });
    const items = await getHistory(w.as(m), 'counterparty', cp.id);
    assert.deepEqual(
      items.map((i) => i.kind),
      ['work', 'message', 'event'],
    );
    assert.match(items[0]!.title, /Позвонить — выполнено/);
    assert.equal(items[1]!.text, 'Здравствуйте, сколько стоит?');
    assert.equal(items[2]!.title, 'Контрагент создан');
    const ofContact = await getHistory(w.as(m), 'contact', contact.id);
    assert.deepEqual(ofContact.map((i) => i.kind), ['work', 'message', 'event']);
  });

  test('a lead and a deal record status changes with who made them', async () => {
    const m = await w.user('manager', { name: 'Сергей' });
    const lead = await createLead(w.system, { title: 'Лид', source: 'viber', responsibleId: m.id });
    tick();
    await takeLead(w.as(m), lead.id);
    const items = await getHistory(w.as(m), 'lead', lead.id);
    assert.equal(items[0]!.title, 'Назначен ответственный');
    assert.equal(items[0]!.actor, 'Сергей');
    const deal = await createDeal(w.as(m), { title: 'Сделка' });
    tick();
    await setDealStage(w.as(m), deal.id, (await listDealStages(w.system))[1]!.id);
    const dh = await getHistory(w.as(m), 'deal', deal.id);
    assert.equal(dh[0]!.title, 'Стадия: Новая → Переговоры');
  });
});

describe('merge', () => {
  test('two contacts that are one person: phones, e-mails, identities and history move to the survivor', async () => {
    const a = await createContact(w.system, { name: 'Иван Петров', phones: ['+79161112233'], emails: ['ivan@a.ru'] });
    const b = await createContact(w.system, { name: 'Иван (WhatsApp)', phones: ['8 903 111 22 33'], emails: ['IVAN@b.ru'] });
    await addIdentity(w.system, b.id, { channel: 'whatsapp', externalId: '79031112233@c.us' });
    const lead = await createLead(w.system, { title: 'Лид Ивана', source: 'whatsapp', contactId: b.id });
    const merged = await mergeContacts(w.system, a.id, b.id);
    assert.deepEqual(merged.phones.sort(), ['+79031112233', '+79161112233']);
    assert.deepEqual(merged.emails.sort(), ['ivan@a.ru', 'ivan@b.ru']);
    assert.equal((await findContactByIdentity(w.system, 'whatsapp', '79031112233@c.us'))!.id, a.id);
    assert.equal((await findContactByPhone(w.system, '89031112233'))!.id, a.id);
    const [l] = await w.database.rows<{ contact_id: number }>(sql`SELECT contact_id FROM leads WHERE id = ${lead.id}`);
    assert.equal(l!.contact_id, a.id);
    // the old id still resolves to the survivor, and the merge is in its history
    assert.equal((await getContact(w.system, b.id)).id, a.id);
    const h = await getHistory(w.system, 'contact', a.id);
    assert.ok(h.some((i) => i.title.startsWith('Объединён с контактом')));
    assert.equal(h.filter((i) => i.title === 'Контакт создан').length, 2);
    await assert.rejects(mergeContacts(w.system, a.id, a.id), (e: ServiceError) => e.code === 'invalid');
  });

  test('two counterparties: contacts, leads, deals and empty details move to the survivor; the duplicate leaves the lists', async () => {
    const region = `Слияние ${Date.now()}`;
    const keep = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Альфа»', region, phones: ['+74950000001'] });
    const dup = await createCounterparty(w.system, { kind: 'legal_entity', name: 'Альфа ООО', region, inn: '7707083893', phones: ['+74950000002'], industry: 'Торговля' });
    const contact = await createContact(w.system, { name: 'Бухгалтер', counterpartyId: dup.id });
    const deal = await createDeal(w.system, { title: 'Сделка Альфы', counterpartyId: dup.id });
    const merged = await mergeCounterparties(w.system, keep.id, dup.id);
    assert.equal(merged.inn, '7707083893');
    assert.equal(merged.industry, 'Торговля');
    assert.deepEqual(merged.phones.sort(), ['+74950000001', '+74950000002']);
    assert.equal((await getContact(w.system, contact.id)).counterpartyId, keep.id);
    const [d] = await w.database.rows<{ counterparty_id: number }>(sql`SELECT counterparty_id FROM deals WHERE id = ${deal.id}`);
    assert.equal(d!.counterparty_id, keep.id);
    assert.deepEqual((await listCounterparties(w.system, { region })).items.map((c) => c.id), [keep.id]);
    assert.equal((await getCounterparty(w.system, dup.id)).id, keep.id);
  });

  test('a merge outside the actor\'s segments is refused and changes nothing', async () => {
    const m = await w.user('manager');
    const a = await createCounterparty(w.system, { kind: 'individual', name: 'Мой', responsibleId: m.id });
    const b = await createCounterparty(w.system, { kind: 'individual', name: 'Чужой' });
    await assert.rejects(mergeCounterparties(w.as(m), a.id, b.id), (e: ServiceError) => e.code === 'forbidden');
    assert.equal((await getCounterparty(w.system, b.id)).mergedIntoId, null);
  });
});
