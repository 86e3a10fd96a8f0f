import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { and, eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { FakeTelegram, buttons } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { sleep, waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { inTransaction } from '../core/context.js';
import { ServiceError } from '../core/errors.js';
import { auditLog, conversations, emails, historyEvents, mailboxes, messages, tickets } from '../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { deleteAnswerTemplate, fillAnswerTemplate, firstNameOf, listAnswerTemplates, saveAnswerTemplate } from '../core/helpdesk/templates.js';
import { parseRating, ratingFromMessage, ratingToken, requestRating } from '../core/helpdesk/ratings.js';
import type { Ticket } from '../core/helpdesk/types.js';
import { updateTicket } from '../core/helpdesk/tickets.js';
import type { WhatsAppClientLike, WhatsAppMediaLike, WhatsAppMessageLike, WhatsAppSendOptions } from '../bots/whatsapp/client.js';
import { ViberAdapter, viberParts } from '../bots/viber/adapter.js';

/**
 * R23 answer templates and the client's rating after «Решено»: the real CRM (web, worker, bot)
 * with a fake Bot API, a stand-in WhatsApp Web client, and the public /rate page over HTTP.
 * A solved ticket is set up directly in the database; the rating request is what is under test.
 */
const CLIENT_TG = 7301;
const CLIENT_WA = '79161112233@c.us';

class StandInWhatsApp extends EventEmitter implements WhatsAppClientLike {
  readonly sent: { chatId: string; text?: string }[] = [];
  private seq = 0;
  async initialize(): Promise<void> {}
  async destroy(): Promise<void> {}
  async sendMessage(chatId: string, content: string | WhatsAppMediaLike, _options?: WhatsAppSendOptions) {
    this.sent.push({ chatId, ...(typeof content === 'string' ? { text: content } : {}) });
    return { id: { _serialized: `true_${chatId}_OUT${++this.seq}` } };
  }
  async getChats() {
    return [];
  }
  async getContactLidAndPhone(userIds: string[]) {
    return userIds.map((lid) => ({ lid, pn: undefined }));
  }
  receive(id: string, body: string): void {
    const m: WhatsAppMessageLike = {
      body,
      fromMe: false,
      timestamp: Math.floor(Date.now() / 1000),
      type: 'chat',
      hasMedia: false,
      downloadMedia: async () => undefined,
      getContact: async () => ({ number: CLIENT_WA.split('@')[0], pushname: 'Ольга' }),
      from: CLIENT_WA,
      id: { _serialized: id },
    } as unknown as WhatsAppMessageLike;
    this.emit('message', m);
  }
}

let tg: FakeTelegram;
let wa: StandInWhatsApp;
let s: Services & { dataDir: string };
let crm: TestCrm;
let admin: User, anna: User, boris: User;
const notes: Notification[] = [];

const env = () => ({ publicUrl: s.config.PUBLIC_URL, secretKey: s.secretKey });
const ticketRow = async (id: number) => (await s.ctx().db.select().from(tickets).where(eq(tickets.id, id)))[0]!;

/** a ticket in work on the chat, assigned to Анна, which she then marks «Решено» */
async function solvedTicketOn(conversationId: number, contactId: number, channel: Ticket['channel']): Promise<Ticket> {
  const now = new Date();
  const [t] = await s
    .ctx()
    .db.insert(tickets)
    .values({ subject: 'Не проходит оплата', contactId, channel, conversationId, assigneeId: anna.id, status: 'in_progress', firstResponseAt: now })
    .returning();
  await s.ctx().db.update(conversations).set({ ticketId: t!.id }).where(eq(conversations.id, conversationId));
  return updateTicket(s.ctx(userActor(anna)), t!.id, { status: 'solved' }, env());
}

before(async () => {
  tg = await new FakeTelegram().start();
  wa = new StandInWhatsApp();
  s = await openTestServices({
    TELEGRAM_BOT_TOKEN: '123456:TEST-ratings',
    TELEGRAM_API_ROOT: tg.url,
    WHATSAPP_ENABLED: 'true',
    PUBLIC_URL: 'https://crm.example.test',
  });
  const sys = s.ctx();
  admin = await createUser(sys, { email: 'admin@ratings.test', name: 'Админ', role: 'admin' });
  anna = await createUser(sys, { email: 'anna@ratings.test', name: 'Анна Смирнова', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@ratings.test', name: 'Борис', role: 'manager' });
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['notifications', 'mail'], whatsapp: { client: wa, restartDelayMs: 10 } });
  wa.emit('ready');
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

describe('answer templates', () => {
  test('placeholders are filled for the ticket: first name, client, company, the acting manager, number, subject', async () => {
    const cp = await createCounterparty(s.ctx(), { kind: 'legal_entity', name: 'ООО «Ромашка»', isActiveClient: true });
    const contact = await createContact(s.ctx(), { name: 'Петров Иван Сергеевич', counterpartyId: cp.id });
    const [t] = await s.ctx().db.insert(tickets).values({ subject: 'Счёт не пришёл', contactId: contact.id, counterpartyId: cp.id, channel: 'manual', assigneeId: anna.id }).returning();
    const tpl = await saveAnswerTemplate(s.ctx(userActor(admin)), null, {
      title: 'Полный',
      body: 'Здравствуйте, {{имя}}! {{ клиент }}, {{компания}}: по обращению №{{номер}} «{{тема}}» отвечает {{менеджер}}.',
    });
    const text = await fillAnswerTemplate(s.ctx(userActor(anna)), tpl.id, t!.id);
    assert.equal(text, `Здравствуйте, Иван! Петров Иван Сергеевич, ООО «Ромашка»: по обращению №${t!.id} «Счёт не пришёл» отвечает Анна Смирнова.`);
    // the seeded ones fill too
    const seeded = (await listAnswerTemplates(s.ctx(userActor(boris)))).find((x) => x.title === 'Приветствие')!;
    assert.equal(await fillAnswerTemplate(s.ctx(userActor(admin)), seeded.id, t!.id), `Здравствуйте, Иван! Обращение №${t!.id} принято, Админ уже разбирается.`);
    assert.equal(firstNameOf('Мария Котова'), 'Мария');
  });

  test('an unknown placeholder is refused naming it; managers read the book but do not change it; changes are audited', async () => {
    const before = await listAnswerTemplates(s.ctx(userActor(admin)), { includeInactive: true });
    await assert.rejects(
      saveAnswerTemplate(s.ctx(userActor(admin)), null, { title: 'Плохой', body: 'Здравствуйте, {{фамилия}}!' }),
      (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && /\{\{фамилия\}\}/.test(e.fields.body ?? '') && /\{\{имя\}\}/.test(e.fields.body ?? ''),
    );
    await assert.rejects(saveAnswerTemplate(s.ctx(userActor(boris)), null, { title: 'Мой', body: 'Текст' }), (e: unknown) => e instanceof ServiceError && e.code === 'forbidden');
    assert.equal((await listAnswerTemplates(s.ctx(userActor(admin)), { includeInactive: true })).length, before.length);

    const tpl = await saveAnswerTemplate(s.ctx(userActor(admin)), null, { title: 'Временный', body: 'Текст для {{клиент}}' });
    const changed = await saveAnswerTemplate(s.ctx(userActor(admin)), tpl.id, { title: 'Временный', body: 'Текст', active: false });
    assert.equal(changed.active, false);
    assert.ok(!(await listAnswerTemplates(s.ctx(userActor(boris)))).some((x) => x.id === tpl.id), 'a switched-off template is not offered');
    await deleteAnswerTemplate(s.ctx(userActor(admin)), tpl.id);
    const trail = await s.ctx().db.select().from(auditLog).where(and(eq(auditLog.entityType, 'answer_template'), eq(auditLog.entityId, tpl.id)));
    assert.deepEqual(trail.map((a) => a.action).sort(), ['create', 'delete', 'update']);
    assert.ok(trail.every((a) => a.actorUserId === admin.id));
  });
});

describe('ratings from messengers', () => {
  test('«5», «5.», «Оценка: 4» and «5 из 5» are ratings; «5 коробок» and «6» are not', () => {
    assert.equal(parseRating('5'), 5);
    assert.equal(parseRating(' 5. '), 5);
    assert.equal(parseRating('Оценка: 4'), 4);
    assert.equal(parseRating('5 из 5\n\n> Оцените, пожалуйста…'), 5);
    assert.equal(parseRating('5 коробок, пожалуйста'), null);
    assert.equal(parseRating('6'), null);
    assert.equal(parseRating(undefined), null);
  });

  test('a solved Telegram ticket: the client gets 5 buttons, presses 4 — the rating is stored, thanked for, the ticket stays solved', async () => {
    tg.say(CLIENT_TG, 'Здравствуйте, не проходит оплата');
    const conv = await waitFor('the Telegram chat', async () =>
      (await s.ctx().db.select().from(conversations).where(and(eq(conversations.channel, 'telegram'), eq(conversations.externalChatId, String(CLIENT_TG)))))[0],
    );
    const since = tg.calls.length;
    const t = await solvedTicketOn(conv.id, conv.contactId, 'telegram');
    assert.ok(t.ratingRequestedAt, 'the request is stamped');

    const [asked] = await s.ctx().db.select().from(messages).where(and(eq(messages.ticketId, t.id), eq(messages.direction, 'out')));
    assert.equal(asked!.text, `Оцените, пожалуйста, ответ по обращению №${t.id}: от 1 (плохо) до 5 (отлично).`);
    assert.equal(asked!.authorUserId, null);
    const sent = await tg.waitFor('sendMessage', (p) => p.chat_id === CLIENT_TG && /Оцените/.test(String(p.text)), { since, timeoutMs: 30_000 });
    assert.deepEqual(
      buttons(sent),
      ['1', '2', '3', '4', '5'].map((n) => [n, `choice:${n}`]),
    );

    // asked once per solving: solving again without reopening asks nothing more
    await inTransaction(s.ctx(), (tx) => requestRating(tx, t, env()));
    assert.equal((await s.ctx().db.select().from(messages).where(and(eq(messages.ticketId, t.id), eq(messages.direction, 'out')))).length, 1);

    const pressAt = tg.calls.length;
    tg.press(CLIENT_TG, 'choice:4', Number((sent.result as { message_id?: number } | undefined)?.message_id ?? 1));
    await tg.waitFor('answerCallbackQuery', () => true, { since: pressAt, timeoutMs: 30_000 });
    const rated = await waitFor('the rating', async () => ((await ticketRow(t.id)).rating === 4 ? ticketRow(t.id) : undefined), 30_000);
    assert.equal(rated.status, 'solved', 'a rating does not reopen the ticket');
    assert.equal(rated.solvedAt?.getTime(), t.solvedAt?.getTime());
    assert.ok(rated.ratedAt);
    await tg.waitFor('sendMessage', (p) => p.chat_id === CLIENT_TG && p.text === 'Спасибо за оценку!', { since: pressAt, timeoutMs: 30_000 });

    // the press is the client's message on the ticket, stored once
    const pressed = await s.ctx().db.select().from(messages).where(and(eq(messages.conversationId, conv.id), eq(messages.direction, 'in'), eq(messages.text, '4')));
    assert.equal(pressed.length, 1);
    assert.equal(pressed[0]!.ticketId, t.id);
    assert.match(pressed[0]!.providerMessageId!, new RegExp(`^${CLIENT_TG}:cb:`));

    const [h] = await s.ctx().db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'ticket'), eq(historyEvents.entityId, t.id), eq(historyEvents.kind, 'rated')));
    assert.equal(h!.summary, 'Клиент оценил ответ: 4 из 5');
    const told = await waitFor('the assignee told', () => notes.find((n) => n.ticketId === t.id && /Оценка по обращению/.test(n.text)));
    assert.equal(told.userId, anna.id);
    assert.equal(told.text, `Оценка по обращению №${t.id}: 4 из 5`);
    assert.equal(told.kind, 'client_message');

    // a second press changes nothing: stored once
    tg.press(CLIENT_TG, 'choice:1', 1);
    await sleep(300);
    assert.equal((await ticketRow(t.id)).rating, 4);
  });

  test('WhatsApp: the request reads «Ответьте цифрой: 1 2 3 4 5», and the client’s «5» is the rating', async () => {
    wa.receive('false_79161112233@c.us_R1', 'Добрый день, оплата не проходит');
    const conv = await waitFor('the WhatsApp chat', async () =>
      (await s.ctx().db.select().from(conversations).where(and(eq(conversations.channel, 'whatsapp'), eq(conversations.externalChatId, CLIENT_WA))))[0],
    );
    const t = await solvedTicketOn(conv.id, conv.contactId, 'whatsapp');
    const asked = await waitFor('the request on WhatsApp', () => wa.sent.find((m) => /Оцените/.test(m.text ?? '')), 30_000);
    assert.equal(asked.chatId, CLIENT_WA);
    assert.equal(asked.text, `Оцените, пожалуйста, ответ по обращению №${t.id}: от 1 (плохо) до 5 (отлично).\n\nОтветьте цифрой: 1 2 3 4 5`);

    wa.receive('false_79161112233@c.us_R2', '5');
    await waitFor('the rating', async () => (await ticketRow(t.id)).rating === 5, 30_000);
    assert.equal((await ticketRow(t.id)).status, 'solved');
    await waitFor('the thanks on WhatsApp', () => wa.sent.find((m) => m.text === 'Спасибо за оценку!'), 30_000);
  });

  test('Viber shows the choices as reply buttons whose tap sends the digit', async () => {
    const parts = viberParts({ externalChatId: 'u1', text: 'Оцените ответ', choices: ['1', '2', '3', '4', '5'].map((v) => ({ label: v, value: v })) });
    assert.equal(parts.length, 1);
    // what actually reaches Viber's send_message
    const bodies: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(raw || '{}') as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":0,"status_message":"ok","message_token":5741311803571721001}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const viber = new ViberAdapter({ authToken: 'viber-token', botName: 'Компания', apiRoot: `http://127.0.0.1:${port}/pa`, log: pino({ level: 'silent' }) });
      await viber.send({ externalChatId: 'u1', text: 'Оцените ответ', choices: ['1', '2', '3', '4', '5'].map((v) => ({ label: v, value: v })) });
      const body = bodies.find((b) => b.type === 'text')!;
      assert.equal(body.text, 'Оцените ответ');
      const keyboard = body.keyboard as { Type: string; Buttons: { ActionType: string; ActionBody: string; Text: string }[] };
      assert.equal(keyboard.Type, 'keyboard');
      assert.deepEqual(
        keyboard.Buttons.map((b) => [b.ActionType, b.ActionBody, b.Text]),
        ['1', '2', '3', '4', '5'].map((n) => ['reply', n, n]),
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('ratings by e-mail link', () => {
  let ticket: Ticket;
  let link: string;

  before(async () => {
    const [mb] = await s
      .ctx()
      .db.insert(mailboxes)
      .values({ name: 'Поддержка', login: 'support@firm.test', email: 'support@firm.test', passwordEncrypted: 'x', imapHost: '127.0.0.1', imapPort: 1, smtpHost: '127.0.0.1', smtpPort: 1, createsTickets: true })
      .returning();
    const contact = await createContact(s.ctx(), { name: 'Кира Лебедева', emails: ['kira@client.test'] });
    const [t] = await s.ctx().db.insert(tickets).values({ subject: 'Не приходит счёт', contactId: contact.id, channel: 'email', mailboxId: mb!.id, emailThreadKey: '<q1@client.test>', assigneeId: anna.id, status: 'in_progress' }).returning();
    await s.ctx().db.insert(emails).values({
      direction: 'incoming',
      messageId: '<q1@client.test>',
      subject: 'Не приходит счёт',
      fromAddress: 'kira@client.test',
      toAddresses: ['support@firm.test'],
      bodyText: 'Счёт так и не пришёл',
      contactId: contact.id,
      mailboxId: mb!.id,
      threadKey: '<q1@client.test>',
      ticketId: t!.id,
    });
    ticket = await updateTicket(s.ctx(userActor(anna)), t!.id, { status: 'solved' }, env());
  });

  test('the letter goes from the ticket’s mailbox in its thread, with the rating link', async () => {
    const [letter] = await s.ctx().db.select().from(emails).where(and(eq(emails.ticketId, ticket.id), eq(emails.direction, 'outgoing')));
    assert.ok(letter, 'the request letter is on the ticket');
    assert.equal(letter.fromAddress, 'support@firm.test');
    assert.deepEqual(letter.toAddresses, ['kira@client.test']);
    assert.equal(letter.inReplyTo, '<q1@client.test>');
    assert.equal(letter.subject, 'Re: Не приходит счёт');
    const m = /https:\/\/crm\.example\.test(\/rate\/[A-Za-z0-9_.-]+)/.exec(letter.bodyText ?? '');
    assert.ok(m, `no link in «${letter.bodyText}»`);
    link = m[1]!;
    assert.ok(ticket.ratingRequestedAt);
  });

  test('GET shows the five buttons and changes nothing (mail scanners open links)', async () => {
    const res = await fetch(`${crm.base}${link}`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /lang="ru"/);
    assert.match(html, new RegExp(`Обращение №${ticket.id}`));
    for (const n of [1, 2, 3, 4, 5]) assert.match(html, new RegExp(`<button type="submit" name="rating" value="${n}">${n}</button>`));
    assert.match(html, new RegExp(`<form method="post" action="${link.replace(/[.]/g, '\\.')}">`));
    await fetch(`${crm.base}${link}`);
    assert.equal((await ticketRow(ticket.id)).rating, null);
  });

  test('a forged token or a token for another ticket is refused and stores nothing', async () => {
    const post = (path: string, rating: string) =>
      fetch(`${crm.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `rating=${rating}` });
    const token = link.slice('/rate/'.length);
    const forged = `${Buffer.from(JSON.stringify({ t: ticket.id })).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`;
    for (const bad of [forged, token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'), 'garbage', ratingToken('another-secret-key-another-secret-key-0123', ticket.id)]) {
      const res = await post(`/rate/${bad}`, '1');
      assert.ok(res.status === 400 || res.status === 404, `${bad}: ${res.status}`);
      assert.match(await res.text(), /Ссылка недействительна/);
    }
    const missing = await fetch(`${crm.base}/rate/${ratingToken(s.secretKey, 999_999)}`);
    assert.equal(missing.status, 400);
    // a good token without a digit rates nothing either
    assert.equal((await post(link, '7')).status, 400);
    const row = await ticketRow(ticket.id);
    assert.equal(row.rating, null);
    assert.equal(row.ratedAt, null);
  });

  test('a good token stores the rating once; the page thanks; the assignee is told', async () => {
    const post = (rating: string) => fetch(`${crm.base}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `rating=${rating}` });
    const res = await post('3');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Спасибо за оценку!/);
    const rated = await ticketRow(ticket.id);
    assert.equal(rated.rating, 3);
    assert.equal(rated.status, 'solved');

    const again = await post('1');
    assert.equal(again.status, 200);
    assert.match(await again.text(), /3 из 5/);
    assert.equal((await ticketRow(ticket.id)).rating, 3);
    assert.equal((await ticketRow(ticket.id)).ratedAt?.getTime(), rated.ratedAt?.getTime());

    const page = await (await fetch(`${crm.base}${link}`)).text();
    assert.match(page, /3 из 5/);
    assert.doesNotMatch(page, /<button/);
    const told = await waitFor('the assignee told', () => notes.find((n) => n.ticketId === ticket.id && /Оценка по обращению/.test(n.text)));
    assert.equal(told.text, `Оценка по обращению №${ticket.id}: 3 из 5`);
    const history = await s.ctx().db.select().from(historyEvents).where(and(eq(historyEvents.entityType, 'ticket'), eq(historyEvents.entityId, ticket.id), eq(historyEvents.kind, 'rated')));
    assert.equal(history.length, 1);
    // no thanks letter: the page said it
    const out = await s.ctx().db.select({ n: sql<number>`count(*)::int` }).from(emails).where(and(eq(emails.ticketId, ticket.id), eq(emails.direction, 'outgoing')));
    assert.equal(out[0]!.n, 1);
  });


  test('without a link (no PUBLIC_URL) the letter asks for a digit, and a digit reply is the rating, thanked for by letter', async () => {
    const [mb] = await s.ctx().db.select().from(mailboxes).where(eq(mailboxes.email, 'support@firm.test'));
    const contact = await createContact(s.ctx(), { name: 'Лев Орлов', emails: ['lev@client.test'] });
    const [t] = await s.ctx().db.insert(tickets).values({ subject: 'Акт сверки', contactId: contact.id, channel: 'email', mailboxId: mb!.id, emailThreadKey: '<q2@client.test>', assigneeId: anna.id, status: 'in_progress' }).returning();
    await s.ctx().db.insert(emails).values({ direction: 'incoming', messageId: '<q2@client.test>', subject: 'Акт сверки', fromAddress: 'lev@client.test', toAddresses: ['support@firm.test'], contactId: contact.id, mailboxId: mb!.id, threadKey: '<q2@client.test>', ticketId: t!.id });
    const solved = await updateTicket(s.ctx(userActor(anna)), t!.id, { status: 'solved' });
    const [ask] = await s.ctx().db.select().from(emails).where(and(eq(emails.ticketId, t!.id), eq(emails.direction, 'outgoing')));
    assert.match(ask!.bodyText ?? '', /ответьте на это письмо одной цифрой от 1 \(плохо\) до 5 \(отлично\)/);
    assert.doesNotMatch(ask!.bodyText ?? '', /\/rate\//);

    assert.equal(await inTransaction(s.ctx(), (tx) => ratingFromMessage(tx, solved, 'Спасибо, всё пришло')), false);
    assert.equal(await inTransaction(s.ctx(), (tx) => ratingFromMessage(tx, solved, '4\n\n> Оцените, пожалуйста, ответ')), true);
    assert.equal((await ticketRow(t!.id)).rating, 4);
    const out = await s.ctx().db.select().from(emails).where(and(eq(emails.ticketId, t!.id), eq(emails.direction, 'outgoing')));
    assert.equal(out.length, 2);
    assert.match(out.find((e) => e.id !== ask!.id)!.bodyText ?? '', /^Спасибо за оценку!/);
    // once: another digit is not a rating any more
    assert.equal(await inTransaction(s.ctx(), (tx) => ratingFromMessage(tx, solved, '1')), false);
    assert.equal((await ticketRow(t!.id)).rating, 4);
  });
});

describe('pressing a rating button twice', () => {
  test('the buttons go after the first press; a second press on the same question stores nothing and reopens nothing', async () => {
    const client = 7302;
    tg.say(client, 'Добрый день, не приходит код подтверждения');
    const conv = await waitFor('the Telegram chat', async () =>
      (await s.ctx().db.select().from(conversations).where(and(eq(conversations.channel, 'telegram'), eq(conversations.externalChatId, String(client)))))[0],
    );
    const since = tg.calls.length;
    const t = await solvedTicketOn(conv.id, conv.contactId, 'telegram');
    const asked = await tg.waitFor('sendMessage', (p) => p.chat_id === client && /Оцените/.test(String(p.text)), { since, timeoutMs: 30_000 });
    const askedId = Number(asked.result!.message_id);
    assert.equal(buttons(asked).length, 5);

    const firstAt = tg.calls.length;
    tg.press(client, 'choice:5', askedId);
    const removed = await tg.waitFor('editMessageReplyMarkup', (p) => p.chat_id === client && p.message_id === askedId, { since: firstAt, timeoutMs: 30_000 });
    const markup = removed.params.reply_markup as { inline_keyboard?: unknown[] } | undefined;
    assert.ok(!markup?.inline_keyboard?.length, 'the buttons are removed');
    await tg.waitFor('sendMessage', (p) => p.chat_id === client && p.text === 'Спасибо за оценку!', { since: firstAt, timeoutMs: 30_000 });
    const rated = await ticketRow(t.id);
    assert.equal(rated.rating, 5);
    const clientMessages = async () =>
      (await s.ctx().db.select().from(messages).where(and(eq(messages.conversationId, conv.id), eq(messages.direction, 'in')))).map((m) => m.text);
    const before = await clientMessages();
    assert.equal(before.filter((x) => x === '5').length, 1);

    // a client whose app still shows the buttons presses again on the same question
    const secondAt = tg.calls.length;
    tg.press(client, 'choice:2', askedId);
    await tg.waitFor('answerCallbackQuery', () => true, { since: secondAt, timeoutMs: 30_000 });
    // updates are handled in turn: once another client's message is stored, the press is handled
    tg.say(7303, 'Другой клиент: проверка очереди');
    await waitFor('the marker', async () => (await s.ctx().db.select().from(conversations).where(eq(conversations.externalChatId, '7303'))).length === 1, 30_000);

    assert.deepEqual(await clientMessages(), before, 'the second press is not a new message');
    const after = await ticketRow(t.id);
    assert.equal(after.status, 'solved');
    assert.equal(after.rating, 5);
    assert.equal(after.ratedAt?.getTime(), rated.ratedAt?.getTime());
    const [chat] = await s.ctx().db.select().from(conversations).where(eq(conversations.id, conv.id));
    assert.equal(chat!.ticketId, t.id, 'no new ticket on the chat');
    assert.equal(tg.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === client && c.params.text === 'Спасибо за оценку!').length, 1);
  });
});
