import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { systemActor, systemClock, type ServiceContext } from '../core/context.js';
import type { Database } from '../core/db/client.js';
import { EmbeddedQueue } from '../core/jobs/embedded-queue.js';
import { DEMO_HEAD_EMAIL, DEMO_PASSWORD, DEMO_TEAM, loadDemoData } from '../core/demo/demo.js';
import { listCounterparties, type Counterparty } from '../core/counterparties/counterparties.js';
import { listContacts, type Contact } from '../core/contacts/contacts.js';
import { getUserSegmentIds } from '../core/segments/segments.js';
import { authenticate, userActor } from '../core/users/users.js';
import { monthOf, planVsActual } from '../core/plans/plans.js';
import { isValidInn, isValidKpp, isValidOgrn } from '../core/validation/russian-ids.js';
import { normalizePhone } from '../core/validation/phone.js';
import { isServiceError } from '../core/errors.js';
import { sellerFor } from '../core/organizations/seller.js';
import { listProducts } from '../core/products/products.js';
import { isValidCorrAccount, isValidSettlementAccount } from '../core/validation/bank.js';
import { lineSums } from '../core/documents/money.js';
import { createTestDatabase, testEngine } from './helpers/db.js';

let database: Database;
let ctx: ServiceContext;
let summary: Record<string, number>;
let loadMs: number;

before(async () => {
  database = await createTestDatabase();
  ctx = { db: database.db, actor: systemActor(), clock: systemClock, jobs: new EmbeddedQueue(database), log: pino({ level: 'silent' }), timeZone: 'Europe/Moscow' };
  const started = Date.now();
  summary = await loadDemoData(ctx);
  loadMs = Date.now() - started;
});

after(async () => {
  await database?.close();
});

const E164 = /^\+7\d{10}$/;

async function allCounterparties(c: ServiceContext): Promise<Counterparty[]> {
  const out: Counterparty[] = [];
  for (let offset = 0; ; offset += 500) {
    const { items } = await listCounterparties(c, {}, { limit: 500, offset });
    out.push(...items);
    if (items.length < 500) return out;
  }
}

async function allContacts(c: ServiceContext): Promise<Contact[]> {
  const out: Contact[] = [];
  for (let offset = 0; ; offset += 500) {
    const { items } = await listContacts(c, {}, { limit: 500, offset });
    out.push(...items);
    if (items.length < 500) return out;
  }
}

async function tableCounts(): Promise<Record<string, number>> {
  const [row] = await database.rows<Record<string, number>>(sql`
    SELECT (SELECT count(*)::int FROM users) AS users,
           (SELECT count(*)::int FROM segments) AS segments,
           (SELECT count(*)::int FROM counterparties) AS counterparties,
           (SELECT count(*)::int FROM contacts) AS contacts,
           (SELECT count(*)::int FROM leads) AS leads,
           (SELECT count(*)::int FROM deals) AS deals,
           (SELECT count(*)::int FROM works) AS works,
           (SELECT count(*)::int FROM plans) AS plans,
           (SELECT count(*)::int FROM organizations) AS organizations,
           (SELECT count(*)::int FROM products) AS products,
           (SELECT count(*)::int FROM deal_lines) AS "dealLines",
           (SELECT count(*)::int FROM phone_lines) AS "phoneLines",
           (SELECT count(*)::int FROM calls) AS calls,
           (SELECT count(*)::int FROM tickets) AS tickets`);
  return row!;
}

describe(`demo data (${testEngine})`, () => {
  // how long loading takes is printed, not asserted: a loaded machine must not fail the suite
  test('loads a full data set, and the summary matches the tables', async (t) => {
    t.diagnostic(`loaded in ${loadMs} ms: ${JSON.stringify(summary)}`);
    assert.deepEqual(summary, await tableCounts());
    assert.equal(summary.users, DEMO_TEAM.length);
    assert.ok(summary.segments! >= 4 && summary.segments! <= 5);
    assert.ok(summary.counterparties! >= 250);
    assert.ok(summary.contacts! >= summary.counterparties!);
    assert.ok(summary.leads! >= 60);
    assert.ok(summary.deals! >= 30);
    assert.ok(summary.works! >= 120);
    assert.equal(summary.plans, 8);
  });

  test('telephony: two lines, every manager has an extension, calls on the clients\' cards by their own numbers, and a calls target in the plans', async () => {
    assert.equal(summary.phoneLines, 2);
    assert.ok(summary.calls! >= 50, `${summary.calls} calls`);
    // R23: a HelpDesk to look at — tickets of every status on existing clients, each with its chat
    const tickets = await database.rows<{ status: string; active: boolean; messages: number }>(sql`
      SELECT t.status, cp.is_active_client AS active, (SELECT count(*)::int FROM messages m WHERE m.ticket_id = t.id) AS messages
      FROM tickets t JOIN counterparties cp ON cp.id = t.counterparty_id`);
    assert.equal(tickets.length, summary.tickets);
    assert.deepEqual(new Set(tickets.map((t) => t.status)), new Set(['new', 'in_progress', 'waiting', 'solved', 'closed']));
    assert.ok(tickets.every((t) => t.active && t.messages > 0));
    const [c] = await database.rows<Record<string, number>>(sql`
      SELECT (SELECT count(*)::int FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_extensions e WHERE e.user_id = u.id)) AS "withoutExtension",
             (SELECT count(*)::int FROM calls c WHERE c.contact_id IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.id = c.contact_id AND c.client_number = ANY(k.phones))) AS "foreignNumber",
             (SELECT count(DISTINCT status)::int FROM calls) AS statuses,
             (SELECT count(*)::int FROM plans WHERE calls_count = 0) AS "noCallsTarget"`);
    assert.deepEqual(c, { withoutExtension: 0, foreignNumber: 0, statuses: 4, noCallsTarget: 0 });
  });

  test('counterparties of all three kinds with valid requisites and E.164 phones', async () => {
    const all = await allCounterparties(ctx);
    assert.equal(all.length, summary.counterparties);
    const legal = all.filter((c) => c.kind === 'legal_entity');
    const sole = all.filter((c) => c.kind === 'sole_proprietor');
    const individual = all.filter((c) => c.kind === 'individual');
    assert.ok(legal.length > sole.length && sole.length > 0 && individual.length > 0, 'all three kinds, legal entities the most');
    for (const c of legal) {
      assert.ok(/^\d{10}$/.test(c.inn ?? '') && isValidInn(c.inn!), `ИНН ${c.inn} of ${c.name}`);
      assert.ok(/^\d{13}$/.test(c.ogrn ?? '') && isValidOgrn(c.ogrn!), `ОГРН ${c.ogrn} of ${c.name}`);
      assert.ok(c.kpp && isValidKpp(c.kpp), `КПП ${c.kpp} of ${c.name}`);
      assert.match(c.name, /^[А-ЯЁ]{2,6} «.+»$/);
    }
    for (const c of sole) {
      assert.ok(/^\d{12}$/.test(c.inn ?? '') && isValidInn(c.inn!), `ИНН ${c.inn} of ${c.name}`);
      assert.ok(/^\d{15}$/.test(c.ogrn ?? '') && isValidOgrn(c.ogrn!), `ОГРНИП ${c.ogrn} of ${c.name}`);
      assert.equal(c.kpp, null);
      assert.match(c.name, /^ИП [А-ЯЁ][а-яё-]+ [А-ЯЁ]\.[А-ЯЁ]\.$/);
    }
    for (const c of individual) {
      assert.ok(/^\d{12}$/.test(c.inn ?? '') && isValidInn(c.inn!), `ИНН ${c.inn} of ${c.name}`);
      assert.equal(c.ogrn, null);
      assert.equal(c.kpp, null);
      assert.equal(c.name.split(' ').length, 3, `ФИО: ${c.name}`);
    }
    assert.equal(new Set(all.map((c) => c.inn)).size, all.length, 'INNs are unique');
    const phones = all.flatMap((c) => c.phones);
    assert.ok(phones.length >= all.length);
    for (const p of phones) assert.ok(E164.test(p) && normalizePhone(p) === p, `phone ${p}`);
    for (const c of await allContacts(ctx)) for (const p of c.phones) assert.ok(E164.test(p), `contact phone ${p}`);
    for (const e of all.flatMap((c) => c.emails)) assert.equal(e, e.toLowerCase());
    assert.ok(all.some((c) => c.isActiveClient));
    assert.equal(new Set(all.map((c) => c.region)).size >= 6, true);
  });

  test('a manager signs in with the demo password and sees only their segments or their own clients', async () => {
    await assert.rejects(authenticate(ctx, DEMO_TEAM[1]!.email, 'wrong-password'), (e) => isServiceError(e) && e.code === 'unauthenticated');
    const head = await authenticate(ctx, DEMO_HEAD_EMAIL, DEMO_PASSWORD);
    assert.equal(head.role, 'head');
    const headSees = await allCounterparties({ ...ctx, actor: userActor(head) });
    assert.equal(headSees.length, summary.counterparties);

    let viaResponsibility = 0;
    for (const member of DEMO_TEAM.filter((m) => m.role === 'manager')) {
      const user = await authenticate(ctx, member.email, DEMO_PASSWORD);
      assert.equal(user.role, 'manager');
      const segments = await getUserSegmentIds(ctx, user.id);
      assert.ok(segments.length >= 1 && segments.length <= 2, `${member.email} works 1–2 segments`);
      const mine = await allCounterparties({ ...ctx, actor: userActor(user) });
      assert.ok(mine.length > 0, `${member.email} sees some clients`);
      assert.ok(mine.length < headSees.length, `${member.email} sees fewer than the head`);
      for (const c of mine) {
        assert.ok(
          (c.segmentId !== null && segments.includes(c.segmentId)) || c.responsibleId === user.id,
          `${member.email} should not see ${c.name}`,
        );
      }
      // and nothing of theirs is hidden from them
      const expected = headSees.filter((c) => (c.segmentId !== null && segments.includes(c.segmentId)) || c.responsibleId === user.id);
      assert.deepEqual(mine.map((c) => c.id).sort((a, b) => a - b), expected.map((c) => c.id).sort((a, b) => a - b));
      viaResponsibility += mine.filter((c) => !(c.segmentId !== null && segments.includes(c.segmentId))).length;
    }
    assert.ok(viaResponsibility > 0, 'some clients are visible only through responsibility');
  });

  test('plan vs actual: every manager has plans for this and last month, and actuals this month', async () => {
    const head = await authenticate(ctx, DEMO_HEAD_EMAIL, DEMO_PASSWORD);
    const headCtx = { ...ctx, actor: userActor(head) };
    const now = ctx.clock.now();
    const current = await planVsActual(headCtx, monthOf(now));
    const managers = current.filter((p) => DEMO_TEAM.some((m) => m.role === 'manager' && m.name === p.userName));
    assert.equal(managers.length, 4);
    for (const p of managers) assert.ok(p.plan && p.plan.dealAmountKopecks > 0n, `${p.userName} has a plan`);
    assert.ok(managers.some((p) => p.actual.dealCount > 0 && p.actual.dealAmountKopecks > 0n), 'won deals this month');
    const { periodStart } = monthOf(now);
    const prevDay = new Date(Date.parse(periodStart + 'T12:00:00Z') - 86_400_000);
    const previous = await planVsActual(headCtx, monthOf(prevDay));
    for (const p of previous.filter((x) => managers.some((m) => m.userId === x.userId))) assert.ok(p.plan, `${p.userName} had a plan last month`);
  });

  test('leads, deals and works cover every state', async () => {
    const leads = await database.rows<{ status: string; source: string; n: number }>(
      sql`SELECT status, source, count(*)::int AS n FROM leads GROUP BY status, source`,
    );
    assert.deepEqual([...new Set(leads.map((l) => l.status))].sort(), ['closed', 'converted', 'in_progress', 'new']);
    assert.equal(new Set(leads.map((l) => l.source)).size, 9);
    const [utm] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE tracking->>'utm_source' = 'yandex' AND campaign_id IS NOT NULL`);
    assert.ok(utm!.n > 0);
    const [vk] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM leads WHERE source = 'social' AND tracking->>'network' = 'vk'`);
    assert.ok(vk!.n > 0);
    const [participants] = await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM lead_participants`);
    assert.ok(participants!.n > 0);
    const [converted] = await database.rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM leads l JOIN deals d ON d.lead_id = l.id WHERE l.status = 'converted'`,
    );
    assert.ok(converted!.n > 0);
    const stages = await database.rows<{ name: string; n: number }>(
      sql`SELECT s.name, count(d.id)::int AS n FROM deal_stages s LEFT JOIN deals d ON d.stage_id = s.id GROUP BY s.name`,
    );
    for (const s of stages) assert.ok(s.n > 0, `deals at stage ${s.name}`);
    const [w] = await database.rows<{ done: number; overdue: number; today: number; followups: number; wrong: number }>(sql`
      SELECT count(*) FILTER (WHERE status = 'done')::int AS done,
             count(*) FILTER (WHERE status = 'planned' AND deadline < now())::int AS overdue,
             count(*) FILTER (WHERE status = 'planned' AND deadline >= now()
               AND (deadline AT TIME ZONE 'Europe/Moscow')::date = (now() AT TIME ZONE 'Europe/Moscow')::date)::int AS today,
             count(*) FILTER (WHERE based_on_id IS NOT NULL)::int AS followups,
             count(*) FILTER (WHERE status = 'done' AND NOT EXISTS (
               SELECT 1 FROM action_results ar WHERE ar.action_id = works.action_id AND ar.result_id = works.actual_result_id))::int AS wrong
      FROM works`);
    assert.ok(w!.done > 0 && w!.overdue > 0 && w!.followups > 0, JSON.stringify(w));
    // due today needs some of today left in Moscow (UTC+3)
    const moscow = new Date(Date.now() + 3 * 3_600_000);
    if (moscow.getUTCHours() * 60 + moscow.getUTCMinutes() < 23 * 60 + 50) assert.ok(w!.today > 0, JSON.stringify(w));
    assert.equal(w!.wrong, 0, 'results are allowed for their actions');
    const [future] = await database.rows<{ n: number }>(sql`
      SELECT (SELECT count(*) FROM counterparties WHERE created_at > now())
           + (SELECT count(*) FROM leads WHERE created_at > now())
           + (SELECT count(*) FROM deals WHERE created_at > now() OR closed_at > now())
           + (SELECT count(*) FROM works WHERE created_at > now() OR completed_at > now())
           + (SELECT count(*) FROM history_events WHERE at > now())::int AS n`);
    assert.equal(Number(future!.n), 0, 'nothing happens in the future');
  });

  test('the seller «ООО «Демо-Продажи»» with a valid bank account, a products book, and deals with line items summing to their amount', async () => {
    const { seller } = await sellerFor(ctx);
    assert.equal(seller.shortName, 'ООО «Демо-Продажи»');
    assert.ok(isValidInn(seller.inn) && isValidKpp(seller.kpp!) && isValidOgrn(seller.ogrn!));
    assert.equal(seller.taxMode, 'osn');
    assert.ok(seller.director && seller.accountant && seller.legalAddress);
    assert.ok(isValidCorrAccount(seller.bank.bik, seller.bank.corrAccount) && isValidSettlementAccount(seller.bank.bik, seller.bank.account));
    const products = await listProducts(ctx);
    assert.ok(products.length >= 8, `${products.length} products`);
    assert.ok(products.some((p) => p.vatRate === null), 'one «без НДС»');
    assert.ok(products.some((p) => p.unit === 'час') && products.some((p) => p.unit === 'шт'));
    const lines = await database.rows<{ deal_id: number; quantity: string; price_kopecks: string | number; discount_percent: string; vat_rate: number | null; amount: string | number }>(sql`
      SELECT l.deal_id, l.quantity::text, l.price_kopecks, l.discount_percent::text, l.vat_rate, d.amount_kopecks AS amount
      FROM deal_lines l JOIN deals d ON d.id = l.deal_id ORDER BY l.deal_id, l.position`);
    const byDeal = new Map<number, { sum: bigint; amount: bigint; n: number }>();
    for (const l of lines) {
      const e = byDeal.get(l.deal_id) ?? { sum: 0n, amount: BigInt(l.amount), n: 0 };
      e.sum += lineSums({ quantity: l.quantity, priceKopecks: BigInt(l.price_kopecks), discountPercent: l.discount_percent, vatRate: l.vat_rate }).amountKopecks;
      e.n++;
      byDeal.set(l.deal_id, e);
    }
    assert.ok(byDeal.size >= 3, `${byDeal.size} deals with lines`);
    for (const [id, e] of byDeal) {
      assert.ok(e.n >= 1 && e.n <= 3, `deal ${id}: ${e.n} lines`);
      assert.equal(e.amount, e.sum, `deal ${id}: the amount is the sum of its lines`);
    }
  });

  test('loading twice is a conflict and adds nothing', async () => {
    const before = await tableCounts();
    await assert.rejects(loadDemoData(ctx), (e) => isServiceError(e) && e.code === 'conflict' && e.message === 'Демо-данные уже загружены');
    assert.deepEqual(await tableCounts(), before);
  });
});
