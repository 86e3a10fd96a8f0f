import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { FakeTelegram, buttons, type ApiCall } from './helpers/fake-telegram.js';
import { startFakeMango, mangoEvents as ev, type FakeMango } from './helpers/fake-mango.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { createLine, setUserExtensions, type PhoneLine } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { dateInZone, localTimeInZone } from '../core/validation/time.js';
import { renderCallCard } from '../bots/telegram/call-card.js';
import type { CallCard } from '../core/telephony/card.js';

/**
 * R20 in the managers' bot: the real CRM (web, worker, bot) long-polling a fake Bot API, a fake Mango
 * VPBX posting signed call events and checking the signs of our commands. Анна (ext. 101, Telegram
 * 7201) takes every call by the rule; Борис (7202) has no extension. Two Mango lines: «Офис» and
 * «Продажи».
 */
const KEY = 'mango-key-telegram-calls';
const SALT = 'mango-salt-telegram-calls';
const OFFICE = '74951110000';
const SALES = '74952220000';
const MARIA = '79161234567'; // a contact of «Северное сияние», with an open lead
const OLEG = '79035550011'; // a contact of «Олегов и партнёры», nothing open
const ANNA = 7201;
const BORIS = 7202;
const MP3 = Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000a call worth hearing', 'binary');

let mango: FakeMango;
let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User, boris: User;
let sales: PhoneLine;
let cpId: number, mariaId: number, mariaLead: number, olegId: number;

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const text = (c: ApiCall) => String(c.params.text);
const buttonFor = (c: ApiCall, label: string | RegExp) => {
  const b = buttons(c).find(([t]) => (typeof label === 'string' ? t === label : label.test(t)));
  assert.ok(b, `no button «${label}» in ${JSON.stringify(buttons(c))} under «${text(c)}»`);
  return b[1];
};
/** the bot's answer, with room for a loaded machine */
const ask = (chat: number, said: string) => tg.ask(chat, said, 30_000);
const press = (chat: number, data: string) => tg.pressAndWait(chat, data, 'sendMessage', 30_000);
let seq = 0;
const entry = () => `TG-${process.pid}-${++seq}`;
const post = async (path: Parameters<FakeMango['postEvent']>[1], json: object) => assert.equal(await mango.postEvent(crm.base, path, json), 200, `${path} refused`);

/** A client calls a line; the card for Анна, once it comes. */
async function ring(from: string, line = OFFICE): Promise<{ entryId: string; card: ApiCall }> {
  const e = entry();
  const since = tg.calls.length;
  await post('events/call', ev.incomingAppeared({ entryId: e, callId: `${e}:1`, from, line }));
  const call = await waitFor('the call row', () => rows<{ id: number }>(sql`SELECT id FROM calls WHERE provider = 'mango' AND provider_call_id = ${e}`).then((r) => r[0]), 30_000);
  const card = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /^<b>📞 Входящий звонок<\/b>/.test(String(p.text)) && buttons({ params: p } as ApiCall).some(([, d]) => d === `call:later:${call.id}`), {
    since,
    timeoutMs: 30_000,
  });
  return { entryId: e, card };
}

before(async () => {
  mango = await startFakeMango({ apiKey: KEY, apiSalt: SALT });
  tg = await new FakeTelegram().start();
  s = await openTestServices({ MANGO_API_KEY: KEY, MANGO_API_SALT: SALT, MANGO_API_ROOT: mango.url, TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  const sys = s.ctx();
  const north = await createSegment(sys, { name: 'Север' });
  anna = await createUser(sys, { email: 'anna@calls.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@calls.test', name: 'Борис', role: 'manager' });
  const admin = await createUser(sys, { email: 'admin@calls.test', name: 'Админ', role: 'admin' });
  await setUserSegments(sys, anna.id, [north.id]);
  await setUserSegments(sys, boris.id, [north.id]);
  await rows(sql`UPDATE users SET telegram_id = ${ANNA} WHERE id = ${anna.id}`);
  await rows(sql`UPDATE users SET telegram_id = ${BORIS} WHERE id = ${boris.id}`);
  const adm = s.ctx(userActor(admin));
  await setUserExtensions(adm, anna.id, { mango: '101' });
  await createLine(adm, { provider: 'mango', number: `+${OFFICE}`, name: 'Офис' });
  sales = await createLine(adm, { provider: 'mango', number: `+${SALES}`, name: 'Продажи' });
  await createCallRule(adm, { name: 'Всё — Анне', target: 'user', targetUserId: anna.id });
  cpId = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Северное сияние»', segmentId: north.id, responsibleId: anna.id })).id;
  mariaId = (await createContact(sys, { name: 'Мария Звонкова', phones: [`+${MARIA}`], counterpartyId: cpId })).id;
  mariaLead = (await createLead(sys, { title: 'Окна в дом', source: 'website', contactId: mariaId, responsibleId: anna.id })).id;
  const olegCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'Олегов и партнёры', segmentId: north.id, responsibleId: anna.id })).id;
  olegId = (await createContact(sys, { name: 'Олег Олегов', phones: [`+${OLEG}`], counterpartyId: olegCp })).id;
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  await tg.waitFor('setMyCommands', () => true, { timeoutMs: 60_000 });
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
  await mango?.close();
});

// first, while /call lists few calls: the list shows the latest ten
describe('recordings', () => {
  test('«🎧» in /call sends the stored recording as audio, byte for byte', async () => {
    const e = entry();
    const leg = { entryId: e, callId: `${e}:1`, from: MARIA, line: OFFICE, extension: '101' };
    await post('events/call', ev.incomingAppeared({ ...leg, seq: 1 }));
    await post('events/call', ev.connected({ ...leg, seq: 2 }));
    const end = Math.floor(Date.now() / 1000);
    await post('events/summary', ev.summary({ entryId: e, client: MARIA, line: OFFICE, extension: '101', createTime: end - 100, talkTime: end - 80, endTime: end }));
    const rec = `R-${e}`;
    mango.setRecording(rec, MP3);
    await post('events/recording', ev.recordingCompleted({ entryId: e, callId: `${e}:1`, recordingId: rec, extension: '101' }));
    const [call] = await waitFor(
      'the recording stored',
      async () => {
        const r = await rows<{ id: number; recording_status: string }>(sql`SELECT id, recording_status FROM calls WHERE provider_call_id = ${e}`);
        return r[0]?.recording_status === 'stored' ? r : null;
      },
      30_000,
    );

    const list = await ask(ANNA, '/call');
    assert.match(text(list), /Мои звонки/);
    assert.match(text(list), new RegExp(`№${call!.id} .*Мария Звонкова.*🎧`));
    const since = tg.calls.length;
    tg.press(ANNA, buttonFor(list, `🎧 №${call!.id}`));
    const audio = await tg.waitFor('sendAudio', (p) => Number(p.chat_id) === ANNA, { since, timeoutMs: 30_000 });
    const file = audio.params.audio as { data: Buffer };
    assert.ok(Buffer.from(file.data).equals(MP3));

    // the call's own card, opened from the list, carries the recording too
    const opened = await press(ANNA, `call:card:${call!.id}`);
    assert.match(text(opened), /Входящий звонок №\d+ — состоялся, 1:20/);
    assert.equal(buttonFor(opened, '🎧 Запись'), `call:rec:${call!.id}`);
  });
});

describe('the incoming-call card', () => {
  test('a known client calls: the manager gets who, their company, the open lead, the line and the buttons', async () => {
    const { card } = await ring(MARIA);
    const t = text(card);
    assert.match(t, /<b>Мария Звонкова<\/b>, \+7 916/);
    assert.match(t, /Клиент: ООО «Северное сияние»/);
    assert.match(t, new RegExp(`Лид №${mariaLead}: Окна в дом`));
    assert.match(t, /Линия: Офис/);
    assert.match(t, /Время: \d\d\.\d\d\.\d{4}, \d\d:\d\d/);
    const labels = buttons(card).map(([l]) => l);
    assert.deepEqual(labels, ['📝 Заметка', '⏰ Перезвонить позже', '📞 Перезвонить']);
    // «Заметка» is the notes dialogue on the client's open lead
    assert.equal(buttonFor(card, '📝 Заметка'), `note:new:lead:${mariaLead}`);
    assert.match(text(await press(ANNA, buttonFor(card, '📝 Заметка'))), new RegExp(`Текст заметки к карточке лида №${mariaLead}`));
    assert.match(text(await ask(ANNA, 'Звонила, просит замер в субботу')), /Заметка .* сохранена/);
    const [note] = await rows<{ entity_type: string; entity_id: number }>(sql`SELECT entity_type, entity_id FROM notes WHERE text = 'Звонила, просит замер в субботу'`);
    assert.deepEqual({ ...note }, { entity_type: 'lead', entity_id: mariaLead });
  });

  test('«Перезвонить позже» → «Завтра в 10:00» plans a work «Позвонить» on the lead at 10:00 tomorrow in the manager’s zone', async () => {
    const { card } = await ring(MARIA, SALES);
    const choices = await press(ANNA, buttonFor(card, '⏰ Перезвонить позже'));
    assert.deepEqual(buttons(choices).map(([l]) => l), ['Через 15 минут', 'Через час', 'Завтра в 10:00']);
    const done = await press(ANNA, buttonFor(choices, 'Завтра в 10:00'));
    const workId = Number(/Работа «Позвонить» №(\d+) запланирована на/.exec(text(done))?.[1]);
    assert.ok(workId, text(done));
    const [w] = await rows<{ deadline: Date; lead_id: number; responsible_id: number; action: string; comment: string }>(
      sql`SELECT w.deadline, w.lead_id, w.responsible_id, a.name AS action, w.comment FROM works w JOIN actions a ON a.id = w.action_id WHERE w.id = ${workId}`,
    );
    const tomorrow = dateInZone(new Date(Date.now() + 86_400_000), anna.timeZone);
    assert.equal(new Date(w!.deadline).toISOString(), localTimeInZone(tomorrow, 10, 0, anna.timeZone).toISOString());
    assert.equal(w!.lead_id, mariaLead);
    assert.equal(w!.responsible_id, anna.id);
    assert.equal(w!.action, 'Позвонить');
    assert.match(w!.comment, /Перезвонить: Мария Звонкова/);

    const before = Date.now();
    const soon = await press(ANNA, buttonFor(choices, 'Через 15 минут'));
    const soonId = Number(/№(\d+)/.exec(text(soon))?.[1]);
    const [w15] = await rows<{ deadline: Date }>(sql`SELECT deadline FROM works WHERE id = ${soonId}`);
    const at = new Date(w15!.deadline).getTime();
    assert.ok(at >= before + 15 * 60_000 - 1000 && at <= Date.now() + 15 * 60_000 + 1000, `deadline ${new Date(at).toISOString()}`);
  });

  test('a client with nothing open: «Создать лид» makes a phone lead on the contact and shows its card; again, it says the lead is open', async () => {
    const { card } = await ring(OLEG);
    assert.match(text(card), /<b>Олег Олегов<\/b>/);
    assert.match(text(card), /Открытых лидов и сделок нет/);
    const made = await press(ANNA, buttonFor(card, '➕ Создать лид'));
    const leadId = Number(/Создан лид №(\d+)/.exec(text(made))?.[1]);
    assert.ok(leadId, text(made));
    assert.match(text(made), /Источник: Телефонный звонок/);
    const [lead] = await rows<{ source: string; contact_id: number; responsible_id: number }>(sql`SELECT source, contact_id, responsible_id FROM leads WHERE id = ${leadId}`);
    assert.deepEqual({ ...lead }, { source: 'phone', contact_id: olegId, responsible_id: anna.id });
    assert.match(text(await press(ANNA, buttonFor(card, '➕ Создать лид'))), new RegExp(`уже есть открытый лид №${leadId}`));
  });

  test('an unknown number: the card says the call made a lead, with no «Создать лид»', async () => {
    const { card } = await ring('79990001122');
    const m = /Неизвестный номер<\/b> \+7 999 000[ -]?11[ -]?22 — создан лид №(\d+)/.exec(text(card));
    assert.ok(m, text(card));
    const [lead] = await rows<{ source: string }>(sql`SELECT source FROM leads WHERE id = ${Number(m[1])}`);
    assert.equal(lead!.source, 'phone');
    assert.ok(!buttons(card).some(([l]) => l === '➕ Создать лид'));
  });

  test('«📞 Перезвонить» on the card calls the number back, through the line choice', async () => {
    const { card } = await ring(MARIA);
    const lines = await press(ANNA, buttonFor(card, '📞 Перезвонить'));
    assert.match(text(lines), /Выбрать линию оператора: с какого номера звонить \+7 916/);
    const before = mango.commands.length;
    assert.match(text(await press(ANNA, buttonFor(lines, /^Офис/))), /Звоним: .*доб\. 101/);
    const cmd = mango.commands.slice(before).find((c) => c.path === 'commands/callback');
    const [call] = await rows<{ lead_id: number }>(sql`SELECT lead_id FROM calls WHERE command_id = ${String(cmd?.json.command_id)}`);
    assert.equal(call!.lead_id, mariaLead);
  });

  test('a missed call: the card says it was missed and that a work «Перезвонить» was made', async () => {
    const e = entry();
    const since = tg.calls.length;
    await post('events/call', ev.incomingAppeared({ entryId: e, callId: `${e}:1`, from: MARIA, line: OFFICE }));
    const end = Math.floor(Date.now() / 1000);
    await post('events/summary', ev.summary({ entryId: e, client: MARIA, line: OFFICE, createTime: end - 30, endTime: end }));
    const missed = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /^<b>📵 Пропущенный звонок<\/b>/.test(String(p.text)), { since, timeoutMs: 30_000 });
    const workId = Number(/Создана работа «Перезвонить» №(\d+)/.exec(text(missed))?.[1]);
    assert.ok(workId, text(missed));
    const [c] = await rows<{ follow_up_work_id: number }>(sql`SELECT follow_up_work_id FROM calls WHERE provider_call_id = ${e}`);
    assert.equal(c!.follow_up_work_id, workId);
    assert.match(text(missed), /Мария Звонкова/);
  });
});

describe('click-to-call from Telegram', () => {
  test('«📞 Позвонить» on the contact card, two lines: the manager picks one, Mango is asked with their extension and that line', async () => {
    const card = await ask(ANNA, `/contact ${mariaId}`);
    const lines = await press(ANNA, buttonFor(card, '📞 Позвонить'));
    assert.match(text(lines), /Выбрать линию оператора/);
    assert.deepEqual(buttons(lines).map(([l]) => l.split(' · ')[0]), ['Офис', 'Продажи']);
    const before = mango.commands.length;
    const calling = await press(ANNA, buttonFor(lines, /^Продажи/));
    assert.match(text(calling), /Звоним: сначала зазвонит ваш телефон \(доб\. 101\), затем — клиент \+7 916/);
    const cmd = mango.commands.slice(before).find((c) => c.path === 'commands/callback');
    assert.ok(cmd, 'Mango got commands/callback');
    assert.deepEqual(cmd.json.from, { extension: '101' });
    assert.equal(cmd.json.line_number, SALES);
    assert.equal(cmd.json.to_number, MARIA);
    const [call] = await rows<{ direction: string; contact_id: number; user_id: number; line_id: number }>(sql`SELECT direction, contact_id, user_id, line_id FROM calls WHERE command_id = ${String(cmd.json.command_id)}`);
    assert.deepEqual({ ...call }, { direction: 'out', contact_id: mariaId, user_id: anna.id, line_id: sales.id });
  });

  test('/call N calls contact №N; /call +7… calls a number; the lead and client cards offer «📞 Позвонить»', async () => {
    let before = mango.commands.length;
    const lines = await ask(ANNA, `/call ${mariaId}`);
    await press(ANNA, buttonFor(lines, /^Офис/));
    await waitFor('the callback', () => mango.commands.slice(before).find((c) => c.path === 'commands/callback'));
    assert.equal(mango.commands.at(-1)!.json.line_number, OFFICE);

    before = mango.commands.length;
    const typed = await ask(ANNA, '/call 8 (903) 555-00-11');
    assert.match(text(await press(ANNA, buttonFor(typed, /^Офис/))), /затем — клиент \+7 903/);
    assert.equal(mango.commands.slice(before).find((c) => c.path === 'commands/callback')?.json.to_number, OLEG);

    const lead = await ask(ANNA, `/lead ${mariaLead}`);
    assert.equal(buttonFor(lead, '📞 Позвонить'), `tel:lead:${mariaLead}`);
    assert.match(text(await press(ANNA, `tel:lead:${mariaLead}`)), /Выбрать линию оператора/);
    const client = await ask(ANNA, `/client ${cpId}`);
    // the company has no number of its own: its people's are offered
    assert.equal(buttonFor(client, '📞 Позвонить'), `tel:cp:${cpId}`);
    assert.match(text(await press(ANNA, `tel:cp:${cpId}`)), /Выбрать линию оператора/);
  });

  test('/help lists /call', async () => {
    assert.match(text(await ask(ANNA, '/help')), /\/call — Позвонить/);
  });

  test('a manager without an extension is told why in Russian, and nothing is dialled', async () => {
    const before = mango.commands.length;
    const answer = await ask(BORIS, `/call ${mariaId}`);
    assert.match(text(answer), /⚠️ .*внутреннего номера.*«Пользователи»/);
    assert.equal(mango.commands.length, before);
  });
});

describe('the card as rendered', () => {
  const card = (over: Partial<CallCard> = {}): CallCard =>
    ({
      call: { id: 5, direction: 'in', status: 'ringing', at: new Date('2026-03-02T07:05:00Z'), clientNumber: '+79161234567', lineName: 'Офис', lineNumber: '+74951110000', recordingStatus: null, followUpWorkId: null, durationSec: 0, userName: null },
      number: '+7 916 123 45 67',
      contact: { id: 3, name: 'Иван <Иваныч> & сын' },
      counterparty: { id: 4, name: 'ООО «Рога & копыта»' },
      lead: null,
      deal: { id: 9, title: 'Поставка' },
      last: [],
      ...over,
    }) as CallCard;

  test('names are escaped, the time is in the manager’s zone, the panel links come with PUBLIC_URL', () => {
    const { text: t, keyboard } = renderCallCard(card(), { mode: 'incoming', timeZone: 'Asia/Yekaterinburg', publicUrl: 'https://crm.example.ru', canCall: true });
    assert.match(t, /<b>Иван &lt;Иваныч&gt; &amp; сын<\/b>/);
    assert.match(t, /Клиент: ООО «Рога &amp; копыта»/);
    assert.match(t, /Время: 02\.03\.2026, 12:05/);
    assert.match(t, /<a href="https:\/\/crm\.example\.ru\/admin\/contacts\/3">контакт<\/a>/);
    assert.match(t, /<a href="https:\/\/crm\.example\.ru\/admin\/deals\/9">сделка №9<\/a>/);
    // a deal is open: no «Создать лид»; the note goes on the deal
    const data = keyboard.inline_keyboard.flat().map((b) => ('callback_data' in b ? b.callback_data : ''));
    assert.deepEqual(data, ['note:new:deal:9', 'call:later:5', 'call:back:5']);
  });

  test('without telephony to call back there is no «Перезвонить»; without PUBLIC_URL no links', () => {
    const { text: t, keyboard } = renderCallCard(card({ deal: null }), { mode: 'incoming', timeZone: 'Europe/Moscow', canCall: false });
    assert.doesNotMatch(t, /href/);
    assert.deepEqual(keyboard.inline_keyboard.flat().map((b) => b.text), ['📝 Заметка', '⏰ Перезвонить позже', '➕ Создать лид']);
  });
});
