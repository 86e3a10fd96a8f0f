import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { FakeTelegram, buttons } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import type { Services } from '../core/services.js';
import { createBot } from '../bots/telegram/bot.js';
import { registerTelegramNotifications } from '../bots/telegram/notifications.js';
import { mountWebhook, startPolling } from '../bots/telegram/runner.js';
import { registerWorkJobs, WORK_DIGEST_JOB } from '../core/works/reminders.js';
import { createLinkCode, createUser, userActor, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { assignLead, createLead } from '../core/leads/leads.js';
import { createDeal } from '../core/deals/deals.js';
import { createWork } from '../core/works/works.js';
import { listActions } from '../core/works/actions.js';
import { monthOf, setPlan } from '../core/plans/plans.js';

/**
 * The real grammY bot, long-polling a fake Bot API server over HTTP, on a real database and queue.
 * Each Telegram user id is a person: 1001 Анна (manager, segment «Север»), 1002 Борис (manager,
 * «Юг»), 1003 the head, 2001 a client (never linked).
 */
const ANNA = 1001;
const BORIS = 1002;
const HEAD = 1003;
const CLIENT = 2001;

let tg: FakeTelegram;
let s: Services;
let polling: { stop(): Promise<void> };
let anna: User, boris: User, head: User;
let northCp: number, southCp: number;

async function link(user: User, telegramId: number) {
  const { code } = await createLinkCode(s.ctx(), user.id);
  const reply = await tg.ask(telegramId, `/start ${code}`);
  assert.match(String(reply.params.text), /Telegram привязан/);
}

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url, WORK_DIGEST_HOUR: '0' });
  const sys = s.ctx();
  const north = await createSegment(sys, { name: 'Север' });
  const south = await createSegment(sys, { name: 'Юг' });
  anna = await createUser(sys, { email: 'anna@test.ru', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@test.ru', name: 'Борис', role: 'manager' });
  head = await createUser(sys, { email: 'head@test.ru', name: 'Руководитель', role: 'head' });
  await setUserSegments(sys, anna.id, [north.id]);
  await setUserSegments(sys, boris.id, [south.id]);
  northCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Северный ветер»', segmentId: north.id, phones: ['+7 912 000-11-22'], inn: '7707083893' })).id;
  southCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Южный берег»', segmentId: south.id })).id;
  await createContact(sys, { name: 'Ольга Петрова', counterpartyId: northCp, phones: ['89120001123'] });
  const bot = createBot({ services: s, token: s.config.TELEGRAM_BOT_TOKEN!, apiRoot: tg.url });
  registerTelegramNotifications(s, bot.api);
  registerWorkJobs(s);
  await s.jobs.start();
  polling = startPolling(bot, s.log);
});

after(async () => {
  await polling?.stop();
  await s?.close();
  await tg?.stop();
});

describe('linking', () => {
  test('the command list is registered with setMyCommands', async () => {
    const call = await tg.waitFor('setMyCommands');
    const names = (call.params.commands as { command: string }[]).map((c) => c.command);
    for (const c of ['leads', 'lead', 'newlead', 'deals', 'deal', 'works', 'find', 'client', 'plan', 'help']) assert.ok(names.includes(c), c);
  });

  test('an unlinked person never reaches staff commands', async () => {
    const r = await tg.ask(CLIENT, '/leads');
    assert.doesNotMatch(String(r.params.text), /лид/i);
    const bad = await tg.ask(CLIENT, '/start WRONGCODE1');
    assert.match(String(bad.params.text), /неверный, уже использован или истёк/);
  });

  test('a one-time code links a manager once', async () => {
    await link(anna, ANNA);
    await link(boris, BORIS);
    await link(head, HEAD);
    const { code } = await createLinkCode(s.ctx(), anna.id);
    await tg.ask(ANNA, `/start ${code}`);
    const again = await tg.ask(CLIENT, `/start ${code}`);
    assert.match(String(again.params.text), /уже использован/);
    const help = await tg.ask(ANNA, '/help');
    assert.match(String(help.params.text), /\/newlead/);
  });
});

describe('leads', () => {
  test('/newlead is a guided dialogue that creates a manual lead with its contact and company', async () => {
    assert.match(String((await tg.ask(ANNA, '/newlead')).params.text), /Как зовут клиента/);
    assert.match(String((await tg.ask(ANNA, 'Иван Сидоров')).params.text), /Телефон/);
    assert.match(String((await tg.ask(ANNA, 'не скажу')).params.text), /Не похоже на номер/);
    assert.match(String((await tg.ask(ANNA, '8 (999) 123-45-67')).params.text), /E-mail/);
    assert.match(String((await tg.ask(ANNA, '-')).params.text), /Компания/);
    assert.match(String((await tg.ask(ANNA, 'ООО «Новые окна»')).params.text), /Откуда клиент/);
    assert.match(String((await tg.ask(ANNA, '-')).params.text), /Комментарий/);
    const done = await tg.ask(ANNA, 'Хочет 10 окон');
    assert.match(String(done.params.text), /Лид создан/);
    const [lead] = await s.database.rows<{ id: number; title: string; source: string; responsible_id: number; comment: string; phones: string[] }>(
      sql`SELECT l.id, l.title, l.source, l.responsible_id, l.comment, c.phones FROM leads l JOIN contacts c ON c.id = l.contact_id ORDER BY l.id DESC LIMIT 1`,
    );
    assert.equal(lead!.title, 'Иван Сидоров (ООО «Новые окна»)');
    assert.equal(lead!.source, 'manual');
    assert.equal(lead!.responsible_id, anna.id);
    assert.equal(lead!.comment, 'Хочет 10 окон');
    assert.deepEqual(lead!.phones, ['+79991234567']);
  });

  test('/leads lists my open leads in pages; /lead shows the card with its buttons', async () => {
    for (let i = 0; i < 11; i++) await createLead(s.ctx(userActor(anna)), { title: `Заявка ${i}`, source: 'website', responsibleId: anna.id, counterpartyId: northCp });
    const list = await tg.ask(ANNA, '/leads');
    assert.match(String(list.params.text), /стр\. 1 из 2/);
    assert.ok(buttons(list).some(([t, d]) => t === 'Дальше →' && d === 'leads:page:1'));
    const page2 = await tg.pressAndWait(ANNA, 'leads:page:1');
    assert.match(String(page2.params.text), /стр\. 2 из 2/);
    const lead = await createLead(s.ctx(), { title: 'Окна в коттедж', source: 'website', responsibleId: anna.id, counterpartyId: northCp, tracking: { utm_source: 'yandex', utm_campaign: 'zima' } });
    const card = await tg.ask(ANNA, `/lead ${lead.id}`);
    assert.match(String(card.params.text), /Окна в коттедж/);
    assert.match(String(card.params.text), /Кампания: yandex \/ zima/);
    assert.deepEqual(buttons(card).map(([t]) => t), ['В работу', 'Участник +', 'В сделку', 'Работа +', 'Заметка', 'Закрыть', 'Сделать обращением']);
  });

  test('take, add a participant, convert to a deal; pressing convert twice acts once', async () => {
    const lead = await createLead(s.ctx(), { title: 'Лид для сделки', source: 'phone', responsibleId: anna.id, counterpartyId: northCp });
    assert.match(String((await tg.pressAndWait(ANNA, `lead:take:${lead.id}`)).params.text), /в работе/);
    const who = await tg.pressAndWait(ANNA, `lead:addp:${lead.id}`);
    assert.ok(buttons(who).some(([t]) => t === 'Борис'));
    assert.match(String((await tg.pressAndWait(ANNA, `lead:addp:${lead.id}:${boris.id}`)).params.text), /Участник добавлен/);
    // Борис, as a participant, now sees the lead outside his segment
    assert.match(String((await tg.ask(BORIS, `/lead ${lead.id}`)).params.text), /Лид для сделки/);
    assert.match(String((await tg.pressAndWait(ANNA, `lead:conv:${lead.id}`)).params.text), /Перевести лид/);
    const converted = await tg.pressAndWait(ANNA, `lead:conv!:${lead.id}`);
    assert.match(String(converted.params.text), /Создана сделка №\d+/);
    const twice = await tg.pressAndWait(ANNA, `lead:conv!:${lead.id}`);
    assert.match(String(twice.params.text), /уже переведён в сделку/);
    const [n] = await s.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM deals WHERE lead_id = ${lead.id}`);
    assert.equal(n!.n, 1);
  });

  test('closing asks first', async () => {
    const lead = await createLead(s.ctx(), { title: 'Нецелевой', source: 'phone', responsibleId: anna.id });
    const reason = buttons(await tg.pressAndWait(ANNA, `lead:close:${lead.id}`)).find(([, d]) => d.startsWith(`lead:close!:${lead.id}:`))!;
    assert.match(String((await tg.pressAndWait(ANNA, reason[1])).params.text), /закрыт/);
  });
});

describe('deals', () => {
  test('/deals and /deal: change the stage and the amount', async () => {
    const deal = await createDeal(s.ctx(), { title: 'Поставка окон', amount: '100000', counterpartyId: northCp, responsibleId: anna.id });
    const list = await tg.ask(ANNA, '/deals');
    assert.match(String(list.params.text), /Поставка окон/);
    const card = await tg.ask(ANNA, `/deal ${deal.id}`);
    assert.match(String(card.params.text), /Сумма: 100\u00a0000,00 ₽/);
    const stages = await tg.pressAndWait(ANNA, `deal:stages:${deal.id}`);
    const negotiation = buttons(stages).find(([t]) => t === 'Переговоры')!;
    assert.match(String((await tg.pressAndWait(ANNA, negotiation[1])).params.text), /стадия «Переговоры»/);
    assert.match(String((await tg.pressAndWait(ANNA, `deal:amount:${deal.id}`)).params.text), /Новая сумма/);
    assert.match(String((await tg.ask(ANNA, 'много')).params.text), /Не понял сумму/);
    assert.match(String((await tg.ask(ANNA, '150 000,50')).params.text), /150\u00a0000,50 ₽/);
    const [row] = await s.database.rows<{ amount: string }>(sql`SELECT amount_kopecks::text AS amount FROM deals WHERE id = ${deal.id}`);
    assert.equal(row!.amount, '15000050');
  });
});

describe('works', () => {
  test("/works: today's and overdue; complete with an allowed result; a follow-up; twice acts once", async () => {
    const call = (await listActions(s.ctx())).find((a) => a.name === 'Позвонить')!;
    const overdue = await createWork(s.ctx(), { actionId: call.id, deadline: new Date(Date.now() - 3600_000), counterpartyId: northCp, responsibleId: anna.id, comment: 'Перезвонить по КП' });
    const since = tg.calls.length;
    tg.say(ANNA, '/works');
    const header = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /^<b>Мои работы/.test(String(p.text)), { since });
    assert.match(String(header.params.text), /Просрочено: 1/);
    const line = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(`Позвонить</b> №${overdue.id}`), { since });
    assert.match(String(line.params.text), /просрочена/);
    const results = await tg.pressAndWait(ANNA, `work:done:${overdue.id}`);
    assert.deepEqual(buttons(results).map(([t]) => t).sort(), call.results.map((r) => r.name).sort());
    const reached = call.results.find((r) => r.name === 'Дозвонился')!;
    assert.match(String((await tg.pressAndWait(ANNA, `work:res:${overdue.id}:${reached.id}`)).params.text), /выполнена/);
    assert.match(String((await tg.pressAndWait(ANNA, `work:res:${overdue.id}:${reached.id}`)).params.text), /уже завершена/);
    assert.match(String((await tg.pressAndWait(ANNA, `work:follow:${overdue.id}`)).params.text), /на основании/);
    assert.match(String((await tg.ask(ANNA, 'когда-нибудь')).params.text), /Не понял срок/);
    assert.match(String((await tg.ask(ANNA, 'завтра 10:00')).params.text), /на основании №\d+ запланирована/);
    const [f] = await s.database.rows<{ based_on_id: number; comment: string }>(sql`SELECT based_on_id, comment FROM works ORDER BY id DESC LIMIT 1`);
    assert.equal(f!.based_on_id, overdue.id);
    assert.equal(f!.comment, 'Перезвонить по КП');
  });

  test('plan a new work on a client with a deadline', async () => {
    const actions = await tg.pressAndWait(ANNA, `work:new:cp:${northCp}`);
    const meet = buttons(actions).find(([t]) => t === 'Встреча')!;
    assert.match(String((await tg.pressAndWait(ANNA, meet[1])).params.text), /Срок/);
    assert.match(String((await tg.ask(ANNA, '25.12.2026 14:30')).params.text), /запланирована на 25\.12\.2026, 14:30/);
  });
});

describe('clients, search and plans', () => {
  test('/find by a phone in another notation and by INN; /client card with tabs', async () => {
    const byPhone = await tg.ask(ANNA, '/find 8 912 000 11 22');
    assert.match(String(byPhone.params.text), /Северный ветер/);
    assert.match(String((await tg.ask(ANNA, '/find 7707083893')).params.text), /Северный ветер/);
    assert.match(String((await tg.ask(ANNA, '/find Южный')).params.text), /ничего не нашлось/);
    const card = await tg.ask(ANNA, `/client ${northCp}`);
    assert.match(String(card.params.text), /ИНН 7707083893/);
    assert.deepEqual(buttons(card).map(([t]) => t), ['Контакты', 'Работы', 'Лиды', 'Сделки', 'История', 'Работа +', 'Заметка', 'Новая сделка']);
    assert.match(String((await tg.pressAndWait(ANNA, `client:tab:${northCp}:contacts`)).params.text), /Ольга Петрова · \+7 912 000 11 23/);
    assert.match(String((await tg.pressAndWait(ANNA, `client:tab:${northCp}:leads`)).params.text), /Окна в коттедж/);
  });

  test('/plan shows progress bars; the head also sees every manager', async () => {
    const period = monthOf(new Date());
    await setPlan(s.ctx(), { userId: anna.id, ...period, dealAmount: '1000000', dealCount: 4, worksCount: 10 });
    const mine = await tg.ask(ANNA, '/plan');
    assert.match(String(mine.params.text), /Анна/);
    assert.match(String(mine.params.text), /Работ выполнено: 1 из 10\n▓░{9} 10%/);
    assert.doesNotMatch(String(mine.params.text), /Борис/);
    const all = await tg.ask(HEAD, '/plan');
    assert.match(String(all.params.text), /Анна[\s\S]*Борис|Борис[\s\S]*Анна/);
  });
});

describe('access and bad input', () => {
  test('a record outside my segments gets a clear refusal', async () => {
    assert.match(String((await tg.ask(ANNA, `/client ${southCp}`)).params.text), /не в ваших сегментах/);
    const lead = await createLead(s.ctx(), { title: 'Южный лид', source: 'website', responsibleId: boris.id, counterpartyId: southCp });
    assert.match(String((await tg.ask(ANNA, `/lead ${lead.id}`)).params.text), /недоступен/);
    assert.match(String((await tg.pressAndWait(ANNA, `lead:take:${lead.id}`)).params.text), /недоступен/);
    assert.match(String((await tg.ask(HEAD, `/lead ${lead.id}`)).params.text), /Южный лид/);
  });

  test('unknown ids, text instead of a number, stale buttons', async () => {
    assert.match(String((await tg.ask(ANNA, '/lead abc')).params.text), /Укажите номер числом/);
    assert.match(String((await tg.ask(ANNA, '/deal 999999')).params.text), /не найден/);
    const stale = await tg.pressAndWait(ANNA, 'work:done:999999', 'answerCallbackQuery');
    assert.match(String(stale.params.text), /не найден/);
    const gone = await tg.pressAndWait(ANNA, 'old:button', 'answerCallbackQuery');
    assert.match(String(gone.params.text), /устарела/);
    assert.match(String((await tg.ask(ANNA, '/nonsense')).params.text), /Неизвестная команда/);
  });
});

describe('notifications', () => {
  test('a new lead for a manager is sent at once with buttons', async () => {
    const since = tg.calls.length;
    const lead = await createLead(s.ctx(), { title: 'Заявка с сайта', source: 'website', responsibleId: anna.id, tracking: { utm_source: 'vk', utm_campaign: 'leto' } });
    const msg = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(`Новый лид №${lead.id}`), { since });
    assert.match(String(msg.params.text), /кампания: vk \/ leto/);
    assert.deepEqual(buttons(msg).map(([, d]) => d), [`lead:open:${lead.id}`, `lead:take:${lead.id}`]);
  });

  test('a 429 is honoured: the message is sent again after retry_after', async () => {
    const since = tg.calls.length;
    tg.failNext('sendMessage', 429, { description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }, (p) => p.chat_id === BORIS && String(p.text).includes('После паузы'));
    const lead = await createLead(s.ctx(), { title: 'После паузы', source: 'website', responsibleId: boris.id });
    const ok = await tg.waitFor('sendMessage', (p) => p.chat_id === BORIS && String(p.text).includes(`№${lead.id}`), { since, timeoutMs: 10_000 });
    const attempts = tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === BORIS && String(c.params.text).includes(`№${lead.id}`));
    assert.deepEqual(attempts.map((a) => !!a.failed), [true, false]);
    assert.ok(ok.at - attempts[0]!.at >= 1000, `resent after ${ok.at - attempts[0]!.at} ms`);
  });

  test('one chat gets at most one message a second', async () => {
    const since = tg.calls.length;
    for (let i = 0; i < 3; i++) await createLead(s.ctx(), { title: `Пачка ${i}`, source: 'website', responsibleId: boris.id });
    for (let i = 0; i < 3; i++) await tg.waitFor('sendMessage', (p) => p.chat_id === BORIS && String(p.text).includes(`Пачка ${i}`), { since, timeoutMs: 10_000 });
    const times = tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === BORIS).map((c) => c.at);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 950, `gap ${times[i]! - times[i - 1]!} ms`);
  });

  test('a lead assigned by the head is announced to the manager', async () => {
    const lead = await createLead(s.ctx(), { title: 'Передача', source: 'phone', responsibleId: boris.id });
    const since = tg.calls.length;
    tg.say(HEAD, `/lead ${lead.id}`);
    await tg.waitFor('sendMessage', (p) => p.chat_id === HEAD, { since });
    await assignLead(s.ctx(userActor(head)), lead.id, anna.id);
    const msg = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(`Вам назначен лид №${lead.id}`), { since, timeoutMs: 5000 });
    assert.ok(msg);
  });

  test('a reminder shortly before a deadline, and the daily digest', async () => {
    const call = (await listActions(s.ctx())).find((a) => a.name === 'Позвонить')!;
    const since = tg.calls.length;
    const work = await createWork(s.ctx(), { actionId: call.id, deadline: new Date(Date.now() + 30 * 60_000 + 300), counterpartyId: northCp, responsibleId: anna.id });
    const reminder = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(`Скоро срок работы №${work.id}`), { since, timeoutMs: 8000 });
    assert.deepEqual(buttons(reminder).map(([, d]) => d), [`work:done:${work.id}`]);
    await s.jobs.add(WORK_DIGEST_JOB, {});
    const digest = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes('Работы на сегодня'), { since, timeoutMs: 8000 });
    assert.match(String(digest.params.text), /Встреча|Позвонить/);
    // the same day's digest is not sent twice
    await s.jobs.add(WORK_DIGEST_JOB, {});
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(tg.calls.slice(since).filter((c) => c.params.chat_id === ANNA && String(c.params.text).includes('Работы на сегодня:')).length, 1);
  });
});

describe('webhook mode', () => {
  test('the secret header is checked; a wrong one gets 401 and nothing is handled', async () => {
    const app = Fastify();
    const bot = createBot({ services: s, token: s.config.TELEGRAM_BOT_TOKEN!, apiRoot: tg.url, botInfo: { id: 999000, is_bot: true, first_name: 'CRM', username: 'crm_test_bot', can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false } as never });
    mountWebhook(app, bot, 'webhook-secret-1');
    const update = { update_id: 900001, message: { message_id: 1, date: 1, chat: { id: ANNA, type: 'private' }, from: { id: ANNA, is_bot: false, first_name: 'Анна' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
    const since = tg.calls.length;
    const forged = await app.inject({ method: 'POST', url: '/webhooks/telegram', headers: { 'x-telegram-bot-api-secret-token': 'webhook-secret-2' }, payload: update });
    assert.equal(forged.statusCode, 401);
    const missing = await app.inject({ method: 'POST', url: '/webhooks/telegram', payload: update });
    assert.equal(missing.statusCode, 401);
    const ok = await app.inject({ method: 'POST', url: '/webhooks/telegram', headers: { 'x-telegram-bot-api-secret-token': 'webhook-secret-1' }, payload: update });
    assert.equal(ok.statusCode, 200);
    const replies = tg.calls.slice(since).filter((c) => c.method === 'sendMessage' && c.params.chat_id === ANNA);
    assert.equal(replies.length, 1);
    assert.match(String(replies[0]!.params.text), /Команды CRM/);
    await app.close();
  });
});
