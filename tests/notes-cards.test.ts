import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { fixedClock, randomInn } from './helpers/world.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact, getContact } from '../core/contacts/contacts.js';
import { closeLead, createLead, getLead, setLeadInProgress, updateLead } from '../core/leads/leads.js';
import { findOrCreateCampaign } from '../core/leads/campaigns.js';
import { createDeal } from '../core/deals/deals.js';
import { listLossReasons } from '../core/deals/loss-reasons.js';
import { cancelWork, completeWork, createWork } from '../core/works/works.js';
import { listActions } from '../core/works/actions.js';
import { getHistory } from '../core/history/history.js';
import { addNote, deleteNote, listNotes, updateNote } from '../core/notes/notes.js';
import { emails } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';

/**
 * R12: notes on every record with their author, the card as a working feed of tabs, the lead card's
 * edit and close with a reason, and a history that names who really did it.
 */
const clock = fixedClock('2026-11-20T09:00:00Z');
const tick = (minutes = 1) => clock.set(new Date(clock.now().getTime() + minutes * 60_000));
const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const fieldError = (field: string, message: RegExp) => (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && message.test(e.fields[field] ?? '');

let a: AdminApp;
let admin: User, head: User, petrov: User, ivanova: User, stranger: User;
let cpA: number, cpB: number, contactA: number, leadA: number, dealA: number;

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  // the panel and the verbs read the same movable clock
  (a.world.clock as unknown as { now: () => Date }).now = () => clock.now();
  const segA = await a.world.segment('Сегмент А');
  const segB = await a.world.segment('Сегмент Б');
  admin = await a.world.user('admin', { name: 'Админ' });
  head = await a.world.user('head', { name: 'Руководитель' });
  petrov = await a.world.user('manager', { name: 'Петров', segments: [segA] });
  ivanova = await a.world.user('manager', { name: 'Иванова', segments: [segA] });
  stranger = await a.world.user('manager', { name: 'Чужой', segments: [segB] });
  const sys = a.world.system;
  cpA = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Заметки»', inn: randomInn('legal_entity'), segmentId: segA, phones: ['+7 495 123-45-67'], emails: ['info@notes.example'] })).id;
  cpB = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Чужой сегмент»', inn: randomInn('legal_entity'), segmentId: segB })).id;
  contactA = (await createContact(sys, { name: 'Ольга Заметкина', counterpartyId: cpA, phones: ['+7 916 111-22-33'], emails: ['olga@notes.example'] })).id;
  leadA = (await createLead(sys, { title: 'Окна в офис', source: 'website', counterpartyId: cpA, contactId: contactA, responsibleId: petrov.id })).id;
  dealA = (await createDeal(sys, { title: 'Поставка окон', counterpartyId: cpA, contactId: contactA, responsibleId: petrov.id, amount: '1000' })).id;
});
after(() => a.close());

describe('notes (core)', () => {
  test('a note on each kind of record, with its author in the history; a lead\'s note rolls up to its counterparty and contact', async () => {
    const as = a.world.as(petrov);
    for (const [entity, id] of [['counterparty', cpA], ['contact', contactA], ['lead', leadA], ['deal', dealA]] as const) {
      tick();
      const note = await addNote(as, entity, id, `  Заметка про ${entity}\nвторая строка  `);
      assert.equal(note.text, `Заметка про ${entity}\nвторая строка`);
      assert.equal(note.authorUserId, petrov.id);
      const [listed] = await listNotes(as, entity, id);
      assert.deepEqual([listed!.id, listed!.authorName], [note.id, 'Петров']);
      const [top] = await getHistory(as, entity, id);
      assert.deepEqual([top!.kind, top!.title, top!.text, top!.actor], ['note', 'Заметка', note.text, 'Петров']);
    }
    const ofCounterparty = (await getHistory(as, 'counterparty', cpA)).filter((i) => i.kind === 'note');
    assert.deepEqual(
      ofCounterparty.map((i) => i.title),
      [`Заметка (сделка №${dealA})`, `Заметка (лид №${leadA})`, `Заметка (контакт №${contactA})`, 'Заметка'],
    );
    const ofContact = (await getHistory(as, 'contact', contactA)).filter((i) => i.kind === 'note');
    assert.equal(ofContact.length, 3, 'its own, its lead\'s and its deal\'s');
  });

  test('an empty or overlong note is refused in Russian and nothing is written', async () => {
    const as = a.world.as(petrov);
    const before = (await listNotes(as, 'lead', leadA)).length;
    await assert.rejects(addNote(as, 'lead', leadA, '   \u0000 '), fieldError('text', /напишите заметку/));
    await assert.rejects(addNote(as, 'lead', leadA, 'я'.repeat(4001)), fieldError('text', /4000/));
    await assert.rejects(addNote(as, 'task' as never, leadA, 'текст'), code('invalid'));
    assert.equal((await listNotes(as, 'lead', leadA)).length, before);
  });

  test('R3: another segment\'s manager cannot note, list or read the history of the record', async () => {
    const as = a.world.as(stranger);
    for (const [entity, id] of [['counterparty', cpA], ['contact', contactA], ['lead', leadA], ['deal', dealA]] as const) {
      await assert.rejects(addNote(as, entity, id, 'чужая заметка'), code('forbidden'), entity);
      await assert.rejects(listNotes(as, entity, id), code('forbidden'), entity);
      await assert.rejects(getHistory(as, entity, id), code('forbidden'), entity);
    }
    const [row] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM notes WHERE text = 'чужая заметка'`);
    assert.equal(row!.n, 0);
    // their own records take notes as usual
    assert.ok(await addNote(as, 'counterparty', cpB, 'своя заметка'));
  });

  test('only the author (or the head) edits or deletes a note; the history says what it was', async () => {
    const note = await addNote(a.world.as(petrov), 'deal', dealA, 'Клиент просит скидку 5%');
    await assert.rejects(updateNote(a.world.as(ivanova), note.id, 'переписала'), code('forbidden'));
    await assert.rejects(deleteNote(a.world.as(ivanova), note.id), code('forbidden'));
    await assert.rejects(updateNote(a.world.as(stranger), note.id, 'чужой'), code('forbidden'));
    await assert.rejects(updateNote(a.world.as(petrov), note.id, ''), fieldError('text', /напишите заметку/));
    assert.equal((await listNotes(a.world.as(petrov), 'deal', dealA)).find((n) => n.id === note.id)!.text, 'Клиент просит скидку 5%');
    tick();
    const edited = await updateNote(a.world.as(petrov), note.id, 'Клиент просит скидку 7%');
    assert.equal(edited.text, 'Клиент просит скидку 7%');
    assert.ok(edited.updatedAt);
    const [event] = (await getHistory(a.world.as(petrov), 'deal', dealA)).filter((i) => i.kind === 'event');
    assert.equal(event!.title, 'Заметка сделки изменена: «Клиент просит скидку 5%» → «Клиент просит скидку 7%»');
    assert.equal(event!.actor, 'Петров');
    tick();
    await deleteNote(a.world.as(head), note.id);
    assert.ok(!(await listNotes(a.world.as(petrov), 'deal', dealA)).some((n) => n.id === note.id));
    await assert.rejects(deleteNote(a.world.as(petrov), note.id), code('not_found'));
  });
});

describe('history names who did it', () => {
  test('a work of Петров completed by the head: the head is the actor, Петров stays responsible', async () => {
    const call = (await listActions(a.world.system)).find((x) => x.name === 'Позвонить')!;
    const reached = call.results.find((r) => r.name === 'Дозвонился')!;
    const work = await createWork(a.world.as(petrov), { actionId: call.id, deadline: clock.now(), counterpartyId: cpA, comment: 'уточнить размеры' });
    tick();
    const done = await completeWork(a.world.as(head), work.id, { resultId: reached.id, comment: 'размеры прислали' });
    assert.equal(done.responsibleId, petrov.id);
    const item = (await getHistory(a.world.as(petrov), 'counterparty', cpA)).find((i) => i.kind === 'work' && i.id === work.id)!;
    assert.equal(item.title, 'Позвонить — выполнено: Дозвонился');
    assert.equal(item.actor, 'Руководитель');
    assert.equal(item.text, 'размеры прислали · ответственный: Петров');

    const second = await createWork(a.world.as(petrov), { actionId: call.id, deadline: clock.now(), counterpartyId: cpA });
    tick();
    await cancelWork(a.world.as(petrov), second.id, { reason: 'клиент в отпуске' });
    const cancelled = (await getHistory(a.world.as(petrov), 'counterparty', cpA)).find((i) => i.kind === 'work' && i.id === second.id)!;
    assert.equal(cancelled.title, 'Позвонить — отменено: клиент в отпуске');
    assert.equal(cancelled.actor, 'Петров');
  });

  test('a letter sent is by its author, not by the mailbox; an incoming one keeps the sender address', async () => {
    tick();
    await a.world.database.db.insert(emails).values([
      { direction: 'outgoing', subject: 'КП на окна', fromAddress: 'sales@our.example', toAddresses: ['olga@notes.example'], counterpartyId: cpA, authorUserId: ivanova.id, status: 'sent', at: clock.now() },
      { direction: 'incoming', subject: 'Re: КП на окна', fromAddress: 'olga@notes.example', toAddresses: ['sales@our.example'], counterpartyId: cpA, at: clock.now() },
    ]);
    const mail = (await getHistory(a.world.as(petrov), 'counterparty', cpA)).filter((i) => i.kind === 'email');
    assert.deepEqual(
      mail.map((i) => [i.title, i.actor]).sort(),
      [['Входящее: Re: КП на окна', 'olga@notes.example'], ['Исходящее: КП на окна', 'Иванова']],
    );
  });
});

describe('lead verbs', () => {
  test('updateLead: title, source and campaign, with what changed from what; the client must be visible and fit', async () => {
    const campaign = await findOrCreateCampaign(a.world.system, { utm_source: 'yandex', utm_campaign: 'okna-vesna' });
    const lead = await createLead(a.world.system, { title: 'Заявка с сайта', source: 'website', counterpartyId: cpA, responsibleId: petrov.id });
    tick();
    const after = await updateLead(a.world.as(petrov), lead.id, { title: 'Окна на дачу', source: 'phone', campaignId: campaign!.id });
    assert.deepEqual([after.title, after.source, after.campaignId], ['Окна на дачу', 'phone', campaign!.id]);
    const [top] = await getHistory(a.world.as(petrov), 'lead', lead.id);
    assert.equal(top!.title, 'Лид изменён: название «Заявка с сайта» → «Окна на дачу»; источник: Сайт → Телефонный звонок; кампания: — → «yandex / okna-vesna»');
    assert.equal(top!.actor, 'Петров');

    await assert.rejects(updateLead(a.world.as(petrov), lead.id, { title: '  ' }), fieldError('title', /укажите название лида/));
    await assert.rejects(updateLead(a.world.as(petrov), lead.id, { campaignId: 999_999 }), fieldError('campaignId', /нет такой/));
    await assert.rejects(updateLead(a.world.as(petrov), lead.id, { counterpartyId: cpB }), code('forbidden'));
    const other = await createContact(a.world.system, { name: 'Из другой фирмы', counterpartyId: cpB });
    await assert.rejects(updateLead(a.world.as(head), lead.id, { contactId: other.id }), fieldError('contactId', /другому контрагенту/));
    await assert.rejects(updateLead(a.world.as(stranger), lead.id, { title: 'чужое' }), code('forbidden'));
    assert.equal((await getLead(a.world.system, lead.id)).title, 'Окна на дачу', 'nothing half-written');
  });

  test('a messenger lead attached to a counterparty takes its contact along', async () => {
    const person = await createContact(a.world.system, { name: 'Из WhatsApp', phones: ['+7 916 555-00-11'] });
    const lead = await createLead(a.world.system, { title: 'Вопрос из WhatsApp', source: 'whatsapp', contactId: person.id, responsibleId: petrov.id });
    const call = (await listActions(a.world.system)).find((x) => x.name === 'Позвонить')!;
    const work = await createWork(a.world.as(petrov), { actionId: call.id, deadline: clock.now(), leadId: lead.id });
    await addNote(a.world.as(petrov), 'lead', lead.id, 'Пишет только в WhatsApp');
    tick();
    const after = await updateLead(a.world.as(petrov), lead.id, { counterpartyId: cpA });
    assert.equal(after.counterpartyId, cpA);
    assert.equal((await getContact(a.world.system, person.id)).counterpartyId, cpA);
    const [top] = await getHistory(a.world.as(petrov), 'lead', lead.id);
    assert.equal(top!.title, 'Лид изменён: контрагент: — → «ООО «Заметки»»');
    // what was done before the company was known is now in the company's history
    const ofCompany = await getHistory(a.world.as(ivanova), 'counterparty', cpA);
    assert.ok(ofCompany.some((i) => i.kind === 'work' && i.id === work.id));
    assert.ok(ofCompany.some((i) => i.kind === 'note' && i.text === 'Пишет только в WhatsApp'));
  });

  test('«Взять в работу», then closing with a reason from the book and a comment; the old string form still closes', async () => {
    const [expensive] = (await listLossReasons(a.world.system)).filter((r) => r.name === 'Дорого');
    const lead = await createLead(a.world.system, { title: 'Дорогой лид', source: 'manual', counterpartyId: cpA, responsibleId: petrov.id });
    tick();
    assert.equal((await setLeadInProgress(a.world.as(petrov), lead.id)).status, 'in_progress');
    assert.equal((await getHistory(a.world.as(petrov), 'lead', lead.id))[0]!.title, 'Статус: Новый → В работе');
    await assert.rejects(closeLead(a.world.as(petrov), lead.id, {}), fieldError('lossReasonId', /причину/));
    await assert.rejects(closeLead(a.world.as(petrov), lead.id, { lossReasonId: 999_999 }), code('invalid'));
    assert.equal((await getLead(a.world.system, lead.id)).status, 'in_progress');
    tick();
    const closed = await closeLead(a.world.as(petrov), lead.id, { lossReasonId: expensive!.id, comment: 'бюджет до 50 тысяч' });
    assert.deepEqual([closed.status, closed.lossReasonId, closed.closeComment], ['closed', expensive!.id, 'бюджет до 50 тысяч']);
    assert.equal((await getHistory(a.world.as(petrov), 'lead', lead.id))[0]!.title, 'Лид закрыт: Дорого — бюджет до 50 тысяч');
    await assert.rejects(setLeadInProgress(a.world.as(petrov), lead.id), code('conflict'));

    const old = await createLead(a.world.system, { title: 'Старый способ', source: 'manual', counterpartyId: cpA, responsibleId: petrov.id });
    const oldClosed = await closeLead(a.world.as(petrov), old.id, 'нецелевой');
    assert.deepEqual([oldClosed.status, oldClosed.closeComment], ['closed', 'нецелевой']);
  });
});

describe('the cards in the panel', () => {
  const signIn = async (u: User) => {
    const c = new PanelClient(a.app);
    await c.signIn(u.email);
    return c;
  };

  test('the counterparty card: contacts, leads and deals tabs stay; works, notes and history render; a note added from the panel shows up', async () => {
    const c = await signIn(petrov);
    const card = await c.get(`/admin/counterparties/${cpA}`);
    assert.equal(card.statusCode, 200);
    for (const tab of ['Контакты', 'Работы', 'Заметки', 'Почта', 'Звонки', 'Сообщения', 'Лиды', 'Сделки', 'Документы', 'История']) assert.match(text(card.body), new RegExp(tab));
    assert.match(card.body, /href="tel:\+74951234567"/);
    assert.match(card.body, /href="mailto:info@notes.example"/);
    assert.match(card.body, new RegExp(`href="/admin/deals/new\\?counterpartyId=${cpA}"`));
    assert.match(card.body, new RegExp(`href="/admin/contacts/${contactA}">Ольга Заметкина`), 'contacts is the default tab');
    assert.match((await c.get(`/admin/counterparties/${cpA}?tab=leads`)).body, new RegExp(`href="/admin/leads/${leadA}"`));
    assert.match((await c.get(`/admin/counterparties/${cpA}?tab=deals`)).body, new RegExp(`href="/admin/deals/${dealA}"`));
    const works = await c.get(`/admin/counterparties/${cpA}?tab=works`);
    assert.equal(works.statusCode, 200);
    assert.match(text(works.body), /Запланировать работу/);

    await c.get(`/admin/counterparties/${cpA}?tab=notes`);
    const after = await c.submit('/admin/notes', { entity: 'counterparty', id: String(cpA), text: 'Директор в отпуске до 1 декабря', back: `/admin/counterparties/${cpA}?tab=notes` });
    const page = text(after.body);
    assert.match(page, /Заметка добавлена/);
    assert.match(page, /Петров · \d\d\.\d\d\.\d{4}, \d\d:\d\d Директор в отпуске до 1 декабря/);
    assert.match(after.body, /action="\/admin\/notes\/\d+\/delete"/, 'the author may delete it');
    assert.match(text((await c.get(`/admin/counterparties/${cpA}?tab=history`)).body), /Заметка Директор в отпуске до 1 декабря Петров/);

    // Иванова sees the note but may not change it
    const i = await signIn(ivanova);
    const hers = await i.get(`/admin/counterparties/${cpA}?tab=notes`);
    assert.match(text(hers.body), /Директор в отпуске/);
    const [note] = await a.world.database.rows<{ id: number }>(sql`SELECT id FROM notes WHERE text = 'Директор в отпуске до 1 декабря'`);
    assert.doesNotMatch(hers.body, new RegExp(`action="/admin/notes/${note!.id}/delete"`));
    const refused = await i.post(`/admin/notes/${note!.id}/delete`, { back: `/admin/counterparties/${cpA}?tab=notes` });
    assert.match(text((await i.get(String(refused.headers.location))).body), /Заметка не удалена: Изменить или удалить заметку может только её автор/);

    // the author edits it from the card
    await c.get(`/admin/counterparties/${cpA}?tab=notes`);
    const edited = await c.submit(`/admin/notes/${note!.id}`, { text: 'Директор вернётся 2 декабря', back: `/admin/counterparties/${cpA}?tab=notes` });
    assert.match(text(edited.body), /Заметка сохранена.*Директор вернётся 2 декабря/);
  });

  test('a note on a record of another segment, or an empty one, is refused with a Russian message and nothing is written', async () => {
    const s = await signIn(stranger);
    await s.get(`/admin/counterparties/${cpB}`);
    const res = await s.post('/admin/notes', { entity: 'lead', id: String(leadA), text: 'подсмотрел', back: `/admin/counterparties/${cpB}` });
    assert.equal(res.statusCode, 303);
    assert.match(text((await s.get(String(res.headers.location))).body), /Заметка не добавлена: Этот лид вам недоступен/);
    assert.equal((await s.get(`/admin/leads/${leadA}?tab=notes`)).statusCode, 403);
    const c = await signIn(petrov);
    await c.get(`/admin/leads/${leadA}?tab=notes`);
    const empty = await c.post('/admin/notes', { entity: 'lead', id: String(leadA), text: '  ', back: `/admin/leads/${leadA}?tab=notes` });
    assert.match(text((await c.get(String(empty.headers.location))).body), /Заметка не добавлена: напишите заметку/);
    const [row] = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM notes WHERE text IN ('подсмотрел', '')`);
    assert.equal(row!.n, 0);
  });

  test('the contact card: the feed\'s tabs, phone and e-mail links, «Новая сделка», a note', async () => {
    const c = await signIn(petrov);
    const card = await c.get(`/admin/contacts/${contactA}`);
    assert.equal(card.statusCode, 200);
    for (const tab of ['Работы', 'Заметки', 'Почта', 'Лиды', 'История']) assert.match(text(card.body), new RegExp(tab));
    assert.match(card.body, /href="tel:\+79161112233"/);
    assert.match(card.body, /href="mailto:olga@notes.example"/);
    assert.match(card.body, new RegExp(`href="/admin/deals/new\\?contactId=${contactA}"`));
    assert.equal((await c.get(`/admin/contacts/${contactA}?tab=works`)).statusCode, 200);
    assert.match((await c.get(`/admin/contacts/${contactA}?tab=leads`)).body, new RegExp(`href="/admin/leads/${leadA}"`));
    await c.get(`/admin/contacts/${contactA}?tab=notes`);
    const after = await c.submit('/admin/notes', { entity: 'contact', id: String(contactA), text: 'Звонить после 14:00', back: `/admin/contacts/${contactA}?tab=notes` });
    assert.match(text(after.body), /Петров .* Звонить после 14:00/);
  });

  test('the lead card: tabs, a note, an edit with «было → стало» in its history, «Взять в работу», a close with a reason', async () => {
    const campaign = await findOrCreateCampaign(a.world.system, { utm_source: 'vk', utm_campaign: 'leto' });
    const lead = await createLead(a.world.system, { title: 'Лид для карточки', source: 'website', counterpartyId: cpA, contactId: contactA, responsibleId: petrov.id });
    const c = await signIn(petrov);
    const card = await c.get(`/admin/leads/${lead.id}`);
    assert.equal(card.statusCode, 200);
    for (const tab of ['Работы', 'Заметки', 'Почта', 'Звонки', 'Сообщения', 'Документы', 'История']) assert.match(text(card.body), new RegExp(tab));
    assert.match(card.body, /href="tel:\+79161112233"/);
    assert.match(text(card.body), /Лид создан \(источник: Сайт\)/, 'the lead opens on its history');
    assert.equal((await c.get(`/admin/leads/${lead.id}?tab=works`)).statusCode, 200);

    await c.get(`/admin/leads/${lead.id}?tab=notes`);
    assert.match(text((await c.submit('/admin/notes', { entity: 'lead', id: String(lead.id), text: 'Хочет монтаж в субботу', back: `/admin/leads/${lead.id}?tab=notes` })).body), /Заметка добавлена.*Хочет монтаж в субботу/);

    const bad = await c.post(`/admin/leads/${lead.id}`, { title: '', source: 'website', campaignId: '', comment: '' });
    assert.match(text((await c.get(String(bad.headers.location))).body), /Лид не сохранён: укажите название лида/);
    const edited = await c.submit(`/admin/leads/${lead.id}`, { title: 'Монтаж окон', source: 'phone', campaignId: String(campaign!.id), comment: 'перезвонить' });
    const page = text(edited.body);
    assert.match(page, /Лид сохранён/);
    assert.match(page, /Лид изменён: название «Лид для карточки» → «Монтаж окон»; источник: Сайт → Телефонный звонок; кампания: — → «vk \/ leto»; комментарий: — → «перезвонить»/);
    assert.match(page, /Рекламная кампания vk \/ leto/);

    assert.match(text((await c.submit(`/admin/leads/${lead.id}/in-progress`, {})).body), /Лид в работе.*В работе/);

    const [expensive] = (await listLossReasons(a.world.system)).filter((r) => r.name === 'Дорого');
    const noReason = await c.post(`/admin/leads/${lead.id}/close`, { lossReasonId: '', comment: '' });
    assert.match(text((await c.get(String(noReason.headers.location))).body), /Лид не закрыт: укажите причину отказа или комментарий/);
    const closed = text((await c.submit(`/admin/leads/${lead.id}/close`, { lossReasonId: String(expensive!.id), comment: 'нашли дешевле' })).body);
    assert.match(closed, /Лид закрыт/);
    assert.match(closed, /Причина отказа Дорого/);
    assert.match(closed, /Комментарий к закрытию нашли дешевле/);
    assert.match(closed, /Лид закрыт: Дорого — нашли дешевле/);
  });

  test('the deal card carries the same feed: its notes and history', async () => {
    const c = await signIn(petrov);
    const card = await c.get(`/admin/deals/${dealA}?tab=notes`);
    assert.equal(card.statusCode, 200);
    assert.match(text(card.body), /Заметка про deal/);
    const after = await c.submit('/admin/notes', { entity: 'deal', id: String(dealA), text: 'Счёт отправлен', back: `/admin/deals/${dealA}?tab=history` });
    assert.match(text(after.body), /Заметка Счёт отправлен Петров/);
    const s = await signIn(stranger);
    assert.equal((await s.get(`/admin/deals/${dealA}?tab=notes`)).statusCode, 403);
  });

  test('an admin sees every card\'s tabs', async () => {
    const c = await signIn(admin);
    for (const url of [`/admin/counterparties/${cpB}?tab=notes`, `/admin/contacts/${contactA}?tab=history`, `/admin/leads/${leadA}?tab=documents`, `/admin/deals/${dealA}?tab=emails`]) {
      assert.equal((await c.get(url)).statusCode, 200, url);
    }
  });
});
