import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { sql } from 'drizzle-orm';
import { openWorld, type World } from './helpers/world.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import {
  assignMailingType,
  countContacts,
  createMailingType,
  deleteMailingType,
  getMailingType,
  listMailingTypeContacts,
  listMailingTypes,
  removeFromMailingType,
  updateMailingType,
} from '../core/mailing/mailing-types.js';
import { exportMailingTypeXlsx } from '../core/mailing/export.js';
import { listContactsForMailing } from '../core/mailing/contact-list.js';
import { unsubscribes } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';
import type { ServiceContext } from '../core/context.js';
import type { User } from '../core/users/users.js';

/** R19: mailing types, bulk assignment to filtered contacts, and the Excel list for a mailing company. */
let w: World;
let head: User, manager: User;
let segA: number, segB: number;
const ids: Record<string, number> = {};

before(async () => {
  w = await openWorld();
  segA = await w.segment('Опт');
  segB = await w.segment('Розница');
  head = await w.user('head');
  manager = await w.user('manager', { segments: [segA] });
  const cp = async (name: string, kind: 'legal_entity' | 'individual', segmentId: number, region: string) =>
    (await createCounterparty(w.system, { kind, name, segmentId, region })).id;
  const opt1 = await cp('ООО Оптовик', 'legal_entity', segA, 'Москва');
  const opt2 = await cp('ООО Склад', 'legal_entity', segA, 'Казань');
  const rozn = await cp('ООО Магазин', 'legal_entity', segB, 'Москва');
  const person = await cp('Орлова Ольга', 'individual', segA, 'Москва');
  for (const [key, name, counterpartyId, emails, phones] of [
    ['anna', 'Анна Оптова', opt1, ['anna@opt.ru', 'anna2@opt.ru'], ['+79160000001']],
    ['boris', 'Борис Складов', opt2, ['boris@sklad.ru'], []],
    ['vera', 'Вера Магазинова', rozn, ['vera@shop.ru'], []],
    ['olga', 'Ольга Орлова', person, ['olga@mail.ru'], ['+79160000004']],
    ['gone', 'Отписавшийся', opt1, ['gone@opt.ru'], []],
  ] as const) {
    ids[key] = (await createContact(w.system, { name, counterpartyId, emails: [...emails], phones: [...phones] })).id;
  }
});
after(() => w.close());

const as = (u: User): ServiceContext => w.as(u);
const refusedWith = (code: string) => (e: unknown) => e instanceof ServiceError && e.code === code;

async function exportRows(ctx: ServiceContext, typeId: number) {
  const out = new PassThrough();
  const [result, bytes] = await Promise.all([exportMailingTypeXlsx(ctx, typeId, out), buffer(out)]);
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes as unknown as ArrayBuffer);
  const sheet = book.worksheets[0]!;
  const rows: string[][] = [];
  sheet.eachRow((row) => rows.push(Array.from(row.values as unknown[]).slice(1).map((v) => (v === undefined || v === null ? '' : String(v)))));
  return { result, header: rows[0]!, rows: rows.slice(1) };
}

describe('the reference book «Тип рассылки»', () => {
  test('add, rename, a clear refusal to delete while contacts are on it, then delete', async () => {
    const t = await createMailingType(as(head), { name: 'Акции', description: 'скидки' });
    await assert.rejects(createMailingType(as(head), { name: 'Акции' }), refusedWith('conflict'));
    await assert.rejects(createMailingType(as(head), { name: ' ' }), refusedWith('invalid'));
    await assert.rejects(createMailingType(as(manager), { name: 'Моя' }), refusedWith('forbidden'));
    await updateMailingType(as(head), t.id, { name: 'Акции и скидки' });
    await assignMailingType(as(head), t.id, { ids: [ids.anna!] });
    await assert.rejects(deleteMailingType(as(head), t.id), (e: unknown) => refusedWith('conflict')(e) && /назначен контактам: 1/.test((e as Error).message));
    assert.equal(await removeFromMailingType(as(head), t.id, 'all'), 1);
    await deleteMailingType(as(head), t.id);
    await assert.rejects(getMailingType(as(head), t.id), refusedWith('not_found'));
  });
});

describe('«Назначить тип рассылки»', () => {
  test('to every contact of legal entities, counted before, in one operation; again adds nothing', async () => {
    const t = await createMailingType(as(head), { name: 'Новости для юрлиц' });
    assert.equal(await countContacts(as(head), { counterpartyKind: 'legal_entity' }), 4);
    assert.equal(await assignMailingType(as(head), t.id, { filter: { counterpartyKind: 'legal_entity' } }), 4);
    assert.equal(await assignMailingType(as(head), t.id, { filter: { counterpartyKind: 'legal_entity' } }), 0);
    const members = await listMailingTypeContacts(as(head), t.id);
    assert.deepEqual(members.map((m) => m.name).sort(), ['Анна Оптова', 'Борис Складов', 'Вера Магазинова', 'Отписавшийся']);
  });

  test('by segment and region, and to selected contacts', async () => {
    const t = await createMailingType(as(head), { name: 'Москва, опт' });
    assert.equal(await countContacts(as(head), { segmentId: segA, region: 'москва' }), 3);
    assert.equal(await assignMailingType(as(head), t.id, { filter: { segmentId: segA, region: 'Москва' } }), 3);
    const t2 = await createMailingType(as(head), { name: 'Выбранные' });
    assert.equal(await assignMailingType(as(head), t2.id, { ids: [ids.boris!, ids.vera!] }), 2);
    await assert.rejects(assignMailingType(as(head), t2.id, { ids: [] }), refusedWith('invalid'));
    const { items } = await listContactsForMailing(as(head), { text: 'Борис' });
    assert.deepEqual(items[0]!.mailingTypes, ['Выбранные', 'Новости для юрлиц']);
  });

  test('a manager assigns and sees only the contacts of their segments', async () => {
    const t = await createMailingType(as(head), { name: 'Менеджерская' });
    assert.equal(await countContacts(as(manager), {}), 4, 'contacts of segment «Опт» only');
    assert.equal(await assignMailingType(as(manager), t.id, { ids: [ids.vera!, ids.anna!] }), 1, 'Вера is outside the segment and is not touched');
    assert.equal(await assignMailingType(as(manager), t.id, { filter: {} }), 3);
    await assignMailingType(as(head), t.id, { ids: [ids.vera!] });
    assert.equal((await listMailingTypeContacts(as(manager), t.id)).length, 4);
    assert.equal((await listMailingTypeContacts(as(head), t.id)).length, 5);
    assert.equal((await listMailingTypes(as(manager))).find((x) => x.id === t.id)!.contacts, 4);
    const { rows } = await exportRows(as(manager), t.id);
    assert.ok(!rows.some((r) => r[1] === 'Вера Магазинова'), 'the export applies the same access rules');
    assert.equal(await removeFromMailingType(as(manager), t.id, 'all'), 4, 'only their own are taken off');
    assert.equal((await listMailingTypeContacts(as(head), t.id)).length, 1);
  });
});

describe('export to Excel', () => {
  test('the .xlsx lists the contacts with counterparty, INN and region; unsubscribed addresses are left out', async () => {
    const t = await createMailingType(as(head), { name: 'Выгрузка' });
    await assignMailingType(as(head), t.id, { filter: { segmentId: segA } });
    await w.system.db.insert(unsubscribes).values([{ email: 'gone@opt.ru', mailingTypeId: t.id }, { email: 'anna2@opt.ru', mailingTypeId: null }]);
    const { result, header, rows } = await exportRows(as(head), t.id);
    assert.deepEqual(header, ['№ контакта', 'ФИО', 'Должность', 'E-mail', 'Телефон', 'Другие e-mail и телефоны', 'Контрагент', 'ИНН', 'Вид', 'Регион']);
    assert.deepEqual(result, { rows: 3, unsubscribed: 1, withoutEmail: 0 });
    const anna = rows.find((r) => r[1] === 'Анна Оптова')!;
    assert.deepEqual([anna[3], anna[4], anna[5], anna[6], anna[8], anna[9]], ['anna@opt.ru', '+7 916 000 00 01', '', 'ООО Оптовик', 'Юридическое лицо', 'Москва']);
    assert.ok(!rows.some((r) => r[1] === 'Отписавшийся'));
    assert.ok(rows.some((r) => r[1] === 'Ольга Орлова' && r[8] === 'Физическое лицо'));
  });

  test('a list longer than one page is written page by page, every row once', async () => {
    const t = await createMailingType(as(head), { name: 'Большая' });
    await w.database.rows(sql`INSERT INTO contacts (name, emails) SELECT 'Подписчик ' || g, ARRAY['sub' || g || '@list.ru'] FROM generate_series(1, 4500) g`);
    await w.database.rows(sql`INSERT INTO contact_mailing_types (contact_id, mailing_type_id) SELECT id, ${t.id} FROM contacts WHERE name LIKE 'Подписчик %'`);
    const { result, rows } = await exportRows(as(head), t.id);
    assert.equal(result.rows, 4500);
    assert.equal(new Set(rows.map((r) => r[0])).size, 4500);
    assert.equal(rows.at(-1)![3], 'sub4500@list.ru');
  });
});
