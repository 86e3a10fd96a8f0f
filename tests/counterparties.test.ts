import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { getHistory } from '../core/history/history.js';
import { openWorld, randomInn, randomOgrn, type World } from './helpers/world.js';
import {
  assignSegment,
  countCounterparties,
  createCounterparty,
  getCounterparty,
  listCounterparties,
  updateCounterparty,
} from '../core/counterparties/counterparties.js';
import { createContact, listContacts } from '../core/contacts/contacts.js';
import { search } from '../core/search/search.js';
import { ServiceError } from '../core/errors.js';

let w: World;
before(async () => (w = await openWorld()));
after(() => w.close());

const count = async (table: string) => (await w.database.rows<{ n: number }>(sql.raw(`SELECT count(*)::int AS n FROM ${table}`)))[0]!.n;

describe('counterparties', () => {
  test('a legal entity, a sole proprietor and an individual are created with their details', async () => {
    const le = await createCounterparty(w.system, {
      kind: 'legal_entity',
      name: 'ООО «Ромашка»',
      inn: '7707083893',
      kpp: '773601001',
      ogrn: '1027700132195',
      region: 'Москва',
      industry: 'Розничная торговля',
      headcount: 120,
      capital: '1 000 000,50',
      phones: ['8 (495) 111-22-33'],
      emails: ['Info@Romashka.RU'],
    });
    assert.equal(le.capitalKopecks, 100000050n);
    assert.deepEqual(le.phones, ['+74951112233']);
    assert.deepEqual(le.emails, ['info@romashka.ru']);
    const ip = await createCounterparty(w.system, { kind: 'sole_proprietor', name: 'ИП Иванов И.И.', inn: randomInn('sole_proprietor'), ogrn: randomOgrn('sole_proprietor') });
    assert.equal(ip.kind, 'sole_proprietor');
    const person = await createCounterparty(w.system, { kind: 'individual', name: 'Петров Пётр Петрович', inn: randomInn('individual') });
    assert.equal(person.kind, 'individual');
    assert.equal((await getCounterparty(w.system, le.id)).name, 'ООО «Ромашка»');
  });

  test('bad details are refused with the field names and nothing is written', async () => {
    const before = await count('counterparties');
    const auditBefore = await count('audit_log');
    await assert.rejects(
      createCounterparty(w.system, { kind: 'legal_entity', name: '', inn: '7707083894', ogrn: '1027700132196', phones: ['123'], emails: ['не-почта'] }),
      (e: ServiceError) => {
        assert.equal(e.code, 'invalid');
        assert.deepEqual(Object.keys(e.fields).sort(), ['emails.0', 'inn', 'name', 'ogrn', 'phones.0']);
        return true;
      },
    );
    // a 12-digit INN belongs to a person, not an organisation
    await assert.rejects(createCounterparty(w.system, { kind: 'legal_entity', name: 'X', inn: randomInn('individual') }), (e: ServiceError) => 'inn' in e.fields);
    await assert.rejects(createCounterparty(w.system, { kind: 'individual', name: 'X', kpp: '773601001' }), (e: ServiceError) => 'kpp' in e.fields);
    await assert.rejects(createCounterparty(w.system, { kind: 'individual', name: 'X', ogrn: randomOgrn('legal_entity') }), (e: ServiceError) => 'ogrn' in e.fields);
    await assert.rejects(createCounterparty(w.system, { kind: 'robot' as 'individual', name: 'X' }), (e: ServiceError) => 'kind' in e.fields);
    assert.equal(await count('counterparties'), before);
    assert.equal(await count('audit_log'), auditBefore);
  });

  test('an edit is validated the same way and leaves an audit row of what changed', async () => {
    const c = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Старое имя»' });
    const after = await updateCounterparty(w.system, c.id, { name: 'ООО «Новое имя»', headcount: 10 });
    assert.equal(after.name, 'ООО «Новое имя»');
    await assert.rejects(updateCounterparty(w.system, c.id, { inn: '123' }), (e: ServiceError) => e.code === 'invalid' && 'inn' in e.fields);
    const rows = await w.database.rows<{ changes: Record<string, { from: unknown; to: unknown }> }>(
      sql`SELECT changes FROM audit_log WHERE entity_type = 'counterparty' AND entity_id = ${c.id} AND action = 'update'`,
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]!.changes.name, { from: 'ООО «Старое имя»', to: 'ООО «Новое имя»' });
    assert.deepEqual(rows[0]!.changes.headcount, { from: null, to: 10 });
  });
});

describe('one INN, one counterparty', () => {
  test('a second counterparty with the same INN is refused and the first named; a branch with its own KPP is allowed', async () => {
    const inn = randomInn('legal_entity');
    const seg = await w.segment('Сегмент ИНН');
    const first = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Первый»', inn, kpp: '773601001', segmentId: seg });
    const before = await count('counterparties');
    await assert.rejects(
      createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Второй»', inn }),
      (e: ServiceError) => e.code === 'invalid' && e.fields.inn === `уже есть контрагент №${first.id} ООО «Первый» с этим ИНН`,
    );
    await assert.rejects(createCounterparty(w.system, { kind: 'legal_entity', name: 'Тот же КПП', inn, kpp: '773601001' }), (e: ServiceError) => 'inn' in e.fields);
    assert.equal(await count('counterparties'), before, 'nothing written');
    const branch = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Первый», филиал', inn, kpp: '784201001' });
    assert.equal(branch.inn, inn);
    // an edit onto another's INN is refused too; a manager who does not see the first is told it exists, not whose it is
    const other = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Другой»', inn: randomInn('legal_entity') });
    await assert.rejects(updateCounterparty(w.system, other.id, { inn, kpp: null }), (e: ServiceError) => /№/.test(e.fields.inn ?? ''));
    const m = await w.user('manager');
    await assert.rejects(
      createCounterparty(w.as(m), { kind: 'legal_entity', name: 'ООО «Копия»', inn, kpp: '773601001' }),
      (e: ServiceError) => e.fields.inn === 'контрагент с этим ИНН уже есть в базе, в чужом сегменте: обратитесь к руководителю',
    );
  });
});

describe('search and filters', () => {
  let target: number;
  before(async () => {
    const c = await createCounterparty(w.system, {
      kind: 'legal_entity',
      name: 'ООО «Северсталь-Логистика»',
      inn: '7736207543',
      phones: ['+7 916 555-44-33'],
      emails: ['sales@severlog.ru'],
    });
    target = c.id;
    await createContact(w.system, { name: 'Смирнова Анна', phones: ['8 903 777 66 55'], emails: ['anna@severlog.ru'], counterpartyId: c.id });
  });

  test('finds a counterparty by name, by INN, by phone in another notation and by e-mail', async () => {
    for (const q of ['Северсталь', 'северсталь-логистика', '7736207543', '773620', '8 (916) 555-44-33', '79165554433', 'SALES@severlog.ru']) {
      const r = await search(w.system, q);
      assert.ok(r.counterparties.some((c) => c.id === target), q);
    }
  });

  test('name search tolerates a typo', async () => {
    const r = await search(w.system, 'Северстал Логистик');
    assert.ok(r.counterparties.some((c) => c.id === target));
  });

  test('look-alikes by similarity only when nothing matches as typed', async () => {
    const exact = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Незабудка Север»' });
    const alike = await createCounterparty(w.system, { kind: 'legal_entity', name: 'ООО «Незабудкин Север»' });
    const ids = async (text: string) => (await listCounterparties(w.system, { text })).items.map((c) => c.id).sort((a, b) => a - b);
    assert.deepEqual(await ids('Незабудка Север'), [exact.id], 'the exact match is not buried under look-alikes');
    assert.deepEqual(await ids('Незабутка Север'), [exact.id, alike.id], 'a typo still finds them');
    assert.equal((await search(w.system, 'Незабудка Север')).counterparties.length, 1);
  });

  test('finds a contact by phone in any notation and by e-mail', async () => {
    for (const q of ['+79037776655', '8-903-777-66-55', 'anna@severlog.ru', 'Смирнова']) {
      const r = await search(w.system, q);
      assert.ok(r.contacts.some((c) => c.name === 'Смирнова Анна'), q);
    }
    assert.equal((await listContacts(w.system, { text: '89037776655' })).items.length, 1);
  });

  test('filters on headcount, capital, industry, region, kind and segment, paginated', async () => {
    const region = `Регион ${Date.now()}`;
    for (let i = 0; i < 12; i++) {
      await createCounterparty(w.system, {
        kind: i % 3 === 0 ? 'individual' : 'legal_entity',
        name: `Фирма ${i}`,
        region,
        industry: i % 2 ? 'Строительство' : 'IT',
        headcount: i * 10,
        capital: String(i * 1000),
      });
    }
    const f = { region, headcountMin: 20, headcountMax: 90, industry: 'строительство', kind: 'legal_entity' as const };
    const all = await listCounterparties(w.system, f, { limit: 100, withTotal: true });
    assert.deepEqual(all.items.map((c) => c.name).sort(), ['Фирма 5', 'Фирма 7'].sort());
    assert.equal(all.total, 2);
    const cap = await listCounterparties(w.system, { region, capitalMin: '3000', capitalMax: '5000' });
    assert.deepEqual(cap.items.map((c) => c.name), ['Фирма 3', 'Фирма 4', 'Фирма 5']);
    const page1 = await listCounterparties(w.system, { region }, { limit: 5, sort: 'headcount', desc: true });
    const page2 = await listCounterparties(w.system, { region }, { limit: 5, offset: 5, sort: 'headcount', desc: true });
    assert.equal(page1.items[0]!.name, 'Фирма 11');
    assert.equal(page2.items[0]!.name, 'Фирма 6');
  });

  test('«Назначить сегмент рынка» assigns a segment to every row the filter matches, in one operation', async () => {
    const region = `Сегментация ${Date.now()}`;
    for (let i = 0; i < 5; i++) await createCounterparty(w.system, { kind: 'legal_entity', name: `Завод ${i}`, region, headcount: i * 100 });
    const seg = await w.segment('Крупные заводы');
    const filter = { region, headcountMin: 200 };
    assert.equal(await countCounterparties(w.system, filter), 3);
    assert.equal(await assignSegment(w.system, seg, { filter }), 3);
    assert.equal(await countCounterparties(w.system, { region, segmentId: seg }), 3);
    assert.equal(await countCounterparties(w.system, { region, segmentId: 'none' }), 2);
    // selected rows
    const rest = await listCounterparties(w.system, { region, segmentId: 'none' });
    assert.equal(await assignSegment(w.system, seg, { ids: [rest.items[0]!.id] }), 1);
    assert.equal(await countCounterparties(w.system, { region, segmentId: seg }), 4);
    // each changed counterparty's history says so; one already in the segment is left alone
    const other = await w.segment('Прочие заводы');
    assert.equal(await assignSegment(w.system, other, { filter: { region } }), 5);
    assert.equal(await assignSegment(w.system, other, { filter: { region } }), 0);
    const moved = (await listCounterparties(w.system, { region, headcountMin: 200 })).items[0]!;
    const events = (await getHistory(w.system, 'counterparty', moved.id)).filter((h) => h.kind === 'event').map((h) => h.title);
    assert.deepEqual(events.slice(0, 2), ['Сегмент рынка: Крупные заводы → Прочие заводы', 'Сегмент рынка: без сегмента → Крупные заводы']);
  });

  test('a manager cannot reassign segments', async () => {
    const m = await w.user('manager');
    await assert.rejects(assignSegment(w.as(m), null, { filter: {} }), (e: ServiceError) => e.code === 'forbidden');
  });
});
