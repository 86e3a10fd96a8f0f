import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { openWorld, type World } from './helpers/world.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import {
  addLeadParticipant,
  closeLead,
  convertLeadToDeal,
  createLead,
  getLead,
  listLeadParticipants,
  removeLeadParticipant,
  takeLead,
} from '../core/leads/leads.js';
import { createDeal, getDeal, listDealStages, setDealAmount, setDealStage } from '../core/deals/deals.js';
import { ServiceError } from '../core/errors.js';

let w: World;
let manager: User, other: User;
before(async () => {
  w = await openWorld();
  manager = await w.user('manager');
  other = await w.user('manager');
});
after(() => w.close());

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;

describe('leads', () => {
  test('a website lead keeps its campaign, UTM tags and click id; the same campaign is reused', async () => {
    const tracking = { utm_source: 'yandex', utm_medium: 'cpc', utm_campaign: 'okna-zima', utm_term: 'пластиковые окна', yclid: '123456789' };
    const a = await createLead(w.system, { title: 'Заявка с сайта', source: 'website', tracking });
    const b = await createLead(w.system, { title: 'Ещё заявка', source: 'website', tracking: { ...tracking, utm_term: 'окна' } });
    assert.ok(a.campaignId);
    assert.equal(a.campaignId, b.campaignId);
    assert.equal(a.tracking.yclid, '123456789');
    assert.equal(a.tracking.utm_term, 'пластиковые окна');
    assert.equal(a.status, 'new');
  });

  test('the same external id twice returns the first lead', async () => {
    const a = await createLead(w.system, { title: 'Форма', source: 'website', externalId: 'tilda-42' });
    const b = await createLead(w.system, { title: 'Форма (повтор)', source: 'website', externalId: 'tilda-42' });
    assert.equal(a.id, b.id);
  });

  test('bad input names the fields', async () => {
    await assert.rejects(createLead(w.system, { title: '', source: 'fax' as 'manual' }), (e: ServiceError) => {
      assert.deepEqual(Object.keys(e.fields).sort(), ['source', 'title']);
      return e.code === 'invalid';
    });
  });

  test('a manager creating a lead becomes responsible; routing gives unowned leads to managers on duty', async () => {
    const mine = await createLead(w.as(manager), { title: 'Мой лид', source: 'manual' });
    assert.equal(mine.responsibleId, manager.id);
    const routed = await createLead(w.system, { title: 'Звонок', source: 'phone' });
    assert.ok(routed.responsibleId);
  });

  test('a lead of a segment client goes to that segment manager', async () => {
    const seg = await w.segment();
    const segManager = await w.user('manager', { segments: [seg] });
    const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Сегментный»', segmentId: seg });
    const lead = await createLead(w.system, { title: 'Повторное обращение', source: 'email', counterpartyId: cp.id });
    assert.equal(lead.responsibleId, segManager.id);
  });

  test('take, participants, close', async () => {
    const lead = await createLead(w.system, { title: 'Лид', source: 'telegram', responsibleId: other.id });
    await assert.rejects(takeLead(w.as(manager), lead.id), code('forbidden'));
    await addLeadParticipant(w.as(other), lead.id, manager.id);
    await addLeadParticipant(w.as(other), lead.id, manager.id); // twice: once
    assert.deepEqual((await listLeadParticipants(w.system, lead.id)).map((p) => p.id), [manager.id]);
    const taken = await takeLead(w.as(manager), lead.id);
    assert.equal(taken.responsibleId, manager.id);
    assert.equal(taken.status, 'in_progress');
    await removeLeadParticipant(w.as(manager), lead.id, manager.id);
    const closed = await closeLead(w.as(manager), lead.id, 'нецелевой');
    assert.equal(closed.status, 'closed');
    await assert.rejects(closeLead(w.as(manager), lead.id), code('conflict'));
  });
});

describe('lead → deal', () => {
  test('converting creates the deal from the lead and closes the lead; twice is a clear error', async () => {
    const cp = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Покупатель»', responsibleId: manager.id });
    const contact = await createContact(w.system, { name: 'Иван', counterpartyId: cp.id });
    const lead = await createLead(w.as(manager), { title: 'Окна на дачу', source: 'manual', contactId: contact.id });
    const { deal, lead: closed } = await convertLeadToDeal(w.as(manager), lead.id, { amount: '150 000,00' });
    assert.equal(deal.title, 'Окна на дачу');
    assert.equal(deal.amountKopecks, 15000000n);
    assert.equal(deal.counterpartyId, cp.id);
    assert.equal(deal.contactId, contact.id);
    assert.equal(deal.responsibleId, manager.id);
    assert.equal(deal.leadId, lead.id);
    assert.equal(closed.status, 'converted');
    await assert.rejects(convertLeadToDeal(w.as(manager), lead.id), (e: ServiceError) => e.code === 'conflict' && /уже переведён/.test(e.message));
  });

  test('a failure half way leaves neither a deal nor a converted lead', async () => {
    const lead = await createLead(w.as(manager), { title: 'Сорвётся', source: 'manual' });
    // the database itself refuses the deal insert, after the lead was already updated in the transaction
    await w.database.rows(sql.raw(`CREATE FUNCTION refuse_deal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'deals are refused'; END $$`));
    await w.database.rows(sql.raw('CREATE TRIGGER refuse_deal BEFORE INSERT ON deals FOR EACH ROW EXECUTE FUNCTION refuse_deal()'));
    try {
      await assert.rejects(convertLeadToDeal(w.as(manager), lead.id), (e: Error & { cause?: Error }) => /deals are refused/.test(`${e.message} ${e.cause?.message}`));
    } finally {
      await w.database.rows(sql.raw('DROP TRIGGER refuse_deal ON deals'));
      await w.database.rows(sql.raw('DROP FUNCTION refuse_deal()'));
    }
    assert.equal((await getLead(w.system, lead.id)).status, 'new');
    const [n] = await w.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM deals WHERE lead_id = ${lead.id}`);
    assert.equal(n!.n, 0);
    // and it converts once the obstacle is gone
    const { deal } = await convertLeadToDeal(w.as(manager), lead.id);
    assert.equal(deal.leadId, lead.id);
  });

  test('a closed lead is not converted', async () => {
    const lead = await createLead(w.as(manager), { title: 'Закрытый', source: 'manual' });
    await closeLead(w.as(manager), lead.id);
    await assert.rejects(convertLeadToDeal(w.as(manager), lead.id), code('conflict'));
  });
});

describe('deals', () => {
  test('default stages are those of the guide', async () => {
    assert.deepEqual((await listDealStages(w.system)).map((s) => s.name), ['Новая', 'Переговоры', 'КП отправлено', 'Счёт выставлен', 'Оплачена', 'Проиграна']);
  });

  test('stage and amount changes are exact and leave history; a won stage closes the deal', async () => {
    const stages = await listDealStages(w.system);
    const deal = await createDeal(w.as(manager), { title: 'Поставка', amount: '0.10' });
    assert.equal(deal.amountKopecks, 10n);
    assert.equal(deal.stageId, stages[0]!.id);
    const more = await setDealAmount(w.as(manager), deal.id, '99 999 999 999,99');
    assert.equal(more.amountKopecks, 9999999999999n);
    await assert.rejects(setDealAmount(w.as(manager), deal.id, 'много'), code('invalid'));
    await assert.rejects(setDealAmount(w.as(manager), deal.id, '-5'), code('invalid'));
    const won = await setDealStage(w.as(manager), deal.id, stages.find((s) => s.isWon)!.id);
    assert.ok(won.closedAt);
    const reopened = await setDealStage(w.as(manager), deal.id, stages[1]!.id);
    assert.equal(reopened.closedAt, null);
    await assert.rejects(setDealStage(w.as(manager), deal.id, 99999), code('invalid'));
    assert.equal((await getDeal(w.system, deal.id)).stageId, stages[1]!.id);
  });
});
