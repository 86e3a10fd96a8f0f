import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp } from './helpers/browser.js';
import { randomInn } from './helpers/world.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLead } from '../core/leads/leads.js';
import { assignMailingType, createMailingType } from '../core/mailing/mailing-types.js';
import { conversations, counterparties } from '../core/db/schema/index.js';
import type { User } from '../core/users/users.js';

/**
 * «Возможные дубликаты» in the admin panel over HTTP: groups of contacts and counterparties that look
 * like one, with the reason; «Объединить» on a group and «Объединить с…» on a card; access rules
 * and CSRF on every merge.
 */
let a: AdminApp;
let admin: User, manager: User;
let segA: number, segB: number;
let cpA: number, cpB: number;

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  segA = await a.world.segment('Сегмент А');
  segB = await a.world.segment('Сегмент Б');
  admin = await a.world.user('admin', { name: 'Админ' });
  manager = await a.world.user('manager', { name: 'Менеджер А', segments: [segA] });
  cpA = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Клиент А', inn: randomInn('legal_entity'), segmentId: segA })).id;
  cpB = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Клиент Б', inn: randomInn('legal_entity'), segmentId: segB })).id;
});
after(() => a.close());

const signedIn = async (user: User) => {
  const c = new PanelClient(a.app);
  await c.signIn(user.email);
  return c;
};

/** The groups on a duplicates page: member ids, the record kept by default, the text a person reads. */
function groupsOn(html: string) {
  return html
    .split('<section class="card dup-group"')
    .slice(1)
    .map((part) => {
      const section = part.slice(part.indexOf('>') + 1).split('</section>')[0]!;
      return {
        ids: [...section.matchAll(/<li data-id="(\d+)"/g)].map((m) => Number(m[1])),
        keep: Number(/name="keep" value="(\d+)" checked/.exec(section)?.[1]),
        text: text(section),
      };
    });
}
const groupWith = (html: string, id: number) => groupsOn(html).find((g) => g.ids.includes(id));

const one = async <T>(q: ReturnType<typeof sql>) => (await a.world.database.rows<T>(q))[0]!;

describe('contacts', () => {
  test('two contacts with one phone are a group with the reason; the one with leads and chats is kept by default', async () => {
    const older = await createContact(a.world.system, { name: 'Иван Петров', phones: ['+79161234567'], counterpartyId: cpA });
    const newer = await createContact(a.world.system, { name: 'Иван (WhatsApp)', phones: ['8 916 123-45-67'] });
    await createLead(a.world.system, { title: 'Лид Ивана', source: 'whatsapp', contactId: newer.id });
    const unrelated = await createContact(a.world.system, { name: 'Иван Другой', phones: ['+79169999999'], counterpartyId: cpA });

    const c = await signedIn(admin);
    const page = await c.get('/admin/duplicates/contacts');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /Возможные дубликаты/);
    const group = groupWith(page.body, older.id);
    assert.ok(group, 'the pair is listed');
    assert.deepEqual(group.ids, [older.id, newer.id]);
    assert.match(group.text, /один телефон \+7 916 123 45 67/);
    assert.equal(group.keep, newer.id, 'the record with a lead is offered as the one to keep');
    assert.equal(groupWith(page.body, unrelated.id), undefined);
    assert.match(page.body, /href="\/admin\/contacts\/\d+"/);
  });

  test('«Объединить» keeps the chosen one, moves leads, chats and mailing lists, writes the audit and history; the old URL shows the survivor', async () => {
    const keep = await createContact(a.world.system, { name: 'Ольга Смирнова', emails: ['olga@client.ru'], counterpartyId: cpA });
    const dup = await createContact(a.world.system, { name: 'Ольга (сайт)', emails: ['OLGA@client.ru'], phones: ['+79035550011'] });
    const lead = await createLead(a.world.system, { title: 'Заявка с сайта', source: 'website', contactId: dup.id });
    const [conv] = await a.world.database.db.insert(conversations).values({ channel: 'whatsapp', contactId: dup.id, externalChatId: '79035550011@c.us' }).returning();
    const news = await createMailingType(a.world.system, { name: `Новости ${Date.now()}` });
    await assignMailingType(a.world.system, news.id, { ids: [dup.id] });

    const c = await signedIn(admin);
    const list = await c.get('/admin/duplicates/contacts');
    assert.match(groupWith(list.body, keep.id)!.text, /один e-mail olga@client\.ru/);
    const res = await c.post('/admin/duplicates/contacts/merge', { keep: String(keep.id), ids: [String(keep.id), String(dup.id)], page: '1' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/duplicates/contacts');
    const after = await c.get(res.headers.location as string);
    assert.match(text(after.body), new RegExp(`Объединено: «Ольга \\(сайт\\)» \\(№${dup.id}\\) → «Ольга Смирнова» \\(№${keep.id}\\)`));
    assert.equal(groupWith(after.body, keep.id), undefined, 'the group is gone');
    assert.equal(groupWith(after.body, dup.id), undefined);

    const merged = await one<{ merged_into_id: number }>(sql`SELECT merged_into_id FROM contacts WHERE id = ${dup.id}`);
    assert.equal(merged.merged_into_id, keep.id);
    const survivor = await one<{ phones: string[] }>(sql`SELECT phones FROM contacts WHERE id = ${keep.id}`);
    assert.deepEqual(survivor.phones, ['+79035550011']);
    assert.equal((await one<{ contact_id: number }>(sql`SELECT contact_id FROM leads WHERE id = ${lead.id}`)).contact_id, keep.id);
    assert.equal((await one<{ contact_id: number }>(sql`SELECT contact_id FROM conversations WHERE id = ${conv!.id}`)).contact_id, keep.id);
    const lists = await a.world.database.rows<{ contact_id: number }>(sql`SELECT contact_id FROM contact_mailing_types WHERE mailing_type_id = ${news.id}`);
    assert.deepEqual(lists.map((r) => Number(r.contact_id)), [keep.id], 'the mailing list follows the person');
    const auditRow = await one<{ n: number; actor: string }>(
      sql`SELECT count(*)::int AS n, max(actor_label) AS actor FROM audit_log WHERE action = 'merge' AND entity_type = 'contact' AND entity_id = ${keep.id} AND actor_user_id = ${admin.id}`,
    );
    assert.equal(Number(auditRow.n), 1);
    assert.equal(auditRow.actor, 'Админ');
    const history = await one<{ n: number }>(sql`SELECT count(*)::int AS n FROM history_events WHERE entity_type = 'contact' AND entity_id = ${keep.id} AND kind = 'merged'`);
    assert.equal(Number(history.n), 1);

    const oldCard = await c.get(`/admin/contacts/${dup.id}`);
    assert.equal(oldCard.statusCode, 200);
    assert.match(oldCard.body, /<h1>Ольга Смирнова<\/h1>/, 'the old link opens the survivor');
    assert.match(text(oldCard.body), new RegExp(`Объединён с контактом «Ольга \\(сайт\\)» \\(№${dup.id}\\)`), 'the merge is in its history');
  });

  test('«Объединить с…» on a contact card merges the other number into this card; the same merge twice is refused with a message', async () => {
    const keep = await createContact(a.world.system, { name: 'Пётр Карточкин', counterpartyId: cpA });
    const dup = await createContact(a.world.system, { name: 'Пётр (Telegram)' });
    const c = await signedIn(admin);
    const card = await c.get(`/admin/contacts/${keep.id}`);
    assert.match(card.body, new RegExp(`action="/admin/contacts/${keep.id}/merge"`));
    const page = await c.submit(`/admin/contacts/${keep.id}/merge`, { other: String(dup.id) });
    assert.match(text(page.body), /Объединено: «Пётр \(Telegram\)»/);
    assert.equal((await one<{ merged_into_id: number }>(sql`SELECT merged_into_id FROM contacts WHERE id = ${dup.id}`)).merged_into_id, keep.id);
    const again = await c.submit(`/admin/contacts/${keep.id}/merge`, { other: String(dup.id) });
    assert.match(text(again.body), /Не объединено: контакты уже объединены/);
    const bad = await c.submit(`/admin/contacts/${keep.id}/merge`, { other: 'абв' });
    assert.match(text(bad.body), /Не объединено: укажите номер другой записи/);
  });
});

describe('counterparties', () => {
  test('one INN and KPP twice is a group «один ИНН»; a branch (same INN, another KPP) is not, even with a shared phone', async () => {
    const inn = randomInn('legal_entity');
    const head = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО «Альфа»', inn, kpp: '770101001', phones: ['+74951110000'], segmentId: segA });
    const branch = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО «Альфа» (филиал)', inn, kpp: '780101001', phones: ['+74951110000'], segmentId: segA });
    // the CRM refuses a second card with one INN and KPP; an old import or an API client made one anyway
    const [dup] = await a.world.database.db
      .insert(counterparties)
      .values({ kind: 'legal_entity', name: 'ооо «альфа» ', inn, kpp: '770101001', segmentId: segA })
      .returning();

    const c = await signedIn(admin);
    const page = await c.get('/admin/duplicates/counterparties');
    assert.equal(page.statusCode, 200);
    const group = groupWith(page.body, head.id);
    assert.ok(group, 'the pair is listed');
    assert.deepEqual(group.ids, [head.id, dup!.id]);
    assert.match(group.text, new RegExp(`один ИНН ${inn}`));
    assert.match(group.text, /одно название/, 'a name in another case is the same name');
    assert.equal(groupWith(page.body, branch.id), undefined, 'a branch is not a duplicate');
    assert.equal(group.keep, head.id, 'the one with more details is kept by default');

    // the card's «Объединить с…» refuses a branch and merges the duplicate
    const refused = await c.submit(`/admin/counterparties/${head.id}/merge`, { other: String(branch.id) });
    assert.match(text(refused.body), /Не объединено: .*филиалы одной организации/);
    assert.equal((await one<{ merged_into_id: number | null }>(sql`SELECT merged_into_id FROM counterparties WHERE id = ${branch.id}`)).merged_into_id, null);
    const merged = await c.submit(`/admin/counterparties/${head.id}/merge`, { other: String(dup!.id) });
    assert.match(text(merged.body), new RegExp(`Объединено: «ооо «альфа» » \\(№${dup!.id}\\) → «ООО «Альфа»» \\(№${head.id}\\)`));
    assert.equal((await one<{ merged_into_id: number }>(sql`SELECT merged_into_id FROM counterparties WHERE id = ${dup!.id}`)).merged_into_id, head.id);
    const auditRow = await one<{ n: number }>(sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'merge' AND entity_type = 'counterparty' AND entity_id = ${head.id}`);
    assert.equal(Number(auditRow.n), 1);
    assert.equal(groupWith((await c.get('/admin/duplicates/counterparties')).body, head.id), undefined);
    const oldCard = await c.get(`/admin/counterparties/${dup!.id}`);
    assert.equal(oldCard.statusCode, 200);
    assert.match(oldCard.body, /<h1>ООО «Альфа»<\/h1>/);
  });

  test('two organisations (different INNs) that share a phone are not offered as duplicates; a card without INN is', async () => {
    const phone = '+74952223344';
    const first = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Бухгалтерия 1', inn: randomInn('legal_entity'), phones: [phone] });
    await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Бухгалтерия 2', inn: randomInn('legal_entity'), phones: [phone] });
    const c = await signedIn(admin);
    assert.equal(groupWith((await c.get('/admin/duplicates/counterparties')).body, first.id), undefined);
    const noInn = await createCounterparty(a.world.system, { kind: 'individual', name: 'Гамма', phones: ['+74953334455'] });
    const withInn = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ГАММА', inn: randomInn('legal_entity'), phones: ['+74953334455'] });
    const group = groupWith((await c.get('/admin/duplicates/counterparties')).body, noInn.id);
    assert.deepEqual(group?.ids, [noInn.id, withInn.id]);
    assert.match(group!.text, /один телефон \+7 495 333 44 55/);
    assert.match(group!.text, /одно название/);
  });
});

describe('access and CSRF', () => {
  test('a manager sees only groups inside their segments and cannot merge a record outside them: a message, nothing changes', async () => {
    const mine = await createContact(a.world.system, { name: 'Мой клиент', phones: ['+79261112200'], counterpartyId: cpA });
    const theirs = await createContact(a.world.system, { name: 'Чужой клиент', phones: ['+79261112200'], counterpartyId: cpB });
    const adminView = await (await signedIn(admin)).get('/admin/duplicates/contacts');
    assert.deepEqual(groupWith(adminView.body, mine.id)?.ids, [mine.id, theirs.id], 'the head and the admin see the pair');

    const c = await signedIn(manager);
    const page = await c.get('/admin/duplicates/contacts');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /href="\/admin\/duplicates"/, 'the menu has the section');
    assert.equal(groupWith(page.body, mine.id), undefined, 'half of the pair is not theirs to see');
    assert.doesNotMatch(text(page.body), /Чужой клиент/);

    const forged = await c.post('/admin/duplicates/contacts/merge', { keep: String(mine.id), ids: [String(mine.id), String(theirs.id)] });
    assert.equal(forged.statusCode, 303);
    assert.match(text((await c.get(forged.headers.location as string)).body), /Не объединено: Этот контакт вам недоступен/);
    const reversed = await c.submit(`/admin/contacts/${mine.id}/merge`, { other: String(theirs.id) });
    assert.match(text(reversed.body), /Не объединено: Этот контакт вам недоступен/);
    const cp = await c.submit(`/admin/counterparties/${cpA}/merge`, { other: String(cpB) });
    assert.match(text(cp.body), /Не объединено: Этот контрагент не в ваших сегментах/);

    const rows = await a.world.database.rows<{ id: number; merged_into_id: number | null; phones: string[] }>(
      sql`SELECT id, merged_into_id, phones FROM contacts WHERE id IN (${mine.id}, ${theirs.id}) ORDER BY id`,
    );
    assert.deepEqual(rows.map((r) => [Number(r.id), r.merged_into_id, r.phones]), [
      [mine.id, null, ['+79261112200']],
      [theirs.id, null, ['+79261112200']],
    ]);
    assert.equal((await one<{ merged_into_id: number | null }>(sql`SELECT merged_into_id FROM counterparties WHERE id = ${cpB}`)).merged_into_id, null);
    const audits = await one<{ n: number }>(sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'merge' AND actor_user_id = ${manager.id}`);
    assert.equal(Number(audits.n), 0);
  });

  test('a manager merges duplicates inside their segments', async () => {
    const x = await createContact(a.world.system, { name: 'Анна', emails: ['anna@klient-a.ru'], counterpartyId: cpA });
    const y = await createContact(a.world.system, { name: 'Анна', emails: ['anna@klient-a.ru'], counterpartyId: cpA });
    const c = await signedIn(manager);
    const group = groupWith((await c.get('/admin/duplicates/contacts')).body, x.id);
    assert.deepEqual(group?.ids, [x.id, y.id]);
    assert.match(group!.text, /один e-mail anna@klient-a\.ru/);
    assert.match(group!.text, /одно имя у одного контрагента/);
    const res = await c.post('/admin/duplicates/contacts/merge', { keep: String(x.id), ids: [String(y.id)] });
    assert.equal(res.statusCode, 303);
    assert.match(text((await c.get(res.headers.location as string)).body), /Объединено: «Анна»/);
    assert.equal((await one<{ merged_into_id: number }>(sql`SELECT merged_into_id FROM contacts WHERE id = ${y.id}`)).merged_into_id, x.id);
  });

  test('a merge posted without the CSRF token is refused with 403 and changes nothing', async () => {
    const x = await createContact(a.world.system, { name: 'Без токена 1', phones: ['+79267770000'] });
    const y = await createContact(a.world.system, { name: 'Без токена 2', phones: ['+79267770000'] });
    const c = await signedIn(admin);
    await c.get('/admin/duplicates/contacts');
    const posts: [string, Record<string, string | string[]>][] = [
      ['/admin/duplicates/contacts/merge', { keep: String(x.id), ids: [String(y.id)] }],
      [`/admin/contacts/${x.id}/merge`, { other: String(y.id) }],
      [`/admin/counterparties/${cpA}/merge`, { other: String(cpB) }],
    ];
    for (const [url, form] of posts) {
      const res = await c.post(url, form, { csrf: false });
      assert.equal(res.statusCode, 403, url);
      assert.match(text(res.body), /CSRF/);
    }
    const rows = await a.world.database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM contacts WHERE id IN (${x.id}, ${y.id}) AND merged_into_id IS NULL`);
    assert.equal(Number(rows[0]!.n), 2);
  });
});

describe('on a phone', () => {
  test('the duplicates pages and the cards fit 390 px; a group is merged by tapping «Оставить» and «Объединить»', async () => {
    const long = await createContact(a.world.system, {
      name: 'Константин Константинопольский-Переподвыподвертов',
      phones: ['+79161230099', '+79161230098'],
      emails: ['konstantin.konstantinopolsky-perepodvypodvertov@very-long-domain-name.example.ru'],
      counterpartyId: cpA,
    });
    const short = await createContact(a.world.system, { name: 'Костя', phones: ['+79161230099'] });
    const b = await openBrowser();
    after(() => b.close());
    const { page, context } = await b.newPage({ width: 390, height: 844 });
    await signIn(page, a.url, admin.email, 'password123');
    const wide: string[] = [];
    for (const url of ['/admin/duplicates/contacts', '/admin/duplicates/counterparties', `/admin/contacts/${long.id}`, `/admin/counterparties/${cpA}`]) {
      const res = await page.goto(`${a.url}${url}`);
      assert.equal(res?.status(), 200, url);
      await page.locator('details').evaluateAll((ds) => ds.forEach((d) => d.setAttribute('open', '')));
      const { scroll, view } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })')) as { scroll: number; view: number };
      if (scroll > view) wide.push(`${url}: ${scroll}px`);
    }
    assert.deepEqual(wide, [], 'pages wider than a 390 px phone');

    await page.goto(`${a.url}/admin/duplicates/contacts`);
    const group = page.locator('section.dup-group', { has: page.locator(`li[data-id="${short.id}"]`) });
    await screenshot(page, 'phone-duplicates');
    await group.locator(`li[data-id="${long.id}"] input[name=keep]`).check();
    await Promise.all([page.waitForURL(/\/admin\/duplicates\/contacts$/), group.locator('button:has-text("Объединить")').click()]);
    assert.match(await page.locator('.flash.ok').innerText(), new RegExp(`Объединено: «Костя» \\(№${short.id}\\) → «Константин`));
    assert.equal((await one<{ merged_into_id: number }>(sql`SELECT merged_into_id FROM contacts WHERE id = ${short.id}`)).merged_into_id, long.id);
    await context.close();
  });
});
