import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openWorld, type World } from './helpers/world.js';
import type { ServiceContext } from '../core/context.js';
import type { User } from '../core/users/users.js';
import { createCounterparty, getCounterparty, listCounterparties, updateCounterparty } from '../core/counterparties/counterparties.js';
import { createContact, getContact, listContacts } from '../core/contacts/contacts.js';
import { addLeadParticipant, createLead, getLead, listLeads } from '../core/leads/leads.js';
import { createDeal, getDeal, listDeals, setDealStage } from '../core/deals/deals.js';
import { createWork, getWork, listWorks } from '../core/works/works.js';
import { listActions } from '../core/works/actions.js';
import { getHistory } from '../core/history/history.js';
import { search } from '../core/search/search.js';
import { ServiceError } from '../core/errors.js';

/**
 * R3: the access matrix. Two segments, a manager in each, a manager with no segment who is a
 * participant of one lead, the head and the admin; every record kind inside and outside a
 * manager's segments.
 */
let w: World;
let mA: User, mB: User, mP: User, head: User, admin: User;
type Records = { cp: number; contact: number; lead: number; deal: number; work: number };
const rec: { A: Records; B: Records } = {} as never;
let participantLead: number;

before(async () => {
  w = await openWorld();
  const segA = await w.segment('Сегмент А');
  const segB = await w.segment('Сегмент Б');
  mA = await w.user('manager', { segments: [segA] });
  mB = await w.user('manager', { segments: [segB] });
  mP = await w.user('manager');
  head = await w.user('head');
  admin = await w.user('admin');
  const [action] = await listActions(w.system);
  for (const [key, seg, owner] of [['A', segA, mA], ['B', segB, mB]] as const) {
    const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: `Клиент ${key}`, segmentId: seg, phones: [key === 'A' ? '+79160000001' : '+79160000002'] });
    const contact = await createContact(w.system, { name: `Контакт ${key}`, counterpartyId: cp.id });
    const lead = await createLead(w.system, { title: `Лид ${key}`, source: 'manual', counterpartyId: cp.id, responsibleId: owner.id });
    const deal = await createDeal(w.system, { title: `Сделка ${key}`, amount: '1000', counterpartyId: cp.id, responsibleId: owner.id });
    const work = await createWork(w.system, { actionId: action!.id, deadline: new Date(), counterpartyId: cp.id, responsibleId: owner.id });
    rec[key] = { cp: cp.id, contact: contact.id, lead: lead.id, deal: deal.id, work: work.id };
  }
  participantLead = (await createLead(w.system, { title: 'Лид с участником', source: 'website', counterpartyId: rec.B.cp, responsibleId: mB.id })).id;
  await addLeadParticipant(w.system, participantLead, mP.id);
});
after(() => w.close());

const reads = {
  counterparty: (ctx: ServiceContext, r: Records) => getCounterparty(ctx, r.cp),
  contact: (ctx: ServiceContext, r: Records) => getContact(ctx, r.contact),
  lead: (ctx: ServiceContext, r: Records) => getLead(ctx, r.lead),
  deal: (ctx: ServiceContext, r: Records) => getDeal(ctx, r.deal),
  work: (ctx: ServiceContext, r: Records) => getWork(ctx, r.work),
  history: (ctx: ServiceContext, r: Records) => getHistory(ctx, 'counterparty', r.cp),
};

const forbidden = (e: unknown) => e instanceof ServiceError && e.code === 'forbidden';

describe('each role × each record kind × in or out of segment', () => {
  for (const [kind, read] of Object.entries(reads)) {
    test(`${kind}: a manager reads their segment's and is refused the other's`, async () => {
      await read(w.as(mA), rec.A);
      await assert.rejects(read(w.as(mA), rec.B), forbidden);
      await read(w.as(mB), rec.B);
      await assert.rejects(read(w.as(mB), rec.A), forbidden);
    });
    test(`${kind}: head and admin read both`, async () => {
      for (const u of [head, admin]) {
        await read(w.as(u), rec.A);
        await read(w.as(u), rec.B);
      }
    });
    test(`${kind}: a manager without segments reads neither`, async () => {
      await assert.rejects(read(w.as(mP), rec.A), forbidden);
      await assert.rejects(read(w.as(mP), rec.B), forbidden);
    });
  }
});

describe('participants and responsibility', () => {
  test('a participant reads the lead (and its history) but not its counterparty', async () => {
    assert.equal((await getLead(w.as(mP), participantLead)).title, 'Лид с участником');
    await getHistory(w.as(mP), 'lead', participantLead);
    await assert.rejects(getCounterparty(w.as(mP), rec.B.cp), forbidden);
    await assert.rejects(getLead(w.as(mA), participantLead), forbidden);
  });

  test('lists show only what the actor may see', async () => {
    const names = async (ctx: ServiceContext) => (await listCounterparties(ctx, {}, { limit: 500 })).items.map((c) => c.name).sort();
    assert.deepEqual(await names(w.as(mA)), ['Клиент A']);
    assert.deepEqual(await names(w.as(head)), ['Клиент A', 'Клиент B']);
    assert.deepEqual(await names(w.as(mP)), []);
    assert.deepEqual((await listLeads(w.as(mP))).items.map((l) => l.id), [participantLead]);
    assert.deepEqual((await listLeads(w.as(mA))).items.map((l) => l.title), ['Лид A']);
    assert.equal((await listLeads(w.as(admin))).items.length, 3);
    assert.deepEqual((await listContacts(w.as(mB))).items.map((c) => c.name), ['Контакт B']);
    assert.deepEqual((await listDeals(w.as(mA))).items.map((d) => d.title), ['Сделка A']);
    assert.deepEqual((await listWorks(w.as(mB))).map((x) => x.id), [rec.B.work]);
  });

  test('search never leaks a record outside the segments', async () => {
    assert.equal((await search(w.as(mA), 'Клиент')).counterparties.length, 1);
    assert.equal((await search(w.as(mA), '+79160000002')).counterparties.length, 0);
    assert.equal((await search(w.as(head), 'Клиент')).counterparties.length, 2);
  });

  test('writes are refused outside the segments too', async () => {
    await assert.rejects(updateCounterparty(w.as(mA), rec.B.cp, { name: 'Взлом' }), forbidden);
    await assert.rejects(setDealStage(w.as(mA), rec.B.deal, 2), forbidden);
    await assert.rejects(createContact(w.as(mA), { name: 'X', counterpartyId: rec.B.cp }), forbidden);
    const [action] = await listActions(w.system);
    await assert.rejects(createWork(w.as(mA), { actionId: action!.id, deadline: new Date(), counterpartyId: rec.B.cp }), forbidden);
    assert.equal((await getCounterparty(w.system, rec.B.cp)).name, 'Клиент B');
  });

  test('a manager who is responsible for a counterparty outside their segments sees it', async () => {
    const own = await createCounterparty(w.system, { kind: 'individual', name: 'Личный клиент', responsibleId: mP.id });
    assert.equal((await getCounterparty(w.as(mP), own.id)).name, 'Личный клиент');
    // and a manager's own new counterparty stays theirs
    const mine = await createCounterparty(w.as(mP), { kind: 'individual', name: 'Мой новый клиент' });
    assert.equal(mine.responsibleId, mP.id);
    await getCounterparty(w.as(mP), mine.id);
  });
});
