import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { FakeTelegram, buttons, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createLinkCode, createUser, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { assignLead, createLead } from '../core/leads/leads.js';
import { createDeal } from '../core/deals/deals.js';
import { createWork } from '../core/works/works.js';
import { listActions } from '../core/works/actions.js';
import { getHistory } from '../core/history/history.js';

/**
 * R25, a manager's whole day without the panel: the real CRM (web, worker, bot) long-polling a fake
 * Bot API over HTTP. 5001 Анна (manager, «Север»), 5002 Борис (manager, «Юг»), 5003 Вера (manager,
 * «Север», only for /works), 5004 the head, 6001 a client writing to the bot.
 */
const ANNA = 5001;
const BORIS = 5002;
const VERA = 5003;
const HEAD = 5004;
const CLIENT = 6001;

let tg: FakeTelegram;
let s: Services;
let crm: TestCrm;
let anna: User, boris: User, vera: User, head: User;
let northCp: number, southCp: number;
/** the lead the client's first message made: Telegram, a contact without a company, no counterparty */
let messengerLead: number;

const text = (c: ApiCall) => String(c.params.text);
const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const buttonFor = (c: ApiCall, label: string) => {
  const b = buttons(c).find(([t]) => t === label);
  assert.ok(b, `no button «${label}» in ${JSON.stringify(buttons(c))}`);
  return b[1];
};

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  const sys = s.ctx();
  const north = await createSegment(sys, { name: 'Север' });
  const south = await createSegment(sys, { name: 'Юг' });
  anna = await createUser(sys, { email: 'anna@day.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@day.test', name: 'Борис', role: 'manager' });
  vera = await createUser(sys, { email: 'vera@day.test', name: 'Вера', role: 'manager' });
  head = await createUser(sys, { email: 'head@day.test', name: 'Руководитель', role: 'head' });
  await setUserSegments(sys, anna.id, [north.id]);
  await setUserSegments(sys, vera.id, [north.id]);
  await setUserSegments(sys, boris.id, [south.id]);
  northCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Северное сияние»', segmentId: north.id, inn: '7707083893' })).id;
  southCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Южный порт»', segmentId: south.id })).id;
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  // polling starts in the background: the command menu is its last step before reading updates
  await tg.waitFor('setMyCommands', () => true, { timeoutMs: 60_000 });
  for (const [user, id] of [[anna, ANNA], [boris, BORIS], [vera, VERA], [head, HEAD]] as const) {
    const { code } = await createLinkCode(sys, user.id);
    assert.match(text(await tg.ask(id, `/start ${code}`)), /Telegram привязан/);
  }
  // a client writes to the bot: a Telegram lead with a contact and no counterparty, handed to Анна
  tg.send(CLIENT, { text: 'Здравствуйте! Нужны окна в дом' }, 'Мария');
  messengerLead = await waitFor('the messenger lead', async () => (await rows<{ id: number }>(sql`SELECT id FROM leads WHERE source = 'telegram'`))[0]?.id);
  await assignLead(sys, messengerLead, anna.id);
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('works on any record', () => {
  test('a manager plans a work on a fresh messenger lead without a counterparty, reschedules it and completes it', async () => {
    const card = await tg.ask(ANNA, `/lead ${messengerLead}`);
    assert.match(text(card), /Источник: Telegram/);
    const actions = await tg.pressAndWait(ANNA, buttonFor(card, 'Работа +'));
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(actions, 'Позвонить'))), /Срок/);
    const planned = await tg.ask(ANNA, 'завтра 10:00');
    assert.match(text(planned), /Работа №\d+ запланирована/);
    const workId = Number(/№(\d+)/.exec(text(planned))![1]);
    const [w] = await rows<{ counterparty_id: number | null; lead_id: number }>(sql`SELECT counterparty_id, lead_id FROM works WHERE id = ${workId}`);
    assert.equal(w!.counterparty_id, null);
    assert.equal(w!.lead_id, messengerLead);

    assert.match(text(await tg.pressAndWait(ANNA, `work:move:${workId}`)), /Новый срок/);
    assert.match(text(await tg.ask(ANNA, 'на днях')), /Не понял срок/);
    assert.match(text(await tg.ask(ANNA, '25.12.2031 15:30')), /перенесена на 25\.12\.2031, 15:30/);
    const [moved] = await rows<{ deadline: Date }>(sql`SELECT deadline FROM works WHERE id = ${workId}`);
    assert.equal(new Date(moved!.deadline).toISOString(), '2031-12-25T12:30:00.000Z');

    const results = await tg.pressAndWait(ANNA, `work:done:${workId}`);
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(results, 'Дозвонился'))), /выполнена/);
    const [done] = await rows<{ status: string; completed_by: number }>(sql`SELECT status, completed_by FROM works WHERE id = ${workId}`);
    assert.equal(done!.status, 'done');
    assert.equal(done!.completed_by, anna.id);
  });

  test('/works: overdue, today, this week and later, with buttons; cancelling asks the reason', async () => {
    const call = (await listActions(s.ctx())).find((a) => a.name === 'Позвонить')!;
    const plan = (deadline: Date, comment: string) => createWork(s.ctx(), { actionId: call.id, deadline, counterpartyId: northCp, responsibleId: vera.id, comment });
    const late = await plan(new Date(Date.now() - 3600_000), 'Просроченная');
    await plan(new Date(Date.now() + 120_000), 'Сегодняшняя');
    await plan(new Date(Date.now() + 40 * 86_400_000), 'Дальняя');
    const since = tg.calls.length;
    const header = await tg.ask(VERA, '/works');
    assert.match(text(header), /Мои работы/);
    assert.match(text(header), /Просрочено: 1/);
    assert.match(text(header), /Сегодня: 1/);
    assert.match(text(header), /На этой неделе: 0/);
    assert.match(text(header), /Позже: 1/);
    const line = await tg.waitFor('sendMessage', (p) => p.chat_id === VERA && String(p.text).includes(`№${late.id}`), { since });
    assert.match(text(line), /Просрочено/);
    assert.deepEqual(buttons(line).map(([t]) => t), ['Выполнить', 'Перенести', 'Отменить', 'На основании']);
    await tg.waitFor('sendMessage', (p) => p.chat_id === VERA && String(p.text).includes('Дальняя'), { since });

    assert.match(text(await tg.pressAndWait(VERA, `work:cancel:${late.id}`)), /Почему отменяется/);
    assert.match(text(await tg.ask(VERA, 'Клиент сам перезвонил')), /отменена/);
    const [c] = await rows<{ status: string; cancel_reason: string }>(sql`SELECT status, cancel_reason FROM works WHERE id = ${late.id}`);
    assert.equal(c!.status, 'cancelled');
    assert.equal(c!.cancel_reason, 'Клиент сам перезвонил');
    // another segment's work is not Борис's to cancel
    assert.match(text(await tg.pressAndWait(BORIS, `work:cancel:${late.id}`)), /недоступна/);
  });
});

describe('notes', () => {
  test('a note from the bot appears in the lead history with its author; /note works as a command and as a reply to a card', async () => {
    const asked = await tg.pressAndWait(ANNA, `note:new:lead:${messengerLead}`);
    assert.match(text(asked), /Текст заметки/);
    assert.match(text(await tg.ask(ANNA, 'Клиент просит замер в субботу')), /сохранена/);
    assert.match(text(await tg.ask(ANNA, `/note lead ${messengerLead} Бюджет до 300 тысяч`)), /сохранена/);
    const card = await tg.ask(ANNA, `/lead ${messengerLead}`);
    const since = tg.calls.length;
    // Telegram gives the replied message as plain text
    const plain = text(card).replace(/<[^>]+>/g, '');
    tg.say(ANNA, '/note Перезвонить жене', { reply_to_message: { message_id: Number(card.result!.message_id), date: 1, chat: { id: ANNA, type: 'private' }, text: plain } });
    // wait for the bot's answer to the note, not for a notice that may still arrive from the client's message
    const saved = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /Заметка/.test(String(p.text)), { since });
    assert.match(text(saved), new RegExp(`лида №${messengerLead} сохранена`));
    const history = await getHistory(s.ctx(), 'lead', messengerLead);
    for (const t of ['Клиент просит замер в субботу', 'Бюджет до 300 тысяч', 'Перезвонить жене']) {
      const item = history.find((h) => h.kind === 'note' && h.text === t);
      assert.ok(item, t);
      assert.equal(item.actor, 'Анна');
    }
  });

  test('a manager of another segment cannot note the record; an empty /note explains itself', async () => {
    assert.match(text(await tg.ask(BORIS, `/note lead ${messengerLead} чужая заметка`)), /недоступен/);
    assert.match(text(await tg.ask(BORIS, `/note client ${northCp} чужая заметка`)), /не в ваших сегментах|недоступ/);
    const [n] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM notes WHERE text = 'чужая заметка'`);
    assert.equal(n!.n, 0);
    assert.match(text(await tg.ask(ANNA, '/note')), /\/note lead 12 текст/);
  });
});

describe('leads', () => {
  test('attaching an existing counterparty to the messenger lead, found by name', async () => {
    const card = await tg.ask(ANNA, `/lead ${messengerLead}`);
    const choose = await tg.pressAndWait(ANNA, buttonFor(card, 'Контрагент'));
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(choose, 'Найти в базе'))), /Название или ИНН/);
    assert.match(text(await tg.ask(ANNA, 'Южный')), /не нашлось/);
    const found = await tg.ask(ANNA, 'Северное');
    const linked = await tg.pressAndWait(ANNA, buttons(found).find(([t]) => t.includes('Северное сияние'))![1]);
    assert.match(text(linked), /Контрагент привязан/);
    assert.match(text(linked), /Клиент: ООО «Северное сияние»/);
    const [l] = await rows<{ counterparty_id: number }>(sql`SELECT counterparty_id FROM leads WHERE id = ${messengerLead}`);
    assert.equal(l!.counterparty_id, northCp);
  });

  test('creating a counterparty for a lead: a bad INN is refused, nothing is half-written', async () => {
    const lead = await createLead(s.ctx(), { title: 'Звонок без компании', source: 'phone', responsibleId: anna.id });
    await tg.pressAndWait(ANNA, `lead:cpnew:${lead.id}`);
    assert.match(text(await tg.ask(ANNA, 'ИП Громов')), /ИНН/);
    assert.match(text(await tg.ask(ANNA, '123')), /10 или 12 цифр/);
    // a checksum the core refuses: no counterparty is left behind
    assert.match(text(await tg.ask(ANNA, '7707083894')), /ИНН/);
    const [none] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM counterparties WHERE name = 'ИП Громов'`);
    assert.equal(none!.n, 0);
    assert.match(text(await tg.ask(ANNA, '-')), /Контрагент привязан/);
    const [l] = await rows<{ name: string; responsible_id: number }>(sql`SELECT c.name, c.responsible_id FROM leads l JOIN counterparties c ON c.id = l.counterparty_id WHERE l.id = ${lead.id}`);
    assert.equal(l!.name, 'ИП Громов');
    assert.equal(l!.responsible_id, anna.id);
  });

  test('closing a lead asks the reason from «Причины отказа» or in words', async () => {
    const lead = await createLead(s.ctx(), { title: 'Дорогой клиент', source: 'website', responsibleId: anna.id, counterpartyId: northCp });
    const reasons = await tg.pressAndWait(ANNA, `lead:close:${lead.id}`);
    assert.ok(buttons(reasons).some(([t]) => t === 'Другое — написать'));
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(reasons, 'Выбрали конкурента'))), /закрыт: Выбрали конкурента/);
    const [l] = await rows<{ status: string; reason: string }>(sql`SELECT l.status, r.name AS reason FROM leads l JOIN loss_reasons r ON r.id = l.loss_reason_id WHERE l.id = ${lead.id}`);
    assert.deepEqual(l, { status: 'closed', reason: 'Выбрали конкурента' });

    const other = await createLead(s.ctx(), { title: 'Передумал', source: 'website', responsibleId: anna.id, counterpartyId: northCp });
    assert.match(text(await tg.pressAndWait(ANNA, `lead:closew:${other.id}`)), /Напишите причину/);
    assert.match(text(await tg.ask(ANNA, 'Переехал в другой город')), /закрыт: Переехал в другой город/);
    const [o] = await rows<{ close_comment: string }>(sql`SELECT close_comment FROM leads WHERE id = ${other.id}`);
    assert.equal(o!.close_comment, 'Переехал в другой город');
  });

  test('/newlead asks for the e-mail and the source too', async () => {
    await tg.ask(ANNA, '/newlead');
    await tg.ask(ANNA, 'Пётр Смирнов');
    assert.match(text(await tg.ask(ANNA, '-')), /E-mail/);
    assert.match(text(await tg.ask(ANNA, 'не почта')), /Не похоже на e-mail/);
    assert.match(text(await tg.ask(ANNA, 'Petr@Mail.RU')), /Компания/);
    // no company: a private client, whose new contact the manager sees through the lead
    const sources = await tg.ask(ANNA, '-');
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(sources, 'Телефонный звонок'))), /Комментарий/);
    assert.match(text(await tg.ask(ANNA, '-')), /Лид создан/);
    const [l] = await rows<{ source: string; emails: string[] }>(sql`SELECT l.source, c.emails FROM leads l JOIN contacts c ON c.id = l.contact_id ORDER BY l.id DESC LIMIT 1`);
    assert.equal(l!.source, 'phone');
    assert.deepEqual(l!.emails, ['petr@mail.ru']);
  });
});

describe('contacts', () => {
  test("editing a contact's phone from its card: an invalid phone gets a Russian message and changes nothing", async () => {
    const c = await createContact(s.ctx(), { name: 'Олег', counterpartyId: northCp, phones: ['+79160000001'] });
    const card = await tg.ask(ANNA, `/contact ${c.id}`);
    assert.match(text(card), /Контакт №\d+: Олег/);
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(card, 'Телефон'))), /Новый основной телефон/);
    assert.match(text(await tg.ask(ANNA, 'позвоните мне')), /Не похоже на номер/);
    const [same] = await rows<{ phones: string[] }>(sql`SELECT phones FROM contacts WHERE id = ${c.id}`);
    assert.deepEqual(same!.phones, ['+79160000001']);
    assert.match(text(await tg.ask(ANNA, '8 916 111-22-33')), /Контакт изменён/);
    await tg.pressAndWait(ANNA, `contact:edit:${c.id}:name`);
    await tg.ask(ANNA, 'Олег Иванов');
    const [after] = await rows<{ name: string; phones: string[] }>(sql`SELECT name, phones FROM contacts WHERE id = ${c.id}`);
    assert.deepEqual(after, { name: 'Олег Иванов', phones: ['+79161112233'] });
    assert.match(text(await tg.pressAndWait(BORIS, `contact:edit:${c.id}:name`)), /недоступен/);
  });
});

describe('deals', () => {
  test('/newdeal for a counterparty from its card, and by searching the client', async () => {
    assert.match(text(await tg.pressAndWait(ANNA, `deal:new:cp:${northCp}`)), /клиент: ООО «Северное сияние»/);
    assert.match(text(await tg.ask(ANNA, 'Повторная поставка')), /Сумма/);
    assert.match(text(await tg.ask(ANNA, 'дорого')), /Не понял сумму/);
    const made = await tg.ask(ANNA, '250 000');
    assert.match(text(made), /Сделка создана/);
    const [d] = await rows<{ counterparty_id: number; amount: string; responsible_id: number }>(
      sql`SELECT counterparty_id, amount_kopecks::text AS amount, responsible_id FROM deals WHERE title = 'Повторная поставка'`,
    );
    assert.deepEqual(d, { counterparty_id: northCp, amount: '25000000', responsible_id: anna.id });

    await tg.ask(ANNA, '/newdeal');
    await tg.ask(ANNA, 'Сервисный договор');
    assert.match(text(await tg.ask(ANNA, '-')), /Клиент\?/);
    const found = await tg.ask(ANNA, '7707083893');
    assert.match(text(await tg.pressAndWait(ANNA, buttons(found)[0]![1])), /Сделка создана/);
    const [d2] = await rows<{ counterparty_id: number }>(sql`SELECT counterparty_id FROM deals WHERE title = 'Сервисный договор'`);
    assert.equal(d2!.counterparty_id, northCp);
    assert.match(text(await tg.pressAndWait(BORIS, `deal:new:cp:${northCp}`)), /не в ваших сегментах|недоступ/);
  });

  test('losing a deal with a reason and a comment; another deal is paid today; the title is edited', async () => {
    const deal = await createDeal(s.ctx(), { title: 'Остекление лоджии', amount: '90000', counterpartyId: northCp, responsibleId: anna.id });
    const card = await tg.ask(ANNA, `/deal ${deal.id}`);
    const reasons = await tg.pressAndWait(ANNA, buttonFor(card, 'Проиграна'));
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(reasons, 'Дорого'))), /Комментарий/);
    assert.match(text(await tg.ask(ANNA, 'Нашли дешевле на 20%')), /проиграна/);
    const [lost] = await rows<{ reason: string; loss_comment: string; is_lost: boolean }>(
      sql`SELECT r.name AS reason, d.loss_comment, st.is_lost FROM deals d JOIN loss_reasons r ON r.id = d.loss_reason_id JOIN deal_stages st ON st.id = d.stage_id WHERE d.id = ${deal.id}`,
    );
    assert.deepEqual(lost, { reason: 'Дорого', loss_comment: 'Нашли дешевле на 20%', is_lost: true });

    const won = await createDeal(s.ctx(), { title: 'Окна в офис', amount: '50000', counterpartyId: northCp, responsibleId: anna.id });
    const when = await tg.pressAndWait(ANNA, `deal:won:${won.id}`);
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(when, 'Другая дата'))), /Дата оплаты/);
    assert.match(text(await tg.ask(ANNA, '31.02.2026')), /Не понял дату/);
    assert.match(text(await tg.ask(ANNA, '01.11.2026')), /оплачена 01\.11\.2026/);
    const [paid] = await rows<{ paid_on: string }>(sql`SELECT paid_on::text AS paid_on FROM deals WHERE id = ${won.id}`);
    assert.equal(paid!.paid_on, '2026-11-01');

    await tg.pressAndWait(ANNA, `deal:title:${won.id}`);
    assert.match(text(await tg.ask(ANNA, 'Окна в офис, 2 этаж')), /теперь называется «Окна в офис, 2 этаж»/);
    assert.match(text(await tg.pressAndWait(BORIS, `deal:lost:${won.id}`)), /недоступна/);
  });

  test('the head hands a deal to another manager from «Изменить»; a manager has no «Ответственный»', async () => {
    const deal = await createDeal(s.ctx(), { title: 'Фасадное остекление', amount: '120000', counterpartyId: northCp, responsibleId: anna.id });
    const annaMenu = await tg.pressAndWait(ANNA, buttonFor(await tg.ask(ANNA, `/deal ${deal.id}`), 'Изменить'));
    assert.deepEqual(buttons(annaMenu).map(([t]) => t), ['Название', 'Сумма', 'Клиент', 'Контакт']);
    assert.match(text(await tg.pressAndWait(ANNA, `deal:resp:${deal.id}`)), /руководитель/);

    const menu = await tg.pressAndWait(HEAD, buttonFor(await tg.ask(HEAD, `/deal ${deal.id}`), 'Изменить'));
    const who = await tg.pressAndWait(HEAD, buttonFor(menu, 'Ответственный'));
    assert.ok(!buttons(who).some(([t]) => t === 'Анна'));
    const changed = await tg.pressAndWait(HEAD, buttonFor(who, 'Вера'));
    assert.match(text(changed), /ответственный сменён/);
    assert.match(text(changed), /Ответственный: Вера/);
    const [d] = await rows<{ responsible_id: number }>(sql`SELECT responsible_id FROM deals WHERE id = ${deal.id}`);
    assert.equal(d!.responsible_id, vera.id);
    const history = await getHistory(s.ctx(), 'deal', deal.id);
    assert.ok(history.some((h) => h.title === 'Ответственный: Анна → Вера'), JSON.stringify(history.map((h) => h.title)));
  });

  test('a manager sets the client of a deal found by name, then its contact', async () => {
    const deal = await createDeal(s.ctx(), { title: 'Без клиента пока', responsibleId: anna.id });
    const menu = await tg.pressAndWait(ANNA, buttonFor(await tg.ask(ANNA, `/deal ${deal.id}`), 'Изменить'));
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(menu, 'Контакт'))), /нет клиента/);
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(menu, 'Клиент'))), /название или ИНН/);
    assert.match(text(await tg.ask(ANNA, 'Южный')), /не нашлось/);
    const found = await tg.ask(ANNA, 'Северное');
    const set = await tg.pressAndWait(ANNA, buttons(found).find(([t]) => t.includes('Северное сияние'))![1]);
    assert.match(text(set), /клиент указан/);
    assert.match(text(set), /Клиент: ООО «Северное сияние»/);
    const [d] = await rows<{ counterparty_id: number }>(sql`SELECT counterparty_id FROM deals WHERE id = ${deal.id}`);
    assert.equal(d!.counterparty_id, northCp);

    const c = await createContact(s.ctx(), { name: 'Ирина Закупщица', counterpartyId: northCp });
    const contacts = await tg.pressAndWait(ANNA, `deal:contact:${deal.id}`);
    assert.match(text(await tg.pressAndWait(ANNA, buttonFor(contacts, 'Ирина Закупщица'))), /контакт указан/);
    const [withContact] = await rows<{ contact_id: number }>(sql`SELECT contact_id FROM deals WHERE id = ${deal.id}`);
    assert.equal(withContact!.contact_id, c.id);
  });
});

describe('find', () => {
  test('/find by lead number and by deal title; another segment gets nothing', async () => {
    const lead = await createLead(s.ctx(), { title: 'Балконный блок', source: 'website', responsibleId: anna.id, counterpartyId: northCp });
    await createDeal(s.ctx(), { title: 'Зимний сад под ключ', counterpartyId: northCp, responsibleId: anna.id });
    for (const q of [`лид ${lead.id}`, `№${lead.id}`]) assert.match(text(await tg.ask(ANNA, `/find ${q}`)), new RegExp(`Лид №${lead.id} · Балконный блок`));
    const byTitle = await tg.ask(ANNA, '/find зимний сад');
    assert.match(text(byTitle), /Сделка №\d+ · Зимний сад под ключ/);
    assert.ok(buttons(byTitle).some(([, d]) => d.startsWith('deal:open:')));
    assert.match(text(await tg.ask(BORIS, `/find лид ${lead.id}`)), /ничего не нашлось/);
    assert.match(text(await tg.ask(BORIS, '/find Балконный')), /ничего не нашлось/);
  });

  test('/find opens a contact without a company', async () => {
    const c = await createContact(s.ctx(), { name: 'Степан Одиночкин', phones: ['+79165550011'] });
    const found = await tg.ask(HEAD, '/find Одиночкин');
    assert.match(text(found), /Степан Одиночкин/);
    const card = await tg.pressAndWait(HEAD, buttonFor(found, '👤 Степан Одиночкин'));
    assert.match(text(card), new RegExp(`Контакт №${c.id}: Степан Одиночкин`));
    assert.match(text(card), /Без компании/);
  });
});

describe('the head', () => {
  test('/team shows open leads, unanswered chats and overdue works per manager; a manager is refused', async () => {
    const call = (await listActions(s.ctx())).find((a) => a.name === 'Позвонить')!;
    await createWork(s.ctx(), { actionId: call.id, deadline: new Date(Date.now() - 7200_000), counterpartyId: southCp, responsibleId: boris.id });
    const team = await tg.ask(HEAD, '/team');
    assert.match(text(team), /Команда/);
    assert.match(text(team), /Борис<\/b>: лидов \d+, ждут ответа 0, просрочено работ 1/);
    assert.match(text(team), /Анна<\/b>: лидов \d+, ждут ответа 1/);
    assert.match(text(team), new RegExp(`Ждут ответа</b>\\n№${messengerLead} `));
    assert.match(text(await tg.ask(ANNA, '/team')), /Команда доступна руководителю/);
  });

  test('reassigning a lead from its card', async () => {
    const lead = await createLead(s.ctx(), { title: 'Передать Борису', source: 'website', responsibleId: anna.id });
    assert.ok(!buttons(await tg.ask(ANNA, `/lead ${lead.id}`)).some(([t]) => t === 'Передать'));
    assert.match(text(await tg.pressAndWait(ANNA, `lead:pass:${lead.id}`)), /руководитель/);
    const card = await tg.ask(HEAD, `/lead ${lead.id}`);
    const who = await tg.pressAndWait(HEAD, buttonFor(card, 'Передать'));
    assert.match(text(await tg.pressAndWait(HEAD, buttonFor(who, 'Борис'))), /передан: Борис/);
    const [l] = await rows<{ responsible_id: number }>(sql`SELECT responsible_id FROM leads WHERE id = ${lead.id}`);
    assert.equal(l!.responsible_id, boris.id);
    await tg.waitFor('sendMessage', (p) => p.chat_id === BORIS && String(p.text).includes(`Вам назначен лид №${lead.id}`), { timeoutMs: 30_000 });
  });

  test('/help and the command menu list the new commands', async () => {
    const help = await tg.ask(ANNA, '/help');
    for (const c of ['/newdeal', '/note', '/contact', '/team', '/works']) assert.match(text(help), new RegExp(c));
    const menu = await tg.waitFor('setMyCommands');
    const names = (menu.params.commands as { command: string }[]).map((c) => c.command);
    for (const c of ['newdeal', 'note', 'contact', 'team']) assert.ok(names.includes(c), c);
  });
});
