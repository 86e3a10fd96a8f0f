import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import { sql } from 'drizzle-orm';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { randomInn } from './helpers/world.js';
import {
  assignSegment,
  createCounterparty,
  getCounterparty,
  listCounterparties,
  previewSegmentAssignment,
  updateCounterparty,
} from '../core/counterparties/counterparties.js';
import { addContactPhone, createContact, getContact } from '../core/contacts/contacts.js';
import { findPossibleDuplicates } from '../core/merge/possible-duplicates.js';
import { normalizePhone, parsePhoneWithExtension } from '../core/validation/phone.js';
import { assignMailingType, createMailingType } from '../core/mailing/mailing-types.js';
import { search } from '../core/search/search.js';
import { ServiceError } from '../core/errors.js';
import type { User } from '../core/users/users.js';

/**
 * Finding people (R8) and mass operations (R7, R19): a counterparty found by its contact's phone
 * or e-mail, phones with an extension, the possible-duplicate warning before saving, what a
 * segment assignment moves, and the mailing export limited to contacts with an e-mail.
 */
let a: AdminApp;
let admin: User, head: User, managerA: User, managerB: User;
let segA: number, segB: number;

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  segA = await a.world.segment('Опт');
  segB = await a.world.segment('Розница');
  admin = await a.world.user('admin', { name: 'Админ' });
  head = await a.world.user('head', { name: 'Руководитель' });
  managerA = await a.world.user('manager', { name: 'Менеджер Опта', segments: [segA] });
  managerB = await a.world.user('manager', { name: 'Менеджер Розницы', segments: [segB] });
});
after(() => a.close());

const rows = async <T extends Record<string, unknown>>(q: ReturnType<typeof sql>) => a.world.database.rows<T>(q);
const signedIn = async (u: User) => {
  const c = new PanelClient(a.app);
  await c.signIn(u.email);
  return c;
};

describe('search by a contact’s phone or e-mail', () => {
  test('finds the company of the contact, for whoever may see it; a manager of another segment does not get it', async () => {
    const cp = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Телефонный след', inn: randomInn('legal_entity'), segmentId: segA });
    await createContact(a.world.system, { name: 'Пётр Секретарёв', counterpartyId: cp.id, phones: ['+7 916 700-10-20'], emails: ['petr@sled.ru'] });
    for (const t of ['8 (916) 700-10-20', '+79167001020', 'Petr@Sled.RU']) {
      const { items } = await listCounterparties(a.world.as(head), { text: t });
      assert.deepEqual(items.map((i) => i.name), ['ООО Телефонный след'], t);
      assert.deepEqual((await listCounterparties(a.world.as(managerA), { text: t })).items.map((i) => i.id), [cp.id], `${t}: own segment`);
      assert.deepEqual((await listCounterparties(a.world.as(managerB), { text: t })).items, [], `${t}: another segment`);
    }
    assert.deepEqual((await search(a.world.as(head), '89167001020')).counterparties.map((c) => c.id), [cp.id], '/find too');

    const c = await signedIn(managerA);
    const page = await c.get('/admin/counterparties?text=' + encodeURIComponent('8 916 700 10 20'));
    assert.match(text(page.body), /ООО Телефонный след/);
    const other = await signedIn(managerB);
    const hidden = await other.get('/admin/counterparties?text=petr%40sled.ru');
    assert.doesNotMatch(text(hidden.body), /Телефонный след/);
    assert.match(text(hidden.body), /Ничего не найдено/);
  });
});

describe('phones with an extension', () => {
  test('the notations people write are read; the number is E.164 and the extension apart', () => {
    const valid: [string, string, string | undefined][] = [
      ['8 (495) 123-45-67 доб. 12', '+74951234567', '12'],
      ['+7 495 1234567 ext 12', '+74951234567', '12'],
      ['8 495 123-45-67 доб.12', '+74951234567', '12'],
      ['+7 (495) 123-45-67 #12', '+74951234567', '12'],
      ['8-495-123-45-67 добавочный 345', '+74951234567', '345'],
      ['+7 495 123 45 67 (доб. 7)', '+74951234567', '7'],
      ['+7 495 123 45 67 ext. 1234', '+74951234567', '1234'],
      ['8 (916) 123-45-67', '+79161234567', undefined],
    ];
    for (const [input, e164, extension] of valid) assert.deepEqual(parsePhoneWithExtension(input), extension ? { e164, extension } : { e164 }, input);
    for (const input of ['8 (495) 123-45-67 доб.', '8 (495) 123-45-67 доб. двенадцать', '12345 доб. 12', '+7 495 123 45 67 доб. 123456789', 'доб. 12', '', 'не телефон']) {
      assert.equal(parsePhoneWithExtension(input), null, input);
    }
    assert.equal(normalizePhone('8 (495) 123-45-67 доб. 12'), '+74951234567', 'the number alone matches');
  });

  test('contacts and counterparties keep the extension; the forms show it back; a bad one is refused in Russian', async () => {
    const cp = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Добавочный', phones: ['8 (495) 222-33-44 доб. 101', '8 916 222 33 44'] });
    assert.deepEqual(cp.phones, ['+74952223344', '+79162223344']);
    assert.deepEqual(cp.phoneExtensions, { '+74952223344': '101' });
    const ct = await createContact(a.world.system, { name: 'Ирина Приёмная', counterpartyId: cp.id, phones: ['+7 495 1234567 ext 12'] });
    assert.deepEqual([ct.phones, ct.phoneExtensions], [['+74951234567'], { '+74951234567': '12' }]);
    const more = await addContactPhone(a.world.system, ct.id, '8 (495) 765-43-21 #5');
    assert.deepEqual(more.phoneExtensions, { '+74951234567': '12', '+74957654321': '5' }, 'adding one keeps the others');
    const renamed = await updateCounterparty(a.world.system, cp.id, { name: 'ООО Добавочный и партнёры' });
    assert.deepEqual(renamed.phoneExtensions, { '+74952223344': '101' }, 'untouched phones keep theirs');
    await assert.rejects(
      updateCounterparty(a.world.system, cp.id, { phones: ['8 (495) 222-33-44 доб.'] }),
      (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && /неверный номер телефона/.test(e.fields['phones.0'] ?? ''),
    );
    assert.deepEqual((await getCounterparty(a.world.system, cp.id)).phoneExtensions, { '+74952223344': '101' }, 'nothing changed');

    const c = await signedIn(admin);
    const form = await c.get(`/admin/counterparties/${cp.id}/edit`);
    assert.match(form.body, /\+7 495 222 33 44 доб\. 101/);
    const saved = await c.post(`/admin/counterparties/${cp.id}`, { kind: 'legal_entity', name: 'ООО Добавочный и партнёры', phones: '+7 495 222 33 44 доб. 202\n8 916 222 33 44' });
    assert.equal(saved.statusCode, 303);
    const after = await getCounterparty(a.world.system, cp.id);
    assert.deepEqual(after.phoneExtensions, { '+74952223344': '202' });
    const [h] = await rows<{ summary: string }>(sql`SELECT summary FROM history_events WHERE entity_type = 'counterparty' AND entity_id = ${cp.id} AND kind = 'phones_changed'`);
    assert.match(h!.summary, /доб\. 101.*→.*доб\. 202/);
    const bad = await c.post(`/admin/counterparties/${cp.id}`, { kind: 'legal_entity', name: 'ООО Добавочный и партнёры', phones: '8 495 222 33 44 доб. abc' });
    assert.equal(bad.statusCode, 400);
    assert.match(text(bad.body), /неверный номер телефона/);
  });
});

describe('possible duplicates before saving (R8)', () => {
  let taken: { cpId: number; contactId: number };
  before(async () => {
    const cp = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Уже в базе', segmentId: segB, phones: ['+7 903 100-00-01'] });
    const ct = await createContact(a.world.system, { name: 'Семён Занятов', counterpartyId: cp.id, phones: ['+7 903 100-00-02'], emails: ['semen@zanyat.ru'] });
    taken = { cpId: cp.id, contactId: ct.id };
  });

  test('the verb names what the actor may see and only says the rest exists', async () => {
    const seen = await findPossibleDuplicates(a.world.as(head), { phones: ['8 903 100 00 01', '8 (903) 100-00-02 доб. 5'], emails: ['SEMEN@zanyat.ru'] });
    assert.deepEqual(
      seen.map((d) => [d.kind, d.id, d.name, d.visible]),
      [
        ['counterparty', taken.cpId, 'ООО Уже в базе', true],
        ['contact', taken.contactId, 'Семён Занятов', true],
      ],
    );
    assert.match(seen[1]!.matched, /\+7 903 100 00 02, semen@zanyat\.ru/);
    const hidden = await findPossibleDuplicates(a.world.as(managerA), { phones: ['89031000001'] });
    assert.deepEqual(hidden, [{ kind: 'counterparty', id: 0, name: '', matched: '+7 903 100 00 01', visible: false }]);
    assert.deepEqual(await findPossibleDuplicates(a.world.as(head), { phones: ['89031000002'], excludeCounterpartyId: taken.cpId }), [], 'its own contact is not a duplicate of a company');
    assert.deepEqual(await findPossibleDuplicates(a.world.as(head), { phones: ['не телефон'], emails: [] }), []);
  });

  test('the new counterparty form warns with links, saves nothing, and saves with «Всё равно сохранить»', async () => {
    const c = await signedIn(head);
    await c.get('/admin/counterparties/new');
    const form = { kind: 'legal_entity', name: 'ООО Второй раз', phones: '8 (903) 100-00-02', emails: '' };
    const warned = await c.post('/admin/counterparties', form);
    assert.equal(warned.statusCode, 400);
    assert.match(text(warned.body), /Похоже, такой клиент уже есть в базе/);
    assert.match(warned.body, new RegExp(`href="/admin/contacts/${taken.contactId}">Семён Занятов</a>`));
    assert.match(warned.body, /name="confirmDuplicates"/);
    assert.match(warned.body, /value="ООО Второй раз"/, 'the typed values stay in the form');
    assert.equal((await rows(sql`SELECT id FROM counterparties WHERE name = 'ООО Второй раз'`)).length, 0, 'nothing saved');
    const saved = await c.post('/admin/counterparties', { ...form, confirmDuplicates: '1' });
    assert.equal(saved.statusCode, 303);
    const [row] = await rows<{ id: number; phones: string[] }>(sql`SELECT id, phones FROM counterparties WHERE name = 'ООО Второй раз'`);
    assert.deepEqual(row!.phones, ['+79031000002']);

    // the edit form checks only what is newly typed
    const id = Number(row!.id);
    const again = await c.post(`/admin/counterparties/${id}`, { ...form, name: 'ООО Второй раз (правка)' });
    assert.equal(again.statusCode, 303, 'the stored phone was confirmed already');
    const added = await c.post(`/admin/counterparties/${id}`, { ...form, emails: 'semen@zanyat.ru' });
    assert.equal(added.statusCode, 400);
    assert.match(text(added.body), /Семён Занятов/);
    assert.deepEqual((await getCounterparty(a.world.system, id)).emails, []);
  });

  test('adding a contact on a card and editing a contact warn the same way before saving', async () => {
    const c = await signedIn(head);
    const home = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Куда добавляем' });
    await c.get(`/admin/counterparties/${home.id}?tab=contacts`);
    const form = { name: 'Семён Второй', position: '', phones: '8 903 100 00 02', emails: '' };
    const warned = await c.post(`/admin/counterparties/${home.id}/contacts`, form);
    assert.equal(warned.statusCode, 400);
    assert.match(warned.body, new RegExp(`href="/admin/contacts/${taken.contactId}">Семён Занятов</a>`));
    assert.equal((await rows(sql`SELECT id FROM contacts WHERE name = 'Семён Второй'`)).length, 0, 'nothing saved');
    const saved = await c.post(`/admin/counterparties/${home.id}/contacts`, { ...form, confirmDuplicates: '1' });
    assert.equal(saved.statusCode, 303);
    const [added] = await rows<{ id: number }>(sql`SELECT id FROM contacts WHERE name = 'Семён Второй'`);
    assert.ok(added, 'saved after confirming');

    const other = await createContact(a.world.system, { name: 'Ольга Новая', counterpartyId: home.id, phones: ['+7 903 555-00-01'] });
    await c.get(`/admin/contacts/${other.id}`);
    const edit = { name: 'Ольга Новая', position: '', phones: '+7 903 555-00-01\n8 903 100 00 01', emails: '', comment: '' };
    const editWarned = await c.post(`/admin/contacts/${other.id}`, edit);
    assert.equal(editWarned.statusCode, 400);
    assert.match(text(editWarned.body), /Похоже, такой клиент уже есть в базе/);
    assert.deepEqual((await getContact(a.world.system, other.id)).phones, ['+79035550001'], 'nothing changed');
    assert.equal((await c.post(`/admin/contacts/${other.id}`, { ...edit, confirmDuplicates: '1' })).statusCode, 303);
    assert.deepEqual((await getContact(a.world.system, other.id)).phones, ['+79035550001', '+79031000001']);
  });

  test('a manager learns the client is «уже есть у другого менеджера», not whose it is', async () => {
    const c = await signedIn(managerA);
    await c.get('/admin/counterparties/new');
    const res = await c.post('/admin/counterparties', { kind: 'legal_entity', name: 'ООО Чужой клиент', phones: '+7 903 100-00-01', emails: 'semen@zanyat.ru' });
    assert.equal(res.statusCode, 400);
    const page = text(res.body);
    assert.match(page, /Контрагент уже есть у другого менеджера/);
    assert.match(page, /Контакт уже есть у другого менеджера/);
    assert.doesNotMatch(page, /Уже в базе|Занятов/);
    assert.doesNotMatch(res.body, new RegExp(`/admin/(counterparties|contacts)/(${taken.cpId}|${taken.contactId})"`));
  });

  test('the new lead form warns the same way; confirming creates the lead on the known contact', async () => {
    const c = await signedIn(head);
    await c.get('/admin/leads/new');
    const form = { name: 'Семён', phone: '8 903 100 00 02 доб. 7', email: '', company: '', comment: 'перезвонить' };
    const warned = await c.post('/admin/leads', form);
    assert.equal(warned.statusCode, 400);
    assert.match(text(warned.body), /Похоже, такой клиент уже есть в базе/);
    assert.match(text(warned.body), /лид привяжется к найденному контакту/);
    assert.equal((await rows(sql`SELECT id FROM leads WHERE comment = 'перезвонить'`)).length, 0);
    const saved = await c.post('/admin/leads', { ...form, confirmDuplicates: '1' });
    assert.equal(saved.statusCode, 303);
    const [lead] = await rows<{ contact_id: number }>(sql`SELECT contact_id FROM leads WHERE comment = 'перезвонить'`);
    assert.equal(Number(lead!.contact_id), taken.contactId);

    // a new person with an extension: no warning, the extension kept on the new contact
    const fresh = await c.post('/admin/leads', { name: 'Новый Клиентов', phone: '8 (495) 300-20-10 доб. 44', email: '', company: '', comment: '' });
    assert.equal(fresh.statusCode, 303);
    const [ct] = await rows<{ id: number }>(sql`SELECT id FROM contacts WHERE name = 'Новый Клиентов'`);
    assert.deepEqual((await getContact(a.world.system, Number(ct!.id))).phoneExtensions, { '+74953002010': '44' });
    const bad = await c.post('/admin/leads', { name: 'Кто-то', phone: '12345', email: '', company: '', comment: '' });
    assert.equal(bad.statusCode, 400);
    assert.match(text(bad.body), /неверный номер телефона/);
  });
});

describe('«Назначить сегмент рынка»: what moves before confirming', () => {
  test('the preview counts who leaves which segment; «только без сегмента» moves nobody out', async () => {
    const region = 'Сегментово';
    const mk = async (name: string, segmentId: number | null) =>
      (await createCounterparty(a.world.system, { kind: 'legal_entity', name, region, segmentId, inn: randomInn('legal_entity') })).id;
    const seg3 = await a.world.segment('Сети');
    await mk('ООО Опт-1', segA);
    await mk('ООО Опт-2', segA);
    await mk('ООО Розница-1', segB);
    await mk('ООО Ничей-1', null);
    await mk('ООО Ничей-2', null);
    await mk('ООО Ничей-3', null);
    await mk('ООО Уже сеть', seg3);
    assert.deepEqual(await previewSegmentAssignment(a.world.as(head), seg3, { filter: { region } }), {
      total: 7,
      leaving: [
        { segmentId: segA, name: 'Опт', count: 2 },
        { segmentId: segB, name: 'Розница', count: 1 },
      ],
      withoutSegment: 3,
      alreadyThere: 1,
    });
    await assert.rejects(previewSegmentAssignment(a.world.as(managerA), seg3, { filter: { region } }), (e: unknown) => e instanceof ServiceError && e.code === 'forbidden');

    const c = await signedIn(head);
    const page = await c.get(`/admin/counterparties/assign-segment?region=${encodeURIComponent(region)}&segmentId_assign=${seg3}&target=filter`);
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /2 уйдут из сегмента «Опт», 1 — из «Розница»; 3 без сегмента; 1 уже в «Сети»/);
    assert.match(text(page.body), /Только без сегмента \(3\)/);
    assert.equal((await rows(sql`SELECT id FROM counterparties WHERE region = ${region} AND segment_id = ${seg3}`)).length, 1, 'nothing moved yet');

    const done = await c.submit('/admin/counterparties/assign-segment', { region, segmentId_assign: String(seg3), target: 'filter', only: 'without' });
    assert.match(text(done.body), /Сегмент назначен: 3 контрагента/);
    const after = await rows<{ name: string; segment_id: number | null }>(sql`SELECT name, segment_id FROM counterparties WHERE region = ${region} ORDER BY name`);
    assert.deepEqual(
      after.map((r) => [r.name, r.segment_id === null ? null : Number(r.segment_id)]),
      [
        ['ООО Ничей-1', seg3],
        ['ООО Ничей-2', seg3],
        ['ООО Ничей-3', seg3],
        ['ООО Опт-1', segA],
        ['ООО Опт-2', segA],
        ['ООО Розница-1', segB],
        ['ООО Уже сеть', seg3],
      ],
    );
    // then everyone: the rest leave their segments, each with a history line
    assert.equal(await assignSegment(a.world.as(head), seg3, { filter: { region } }), 3);
    const [h] = await rows<{ summary: string }>(sql`SELECT h.summary FROM history_events h JOIN counterparties c ON c.id = h.entity_id
      WHERE h.entity_type = 'counterparty' AND c.name = 'ООО Розница-1' AND h.kind = 'segment_changed' ORDER BY h.id DESC LIMIT 1`);
    assert.equal(h!.summary, 'Сегмент рынка: Розница → Сети');
  });
});

describe('mailing export «только с e-mail»', () => {
  test('on by default: contacts without an e-mail are left out and counted; off: they are in the file', async () => {
    const t = await createMailingType(a.world.system, { name: 'Новости' });
    const ids: number[] = [];
    for (const [name, emails, phones] of [
      ['С почтой 1', ['one@mail.ru'], []],
      ['С почтой 2', ['two@mail.ru'], ['+79165550002']],
      ['Без почты 1', [], ['+79165550003']],
      ['Без почты 2', [], ['8 (495) 555-00-04 доб. 9']],
    ] as const) {
      ids.push((await createContact(a.world.system, { name, emails: [...emails], phones: [...phones] })).id);
    }
    await assignMailingType(a.world.system, t.id, { ids });

    const c = await signedIn(head);
    const page = await c.get(`/admin/mailing-types/${t.id}`);
    assert.match(text(page.body), /Без e-mail: 2 контакта из 4/);
    assert.match(page.body, /name="onlyWithEmail" value="1" checked/);

    const read = async (url: string) => {
      const res = await c.get(url);
      assert.equal(res.statusCode, 200);
      const book = new ExcelJS.Workbook();
      await book.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
      const names: string[] = [];
      book.worksheets[0]!.eachRow((row, n) => void (n > 1 && names.push(String(row.getCell(2).value))));
      const summary: string[] = [];
      book.getWorksheet('Итог')!.eachRow((row, n) => void (n > 1 && summary.push(`${String(row.getCell(1).value)}: ${String(row.getCell(2).value)}`)));
      return { names: names.sort(), summary, book };
    };
    const byDefault = await read(`/admin/mailing-types/${t.id}/export.xlsx`);
    assert.deepEqual(byDefault.names, ['С почтой 1', 'С почтой 2']);
    assert.deepEqual(byDefault.summary, ['Выгружено: 2', 'Без e-mail (не выгружены): 2', 'Отписались от рассылки (не выгружены): 0']);
    const checked = await read(`/admin/mailing-types/${t.id}/export.xlsx?form=1&onlyWithEmail=1`);
    assert.deepEqual(checked.names, ['С почтой 1', 'С почтой 2']);
    const all = await read(`/admin/mailing-types/${t.id}/export.xlsx?form=1`);
    assert.deepEqual(all.names, ['Без почты 1', 'Без почты 2', 'С почтой 1', 'С почтой 2']);
    assert.deepEqual(all.summary, ['Выгружено: 4', 'Без e-mail (выгружены с телефоном): 2', 'Отписались от рассылки (не выгружены): 0']);
    let phone = '';
    all.book.worksheets[0]!.eachRow((row) => void (row.getCell(2).value === 'Без почты 2' && (phone = String(row.getCell(5).value))));
    assert.equal(phone, '+7 495 555 00 04 доб. 9');

    // a manager exports only what they may see: these contacts have no company, so none
    const m = await signedIn(managerA);
    const res = await m.get(`/admin/mailing-types/${t.id}`);
    assert.match(text(res.body), /У всех контактов рассылки есть e-mail/);
  });
});
