import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { FakeTelegram, buttons, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { randomInn } from './helpers/world.js';
import { makeSeller } from './helpers/seller.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { createUser, type User } from '../core/users/users.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createDeal } from '../core/deals/deals.js';
import { addDealLine } from '../core/deals/lines.js';
import { createMailbox } from '../core/mail/mailboxes.js';
import { mailEnv } from '../core/mail/env.js';

/**
 * R21/R22 from Telegram: a manager makes a КП or an invoice with its contract from the deal card's
 * buttons, gets the files in the chat and sends them to the client. The real CRM (web, worker, bot)
 * long-polls a fake Bot API. 7001 Анна (manager, «Север»), 7002 Борис (manager, «Юг»), 7101 the
 * client Мария, whose Telegram chat is a conversation of the deal's contact.
 */
const ANNA = 7001;
const BORIS = 7002;
const CLIENT = 7101;
const PANEL = 'https://crm.example.test';

let tg: FakeTelegram;
let s: Services;
let crm: TestCrm;
let anna: User;
/** ООО «Северное сияние» with an INN and an e-mail, its contact Мария with a Telegram conversation, two lines */
let mainDeal: number;
let conversationId: number;
/** a client with an INN but neither a messenger conversation nor an e-mail */
let silentDeal: number;
/** a messenger lead's deal: no counterparty */
let bareDeal: number;
/** a company entered without its INN */
let noInnDeal: number;
let noInnCp: number;

const text = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');
const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const fileName = (c: ApiCall) => String((c.params.document as { name?: string } | undefined)?.name ?? '');
const buttonFor = (c: ApiCall, label: RegExp) => {
  const b = buttons(c).find(([t]) => label.test(t));
  assert.ok(b, `no button ${label} in ${JSON.stringify(buttons(c))}`);
  return b[1];
};
const documentsOf = (dealId: number) =>
  rows<{ id: number; kind: string; number: number | null; version: number | null }>(sql`SELECT id, kind, number, version FROM documents WHERE deal_id = ${dealId} ORDER BY id`);

/** Presses a button and waits for the document named like `name` that the bot sends back to that chat. */
async function pressForDocument(userId: number, data: string, name: RegExp): Promise<{ since: number; call: ApiCall }> {
  const since = tg.calls.length;
  tg.press(userId, data);
  const call = await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === userId && name.test(fileName({ params: p } as ApiCall)), { since, timeoutMs: 60_000 });
  return { since, call };
}

const reply = (userId: number, since: number, pattern: RegExp) =>
  tg.waitFor('sendMessage', (p) => Number(p.chat_id) === userId && pattern.test(String(p.text)), { since, timeoutMs: 60_000 });

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url, PUBLIC_URL: PANEL });
  const sys = s.ctx();
  const north = await createSegment(sys, { name: 'Север' });
  const south = await createSegment(sys, { name: 'Юг' });
  anna = await createUser(sys, { email: 'anna@docs.test', name: 'Анна', role: 'manager' });
  const boris = await createUser(sys, { email: 'boris@docs.test', name: 'Борис', role: 'manager' });
  await setUserSegments(sys, anna.id, [north.id]);
  await setUserSegments(sys, boris.id, [south.id]);
  await s.database.db.execute(sql`UPDATE users SET telegram_id = ${ANNA} WHERE id = ${anna.id}`);
  await s.database.db.execute(sql`UPDATE users SET telegram_id = ${BORIS} WHERE id = ${boris.id}`);

  await makeSeller(sys);

  const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Северное сияние»', segmentId: north.id, inn: randomInn('legal_entity'), emails: ['buh@siyanie.test'] });
  const maria = await createContact(sys, { name: 'Мария Петрова', counterpartyId: cp.id });
  const [conv] = await rows<{ id: number }>(sql`INSERT INTO conversations (channel, contact_id, external_chat_id, last_message_at) VALUES ('telegram', ${maria.id}, ${String(CLIENT)}, now()) RETURNING id`);
  conversationId = conv!.id;
  mainDeal = (await createDeal(sys, { title: 'Окна в офис', counterpartyId: cp.id, contactId: maria.id, responsibleId: anna.id })).id;
  await addDealLine(sys, mainDeal, { name: 'Окно ПВХ 1200×1400', quantity: '4', unit: 'шт', price: '15 000', vatRate: 22 });
  await addDealLine(sys, mainDeal, { name: 'Монтаж', quantity: '1', unit: 'усл.', price: '8 000,50', vatRate: 22 });

  const quiet = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Тишина»', segmentId: north.id, inn: randomInn('legal_entity') });
  silentDeal = (await createDeal(sys, { title: 'Двери', amount: '30000', counterpartyId: quiet.id, responsibleId: anna.id })).id;
  bareDeal = (await createDeal(sys, { title: 'Заявка из мессенджера', amount: '12000', responsibleId: anna.id })).id;
  noInnCp = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Без ИНН»', segmentId: north.id })).id;
  noInnDeal = (await createDeal(sys, { title: 'Жалюзи', amount: '5000', counterpartyId: noInnCp, responsibleId: anna.id })).id;

  // a mailbox to send from; the mail jobs do not run here, so the letter stays queued
  await createMailbox(sys, mailEnv(s), { name: 'Продажи', service: 'yandex', login: 'sales@romashka.test', password: 'app-password' });

  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  // polling starts in the background: the command menu is its last step before reading updates
  await tg.waitFor('setMyCommands', () => true, { timeoutMs: 60_000 });
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('«Счёт и договор» from the deal card', () => {
  let invoiceId: number;

  test('the manager gets the invoice PDF and the contract PDF and DOCX, numbered, stored with the deal', async () => {
    const card = await tg.ask(ANNA, `/deal ${mainDeal}`);
    const { since, call: invoice } = await pressForDocument(ANNA, buttonFor(card, /^Счёт и договор$/), /^Счёт № 1 от \d\d\.\d\d\.\d{4}\.pdf$/);
    assert.match(text(invoice), /^Счёт № 1 от \d\d\.\d\d\.\d{4} на \d/);
    assert.equal(String((invoice.params.document as { data: Buffer }).data.subarray(0, 5)), '%PDF-');
    assert.deepEqual(buttons(invoice).map(([t]) => t), ['Отправить клиенту счёт и договор']);
    const contractPdf = await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === ANNA && /^Договор № 1 от \d\d\.\d\d\.\d{4}\.pdf$/.test(fileName({ params: p } as ApiCall)), { since, timeoutMs: 60_000 });
    assert.match(text(contractPdf), /^Договор № 1 от/);
    await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === ANNA && /^Договор № 1 от \d\d\.\d\d\.\d{4}\.docx$/.test(fileName({ params: p } as ApiCall)), { since, timeoutMs: 60_000 });

    const docs = await documentsOf(mainDeal);
    assert.deepEqual(docs.map((d) => [d.kind, d.number]).sort(), [['contract', 1], ['invoice', 1]]);
    invoiceId = docs.find((d) => d.kind === 'invoice')!.id;
    assert.equal(buttonFor(invoice, /Отправить клиенту/), `ddoc:send:${invoiceId}`);
  });

  test('«Отправить клиенту» offers the client\'s Telegram chat and e-mail; the chat gets a message from the manager with both PDFs', async () => {
    const since = tg.calls.length;
    tg.press(ANNA, `ddoc:send:${invoiceId}`);
    const offer = await reply(ANNA, since, /Куда отправить/);
    assert.deepEqual(buttons(offer).map(([t]) => t), ['Мария Петрова, Telegram', 'По e-mail: buh@siyanie.test']);

    const pressed = tg.calls.length;
    tg.press(ANNA, buttonFor(offer, /Telegram/));
    assert.match(text(await reply(ANNA, pressed, /Отправлено клиенту/)), /Счёт № 1 от .* и Договор № 1 от .* → Мария Петрова, Telegram/);
    const [message] = await rows<{ author_user_id: number; attachments: { name: string; mime: string }[] }>(
      sql`SELECT author_user_id, attachments FROM messages WHERE conversation_id = ${conversationId} AND direction = 'out'`,
    );
    assert.equal(message!.author_user_id, anna.id);
    const names = message!.attachments.map((a) => a.name);
    assert.equal(names.length, 2, JSON.stringify(names));
    assert.match(names[0]!, /^Счёт № 1 от \d\d\.\d\d\.\d{4}\.pdf$/);
    assert.match(names[1]!, /^Договор № 1 от \d\d\.\d\d\.\d{4}\.pdf$/);
    // the channel's job delivers the files to the client's chat
    await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === CLIENT && /^Счёт № 1/.test(fileName({ params: p } as ApiCall)), { since: pressed, timeoutMs: 60_000 });
    const [sent] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM documents WHERE deal_id = ${mainDeal} AND sent_at IS NOT NULL`);
    assert.equal(Number(sent!.n), 2);
  });

  test('«По e-mail» writes a letter with the files to the client\'s address', async () => {
    const since = tg.calls.length;
    tg.press(ANNA, `ddoc:mail:${invoiceId}`);
    assert.match(text(await reply(ANNA, since, /Отправлено клиенту/)), /по e-mail на buh@siyanie\.test/);
    const [letter] = await rows<{ to_addresses: string[]; subject: string; n: number }>(
      sql`SELECT to_addresses, subject, jsonb_array_length(attachments)::int AS n FROM emails WHERE deal_id = ${mainDeal}`,
    );
    assert.deepEqual(letter!.to_addresses, ['buh@siyanie.test']);
    assert.match(letter!.subject, /^Счёт № 1 от .* и Договор № 1 от .* — Окна в офис$/);
    assert.ok(Number(letter!.n) >= 2, 'the invoice and contract files are attached');
  });

  test('a client with neither a messenger chat nor an e-mail: the bot says so', async () => {
    const { since } = await pressForDocument(ANNA, `ddoc:inv:${silentDeal}`, /^Счёт № 2 от/);
    const [invoice] = (await documentsOf(silentDeal)).filter((d) => d.kind === 'invoice');
    tg.press(ANNA, `ddoc:send:${invoice!.id}`);
    assert.match(text(await reply(ANNA, since, /Некуда отправить/)), /нет ни переписки в мессенджерах, ни e-mail/);
  });

  test('a deal without a counterparty gets the Russian reason with the panel link, and nothing is made', async () => {
    const since = tg.calls.length;
    tg.press(ANNA, `ddoc:inv:${bareDeal}`);
    const answer = text(await reply(ANNA, since, /нет контрагента/));
    assert.match(answer, /у сделки «Заявка из мессенджера» нет контрагента/);
    assert.ok(answer.includes(`Заполните в панели: ${PANEL}/admin/deals/${bareDeal}`), answer);
    assert.equal((await documentsOf(bareDeal)).length, 0);
    assert.ok(!tg.calls.slice(since).some((c) => c.method === 'sendDocument' && Number(c.params.chat_id) === ANNA));
  });

  test('a buyer without an INN: the answer names it and links the counterparty\'s card; nothing is made', async () => {
    const since = tg.calls.length;
    tg.press(ANNA, `ddoc:inv:${noInnDeal}`);
    const answer = text(await reply(ANNA, since, /нет ИНН/));
    assert.match(answer, /у контрагента «ООО «Без ИНН»» нет ИНН/);
    assert.ok(answer.includes(`Заполните в панели: ${PANEL}/admin/counterparties/${noInnCp}`), answer);
    assert.equal((await documentsOf(noInnDeal)).length, 0);
  });

  test('another segment\'s manager cannot make documents on the deal', async () => {
    const before = (await documentsOf(mainDeal)).length;
    const since = tg.calls.length;
    tg.press(BORIS, `ddoc:inv:${mainDeal}`);
    await reply(BORIS, since, /недоступн|Нет доступа/);
    assert.equal((await documentsOf(mainDeal)).length, before);
  });
});

describe('«КП» from the deal card', () => {
  test('each press makes the next version and sends its PDF and DOCX with «Отправить клиенту»', async () => {
    const card = await tg.ask(ANNA, `/deal ${mainDeal}`);
    const first = await pressForDocument(ANNA, buttonFor(card, /^КП$/), /^КП № \d+-1 от \d\d\.\d\d\.\d{4}\.pdf$/);
    assert.match(text(first.call), /^КП № \d+-1 от \d\d\.\d\d\.\d{4}/);
    assert.deepEqual(buttons(first.call).map(([t]) => t), ['Отправить клиенту']);
    await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === ANNA && /^КП № \d+-1 .*\.docx$/.test(fileName({ params: p } as ApiCall)), { since: first.since, timeoutMs: 60_000 });
    const second = await pressForDocument(ANNA, `ddoc:cp:${mainDeal}`, /^КП № \d+-2 от \d\d\.\d\d\.\d{4}\.pdf$/);
    const proposals = (await documentsOf(mainDeal)).filter((d) => d.kind === 'proposal');
    assert.deepEqual(proposals.map((p) => p.version), [1, 2]);
    assert.equal(buttons(second.call)[0]![1], `ddoc:send:${proposals[1]!.id}`);
  });

  test('the КП goes to the client\'s chat as a PDF', async () => {
    const [latest] = (await documentsOf(mainDeal)).filter((d) => d.kind === 'proposal').slice(-1);
    const since = tg.calls.length;
    tg.press(ANNA, `ddoc:msg:${latest!.id}:${conversationId}`);
    assert.match(text(await reply(ANNA, since, /Отправлено клиенту/)), /КП № \d+-2/);
    await tg.waitFor('sendDocument', (p) => Number(p.chat_id) === CLIENT && /^КП № \d+-2 .*\.pdf$/.test(fileName({ params: p } as ApiCall)), { since, timeoutMs: 60_000 });
    await waitFor('the КП marked as sent', async () => (await rows<{ sent_at: Date | null }>(sql`SELECT sent_at FROM documents WHERE id = ${latest!.id}`))[0]?.sent_at);
  });
});
