import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { FakeTelegram } from './helpers/fake-telegram.js';
import { FakeViber, viberMessageBody, viberSignature } from './helpers/fake-viber.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { createApiKey, createLinkCode, createUser, userActor, type User } from '../core/users/users.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { PanelClient } from './helpers/http-client.js';

/**
 * One person, many ways in: Telegram without a phone, Viber with one, the same phone shared from
 * Telegram, the website form twice and a Tilda form. The CRM must end with one contact and one open
 * lead with one responsible, the repeats in its history. Every entry is driven over HTTP.
 */
const VIBER_TOKEN = 'same-person-viber-token-0123456789';
const CLIENT_TG = 5201;

let tg: FakeTelegram;
let viber: FakeViber;
let s: Services & { dataDir: string };
let crm: TestCrm;
let admin: User;
let managers: User[];
let apiKey: string;
let tildaPath: string;
const notes: Notification[] = [];

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);
const liveContacts = () => rows<{ id: number; name: string; phones: string[] }>(sql`SELECT id, name, phones FROM contacts WHERE merged_into_id IS NULL ORDER BY id`);
const openLeads = () => rows<{ id: number; responsible_id: number; source: string }>(sql`SELECT id, responsible_id, source FROM leads WHERE status IN ('new', 'in_progress') ORDER BY id`);

before(async () => {
  tg = await new FakeTelegram().start();
  viber = await new FakeViber(VIBER_TOKEN).start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url, VIBER_AUTH_TOKEN: VIBER_TOKEN, VIBER_API_ROOT: viber.url });
  admin = await createUser(s.ctx(), { email: 'admin@same.test', name: 'Админ', role: 'admin' });
  managers = [];
  for (const name of ['Анна', 'Борис', 'Вера']) managers.push(await createUser(s.ctx(), { email: `m${managers.length}@same.test`, name, role: 'manager' }));
  ({ key: apiKey } = await createApiKey(s.ctx(userActor(admin)), 'Сайт'));
  ({ path: tildaPath } = await createWebhookSource(s.ctx(userActor(admin)), { kind: 'tilda', name: 'Лендинг' }));
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['notifications', 'mail'] });
  // only Анна has linked Telegram
  const { code } = await createLinkCode(s.ctx(), managers[0]!.id);
  await tg.ask(6101, `/start ${code}`);
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
  await viber?.close();
});

describe('the same person writes on every channel', () => {
  test('Telegram without a phone, then Viber sharing the phone: two accounts for now', async () => {
    tg.send(CLIENT_TG, { text: 'Здравствуйте, нужна консультация' }, 'Дмитрий');
    await waitFor('the Telegram lead', async () => (await openLeads()).length === 1);
    const { body } = viberMessageBody({ userId: 'vb-dmitry==', name: 'Дмитрий К.', message: { type: 'contact', contact: { name: 'Дмитрий', phone_number: '+7 916 555-12-34' } } });
    const res = await fetch(`${crm.base}/webhooks/viber`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-viber-content-signature': viberSignature(body, VIBER_TOKEN) }, body });
    assert.equal(res.status, 200);
    // nothing proves yet that the Telegram account and the Viber one are one person
    assert.equal((await liveContacts()).length, 2);
  });

  test('the same phone shared from Telegram proves it: one contact with both histories, one open lead', async () => {
    tg.send(CLIENT_TG, { contact: { phone_number: '+79165551234', first_name: 'Дмитрий', user_id: CLIENT_TG } }, 'Дмитрий');
    const contacts = await waitFor('the merge', async () => {
      const c = await liveContacts();
      return c.length === 1 ? c : null;
    });
    assert.deepEqual(contacts[0]!.phones, ['+79165551234']);
    const identities = await rows<{ channel: string }>(sql`SELECT channel FROM contact_identities WHERE contact_id = ${contacts[0]!.id} ORDER BY channel`);
    assert.deepEqual(identities.map((i) => i.channel), ['telegram', 'viber']);
    const leads = await openLeads();
    assert.equal(leads.length, 1, 'one open lead');
    // both conversations now belong to the one lead; the history tells of the merge
    const convs = await rows<{ lead_id: number }>(sql`SELECT lead_id FROM conversations WHERE contact_id = ${contacts[0]!.id}`);
    assert.deepEqual([...new Set(convs.map((c) => c.lead_id))], [leads[0]!.id]);
    const events = await rows<{ summary: string }>(sql`SELECT summary FROM history_events WHERE entity_type = 'contact' AND entity_id = ${contacts[0]!.id}`);
    assert.ok(events.some((e) => /Объединён с контактом/.test(e.summary)), 'the contact history tells of the merge');
    const audit = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'merge'`);
    assert.ok(audit[0]!.n >= 1, 'the merge is in the audit trail');
  });

  test('the website form twice and a Tilda form join that lead as «Повторное обращение», the responsible told each time', async () => {
    const [lead] = await openLeads();
    for (const comment of ['Хочу счёт', 'Ещё вопрос по доставке']) {
      const res = await fetch(`${crm.base}/api/v1/leads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Дмитрий', phone: '8 (916) 555-12-34', comment }),
      });
      // no new lead; the lead came from Telegram, so the site's key is not shown someone else's lead
      assert.equal(res.status, 202, 'no new lead');
      assert.equal(((await res.json()) as { id?: number }).id, undefined);
    }
    const tilda = await fetch(`${crm.base}${tildaPath}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ Name: 'Дмитрий', Phone: '+7 916 555 12 34', tranid: 'T-1', Comments: 'С лендинга' }) });
    assert.equal(tilda.status, 200);
    // Tilda delivers the same submission again: recorded once
    await fetch(`${crm.base}${tildaPath}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ Name: 'Дмитрий', Phone: '+7 916 555 12 34', tranid: 'T-1', Comments: 'С лендинга' }) });

    assert.equal((await liveContacts()).length, 1, 'one contact');
    const leads = await openLeads();
    assert.equal(leads.length, 1, 'one open lead');
    assert.equal(new Set(leads.map((l) => l.responsible_id)).size, 1, 'one responsible');
    const repeats = await rows<{ summary: string }>(sql`SELECT summary FROM history_events WHERE entity_type = 'lead' AND entity_id = ${lead!.id} AND kind = 'repeat_request' ORDER BY id`);
    assert.deepEqual(
      repeats.filter((r) => !/объединён лид/.test(r.summary)).map((r) => r.summary),
      ['Повторное обращение: Заявка с сайта — Хочу счёт', 'Повторное обращение: Заявка с сайта — Ещё вопрос по доставке', 'Повторное обращение: Tilda: Лендинг — С лендинга'],
    );
    const told = await waitFor('three repeat notices', () => {
      const r = notes.filter((n) => n.kind === 'repeat_request' && n.leadId === lead!.id);
      return r.length === 3 ? r : null;
    });
    assert.equal(lead!.responsible_id, managers[0]!.id, 'the linked manager got the lead');
    assert.ok(told.every((n) => n.userId === lead!.responsible_id), 'the responsible is told');
  });
});

describe('a lead always reaches a person', () => {
  test('when the responsible has not linked Telegram, the head is told, and the panel shows the client waiting', async () => {
    // Анна is away: the lead goes to a manager the bot cannot tell
    await rows(sql`UPDATE users SET on_duty = false WHERE id = ${managers[0]!.id}`);
    const head = await createUser(s.ctx(), { email: 'head@same.test', name: 'Руководитель', role: 'head', password: 'password123' });
    const { code } = await createLinkCode(s.ctx(), head.id);
    await tg.ask(6201, `/start ${code}`);
    const since = notes.length;
    tg.send(5301, { text: 'Добрый день, есть ли скидки?' }, 'Светлана');
    const newLead = await waitFor('the new lead notice', () => notes.slice(since).find((n) => n.kind === 'new_lead'));
    assert.equal(newLead.userId, head.id, 'the head is told, not the unlinked manager');
    assert.match(newLead.text, /не подключил Telegram/);
    const message = await waitFor('the client message notice', () => notes.slice(since).find((n) => n.kind === 'client_message'));
    assert.equal(message.userId, head.id);
    // the panel lists it as waiting for an answer
    const panel = new PanelClient(crm.app!);
    await panel.signIn(head.email);
    const res = await panel.get('/admin/leads?awaitingReply=1');
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Светлана/);
    assert.match(res.body, /ждёт ответа/);
  });

  test('routing prefers a manager who has linked Telegram', async () => {
    const linked = managers[0]!;
    await rows(sql`UPDATE users SET on_duty = true WHERE id = ${linked.id}`);
    tg.send(5401, { text: 'Хочу заказать' }, 'Олег');
    const lead = await waitFor('Олег’s lead', async () => (await rows<{ responsible_id: number }>(sql`SELECT l.responsible_id FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE c.name = 'Олег'`))[0]);
    assert.equal(lead.responsible_id, linked.id);
  });
});

