import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { openWorld, randomInn, randomOgrn, type World } from './helpers/world.js';
import { SBER, sellerInput } from './helpers/seller.js';
import type { User } from '../core/users/users.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, openBrowser, signIn, type AdminApp } from './helpers/browser.js';
import { createProduct } from '../core/products/products.js';
import { ServiceError } from '../core/errors.js';
import { auditLog, organizations } from '../core/db/schema/index.js';
import { isValidBik, isValidCorrAccount, isValidSettlementAccount } from '../core/validation/bank.js';
import {
  archiveOrganization,
  createOrganization,
  getOrganization,
  listOrganizations,
  restoreOrganization,
  setDefaultOrganization,
  updateOrganization,
} from '../core/organizations/organizations.js';
import { addBankAccount, removeBankAccount, setDefaultBankAccount, updateBankAccount } from '../core/organizations/bank-accounts.js';
import { readOrganizationImage, removeOrganizationImage, setOrganizationImage } from '../core/organizations/images.js';
import { defaultTaxMode, sellerFor } from '../core/organizations/seller.js';

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const invalidField = (field: string, text?: RegExp) => (e: unknown) =>
  e instanceof ServiceError && e.code === 'invalid' && field in e.fields && (!text || text.test(e.fields[field]!));

/** Альфа-Банк, Москва */
const ALFA = { bankName: 'АО «Альфа-Банк»', bik: '044525593', corrAccount: '30101810200000000593', account: '40702810801300000001' };

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a0000000000049454e44ae426082', 'hex');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);

/** One digit changed */
const typo = (s: string, at = s.length - 2) => s.slice(0, at) + String((Number(s[at]) + 1) % 10) + s.slice(at + 1);

describe('bank requisites by the Central Bank control key', () => {
  test('published BIKs and accounts pass; one digit changed fails', () => {
    assert.ok(isValidBik('044525225'));
    assert.ok(!isValidBik('144525225'), 'a BIK starts with 04');
    assert.ok(!isValidBik('04452522'), '9 digits');
    for (const b of [SBER, ALFA]) {
      assert.ok(isValidCorrAccount(b.bik, b.corrAccount), `${b.bankName} к/с`);
      assert.ok(isValidSettlementAccount(b.bik, b.account), `${b.bankName} р/с`);
      assert.ok(!isValidCorrAccount(b.bik, typo(b.corrAccount)));
      assert.ok(!isValidSettlementAccount(b.bik, typo(b.account)));
      assert.ok(!isValidSettlementAccount(b.bik, typo(b.account, 10)));
    }
    // Сбербанк's settlement account with Альфа-Банк's BIK does not match
    assert.ok(!isValidSettlementAccount(ALFA.bik, SBER.account));
  });
});

describe('«Наши организации» in core', () => {
  let w: World;
  let admin: User, head: User, manager: User;

  before(async () => {
    w = await openWorld();
    admin = await w.user('admin');
    head = await w.user('head');
    manager = await w.user('manager');
  });
  after(() => w.close());

  const orgCount = async () => (await w.system.db.select().from(organizations)).length;

  test('with no organisation documents cannot be made, and the tax mode is ОСН', async () => {
    await assert.rejects(sellerFor(w.as(manager)), invalidField('organization', /Добавьте свою организацию в справочник «Наши организации»/));
    assert.equal(await defaultTaxMode(w.system), 'osn');
  });

  test('bad INN, KPP, OGRN are refused naming the field, and nothing is written', async () => {
    const n = await orgCount();
    await assert.rejects(createOrganization(w.as(admin), sellerInput({ inn: typo(randomInn('legal_entity'), 9) })), invalidField('inn', /контрольной сумме/));
    await assert.rejects(createOrganization(w.as(admin), sellerInput({ inn: randomInn('sole_proprietor') })), invalidField('inn', /10 цифр/));
    await assert.rejects(createOrganization(w.as(admin), sellerInput({ kpp: '' })), invalidField('kpp', /укажите КПП/));
    await assert.rejects(createOrganization(w.as(admin), sellerInput({ kpp: '77010' })), invalidField('kpp'));
    await assert.rejects(createOrganization(w.as(admin), sellerInput({ ogrn: typo(randomOgrn('legal_entity'), 12) })), invalidField('ogrn', /ОГРН/));
    await assert.rejects(
      createOrganization(w.as(admin), { kind: 'sole_proprietor', name: 'ИП Петров', inn: randomInn('sole_proprietor'), kpp: '770101001' }),
      invalidField('kpp', /у ИП нет КПП/),
    );
    await assert.rejects(
      createOrganization(w.as(admin), { kind: 'sole_proprietor', name: 'ИП Петров', inn: randomInn('legal_entity') }),
      invalidField('inn', /12 цифр/),
    );
    await assert.rejects(
      createOrganization(w.as(admin), { kind: 'sole_proprietor', name: 'ИП Петров', inn: randomInn('sole_proprietor'), ogrn: randomOgrn('legal_entity') }),
      invalidField('ogrn', /ОГРНИП: 15 цифр/),
    );
    assert.equal(await orgCount(), n);
  });

  test('an ООО and an ИП; the first is the default by itself; one default at a time; every change audited', async () => {
    const romashka = await createOrganization(w.as(admin), sellerInput({ taxMode: 'osn' }));
    assert.equal(romashka.isDefault, true, 'the first organisation is the default');
    const ip = await createOrganization(w.as(head), {
      kind: 'sole_proprietor',
      name: 'Индивидуальный предприниматель Петров Пётр Петрович',
      shortName: 'ИП Петров П. П.',
      inn: randomInn('sole_proprietor'),
      ogrn: randomOgrn('sole_proprietor'),
      taxMode: 'usn_no_vat',
    });
    assert.equal(ip.isDefault, false);
    assert.equal(ip.kpp, null);
    assert.equal(await defaultTaxMode(w.system), 'osn');

    await setDefaultOrganization(w.as(head), ip.id);
    const list = await listOrganizations(w.as(manager));
    assert.deepEqual(list.filter((o) => o.isDefault).map((o) => o.id), [ip.id], 'exactly one default');
    assert.equal(list[0]!.id, ip.id, 'the default comes first');
    assert.equal(await defaultTaxMode(w.system), 'usn_no_vat');

    const renamed = await updateOrganization(w.as(admin), romashka.id, sellerInput({ inn: romashka.inn, ogrn: romashka.ogrn, shortName: 'ООО «Ромашка-2»' }));
    assert.equal(renamed.shortName, 'ООО «Ромашка-2»');
    const actions = (await w.system.db.select().from(auditLog).where(eq(auditLog.entityType, 'organization'))).map((a) => a.action);
    for (const a of ['organization.created', 'organization.made_default', 'organization.updated']) assert.ok(actions.includes(a), a);

    // the default cannot be archived while another remains
    await assert.rejects(archiveOrganization(w.as(admin), ip.id), invalidField('organization', /основная/));
    await setDefaultOrganization(w.as(admin), romashka.id);
    const archived = await archiveOrganization(w.as(admin), ip.id);
    assert.equal(archived.archived, true);
    assert.deepEqual((await listOrganizations(w.as(admin))).map((o) => o.id), [romashka.id]);
    assert.equal((await listOrganizations(w.as(admin), { includeArchived: true })).length, 2);
    await assert.rejects(setDefaultOrganization(w.as(admin), ip.id), invalidField('organization'));
    await assert.rejects(sellerFor(w.as(admin), ip.id), invalidField('organization', /в архиве/));
    await restoreOrganization(w.as(admin), ip.id);
    assert.equal((await getOrganization(w.as(admin), ip.id)).archived, false);
  });

  test('bank accounts: wrong BIK or accounts refused naming the field; the first is the default; sellerFor needs one', async () => {
    const org = await createOrganization(w.as(admin), sellerInput({ shortName: 'ООО «Счета»' }));
    await assert.rejects(sellerFor(w.as(manager), org.id), invalidField('organization', /У организации «ООО «Счета»» нет расчётного счёта: добавьте его в «Наших организациях»/));

    await assert.rejects(addBankAccount(w.as(admin), org.id, { ...SBER, account: typo(SBER.account) }), (e: unknown) =>
      invalidField('account')(e) && (e as ServiceError).fields.account === 'расчётный счёт не сходится с БИК: проверьте цифры',
    );
    await assert.rejects(addBankAccount(w.as(admin), org.id, { ...SBER, corrAccount: typo(SBER.corrAccount) }), invalidField('corrAccount', /не сходится с БИК/));
    await assert.rejects(addBankAccount(w.as(admin), org.id, { ...SBER, bik: '144525225' }), invalidField('bik', /БИК/));
    await assert.rejects(addBankAccount(w.as(admin), org.id, { ...SBER, account: '4070281' }), invalidField('account', /20 цифр/));
    assert.equal((await getOrganization(w.as(admin), org.id)).bankAccounts.length, 0, 'nothing written');

    const sber = await addBankAccount(w.as(admin), org.id, { ...SBER, account: '4070 2810 9380 0000 0001' });
    assert.equal(sber.isDefault, true, 'the first account is the default');
    assert.equal(sber.account, SBER.account, 'spaces are dropped');
    const alfa = await addBankAccount(w.as(head), org.id, ALFA);
    assert.equal(alfa.isDefault, false);

    const first = await sellerFor(w.as(manager), org.id);
    assert.equal(first.organizationId, org.id);
    let seller = first.seller;
    assert.equal(seller.bank.account, SBER.account);
    await setDefaultBankAccount(w.as(admin), alfa.id);
    ({ seller } = await sellerFor(w.as(manager), org.id));
    assert.equal(seller.bank.bik, ALFA.bik);
    assert.equal(seller.shortName, 'ООО «Счета»');
    assert.equal(seller.director?.name, 'Иванов Иван Иванович');

    await assert.rejects(updateBankAccount(w.as(admin), sber.id, { ...SBER, bik: ALFA.bik }), invalidField('account'));
    await updateBankAccount(w.as(admin), sber.id, { ...SBER, bankName: 'Сбербанк' });
    await removeBankAccount(w.as(admin), alfa.id);
    const card = await getOrganization(w.as(manager), org.id);
    assert.deepEqual(card.bankAccounts.map((a) => [a.id, a.isDefault, a.bankName]), [[sber.id, true, 'Сбербанк']], 'the remaining account becomes the default');
  });

  test('images: PNG and JPEG by their bytes, at most 2 MB; they reach the seller', async () => {
    const org = await createOrganization(w.as(admin), sellerInput({ shortName: 'ООО «Картинки»' }));
    await addBankAccount(w.as(admin), org.id, SBER);
    await setOrganizationImage(w.as(admin), org.id, 'logo', { mime: 'image/png', data: PNG });
    await setOrganizationImage(w.as(head), org.id, 'stamp', { mime: 'image/png', data: JPEG });
    await assert.rejects(setOrganizationImage(w.as(admin), org.id, 'director_signature', { mime: 'image/png', data: Buffer.from('GIF89a....') }), invalidField('director_signature', /PNG или JPEG/));
    const big = Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)]);
    await assert.rejects(setOrganizationImage(w.as(admin), org.id, 'director_signature', { mime: 'image/png', data: big }), invalidField('director_signature', /2 МБ/));
    await assert.rejects(setOrganizationImage(w.as(admin), org.id, 'photo', { mime: 'image/png', data: PNG }), invalidField('kind'));

    assert.deepEqual((await getOrganization(w.as(manager), org.id)).images.sort(), ['logo', 'stamp']);
    // a manager gets the stamp and signatures printed on documents, never as a file; the logo is public
    await assert.rejects(readOrganizationImage(w.as(manager), org.id, 'stamp'), code('forbidden'));
    assert.ok(await readOrganizationImage(w.as(manager), org.id, 'logo'));
    const stamp = await readOrganizationImage(w.as(admin), org.id, 'stamp');
    assert.equal(stamp?.mime, 'image/jpeg', 'the type is read from the bytes');
    assert.ok(stamp?.data.equals(JPEG));
    const { seller } = await sellerFor(w.as(manager), org.id);
    assert.ok(Buffer.isBuffer(seller.images.logo) && seller.images.logo.equals(PNG));
    assert.ok(seller.images.stamp?.equals(JPEG));
    assert.equal(seller.images.directorSignature, undefined);

    await removeOrganizationImage(w.as(admin), org.id, 'logo');
    assert.equal(await readOrganizationImage(w.as(manager), org.id, 'logo'), null);
  });

  test('«в лице кого» is kept for the contract\'s preamble; longer than 300 characters is refused and nothing changes', async () => {
    const org = await createOrganization(w.as(admin), sellerInput({ shortName: 'ООО «Преамбула»', signerGenitive: '  Генерального директора Соколова Андрея Викторовича ' }));
    assert.equal(org.signerGenitive, 'Генерального директора Соколова Андрея Викторовича');
    await addBankAccount(w.as(admin), org.id, SBER);
    assert.equal((await sellerFor(w.as(manager), org.id)).seller.signerGenitive, 'Генерального директора Соколова Андрея Викторовича');
    await assert.rejects(
      updateOrganization(w.as(admin), org.id, sellerInput({ shortName: 'ООО «Преамбула»', signerGenitive: 'Д'.repeat(301) })),
      invalidField('signerGenitive', /не длиннее 300 символов/),
    );
    assert.equal((await getOrganization(w.as(admin), org.id)).signerGenitive, 'Генерального директора Соколова Андрея Викторовича');
    // optional: left out, it is cleared, and the preamble falls back to the position and name
    await updateOrganization(w.as(admin), org.id, sellerInput({ shortName: 'ООО «Преамбула»' }));
    assert.equal((await sellerFor(w.as(manager), org.id)).seller.signerGenitive, null);
  });

  test('a manager reads the book but cannot change it', async () => {
    const [any] = await listOrganizations(w.as(manager));
    assert.ok(any);
    await getOrganization(w.as(manager), any.id);
    const n = await orgCount();
    await assert.rejects(createOrganization(w.as(manager), sellerInput()), code('forbidden'));
    await assert.rejects(updateOrganization(w.as(manager), any.id, sellerInput()), code('forbidden'));
    await assert.rejects(setDefaultOrganization(w.as(manager), any.id), code('forbidden'));
    await assert.rejects(archiveOrganization(w.as(manager), any.id), code('forbidden'));
    await assert.rejects(addBankAccount(w.as(manager), any.id, SBER), code('forbidden'));
    await assert.rejects(setOrganizationImage(w.as(manager), any.id, 'logo', { data: PNG }), code('forbidden'));
    assert.equal(await orgCount(), n);
  });

  test('the default organisation is the seller when none is given', async () => {
    const [def] = await w.system.db.select().from(organizations).where(eq(organizations.isDefault, true));
    await addBankAccount(w.as(admin), def!.id, SBER);
    const { organizationId, seller } = await sellerFor(w.as(manager));
    assert.equal(organizationId, def!.id);
    assert.equal(seller.inn, def!.inn);
  });
});

describe('«Наши организации» in the admin panel', () => {
  let a: AdminApp;
  let admin: User, manager: User;

  before(async () => {
    a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
    admin = await a.world.user('admin', { name: 'Админ' });
    manager = await a.world.user('manager', { name: 'Менеджер' });
  });
  after(() => a.close());

  test('the admin adds an ООО, a bank account and a logo; a wrong account gets a Russian error and is not saved', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(admin.email);
    let page = await c.get('/admin/books/organizations');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /Пока нет ни одной организации/);
    await c.get('/admin/books/organizations/new');

    // a bad INN comes back with the form filled in
    const inn = randomInn('legal_entity');
    const form = { kind: 'legal_entity', name: 'Общество с ограниченной ответственностью «Панель»', shortName: 'ООО «Панель»', inn: typo(inn, 9), kpp: '770101001', ogrn: '', taxMode: 'osn', legalAddress: 'г. Москва' };
    const refused = await c.post('/admin/books/organizations', form);
    assert.equal(refused.statusCode, 400);
    assert.match(text(refused.body), /ИНН не сходится по контрольной сумме/);
    assert.match(refused.body, /value="Общество с ограниченной ответственностью «Панель»"|value="Общество с ограниченной ответственностью &laquo;Панель&raquo;"|Панель/);

    page = await c.submit('/admin/books/organizations', { ...form, inn });
    assert.match(text(page.body), /Организация "ООО "Панель"" добавлена|Организация «ООО «Панель»» добавлена/);
    const [org] = await listOrganizations(a.world.system);
    assert.equal(org!.inn, inn);
    assert.equal(org!.isDefault, true);
    const card = `/admin/books/organizations/${org!.id}`;

    page = await c.submit(`${card}/accounts`, { ...SBER, account: typo(SBER.account) });
    assert.match(text(page.body), /расчётный счёт не сходится с БИК: проверьте цифры/);
    assert.equal((await getOrganization(a.world.system, org!.id)).bankAccounts.length, 0);

    page = await c.submit(`${card}/accounts`, SBER);
    assert.match(text(page.body), /Счёт 40702810938000000001 добавлен и стал основным/);
    assert.match(page.body, /value="044525225"/);

    const up = await c.postMultipart(`${card}/images/logo`, {}, [{ field: 'file', name: 'logo.png', type: 'image/png', data: PNG }]);
    assert.equal(up.statusCode, 303);
    page = await c.get(up.headers.location as string);
    assert.match(text(page.body), /Логотип: картинка сохранена/);
    const img = await c.get(`${card}/images/logo`);
    assert.equal(img.statusCode, 200);
    assert.equal(img.headers['content-type'], 'image/png');
    assert.ok(img.rawPayload.equals(PNG));

    const bad = await c.postMultipart(`${card}/images/stamp`, {}, [{ field: 'file', name: 'stamp.gif', type: 'image/gif', data: Buffer.from('GIF89a0000000000') }]);
    page = await c.get(bad.headers.location as string);
    assert.match(text(page.body), /нужна картинка PNG или JPEG/);

    // «В лице (кого)» is on the requisites form and saved with them
    page = await c.get(card);
    assert.match(text(page.body), /В лице \(кого\)/);
    assert.match(text(page.body), /например: Генерального директора Соколова Андрея Викторовича/);
    page = await c.submit(card, { ...form, inn, directorName: 'Панелев Павел Петрович', directorPosition: 'Генеральный директор', signerGenitive: 'Генерального директора Панелева Павла Петровича' });
    assert.match(text(page.body), /Реквизиты «ООО «Панель»» сохранены|Реквизиты "ООО "Панель"" сохранены/);
    assert.match(page.body, /value="Генерального директора Панелева Павла Петровича"/);

    const { seller } = await sellerFor(a.world.system);
    assert.equal(seller.signerGenitive, 'Генерального директора Панелева Павла Петровича');
    assert.equal(seller.shortName, 'ООО «Панель»');
    assert.ok(seller.images.logo?.equals(PNG));
  });

  test('the books\' pages fit a 390 px phone: they never scroll sideways', async () => {
    const [org] = await listOrganizations(a.world.system);
    const p = await createProduct(a.world.system, { name: 'Внедрение системы учёта с длинным наименованием услуги для проверки переноса строк', unit: 'компл.', price: '1250000', code: 'SRV-LONG-0001' });
    const b = await openBrowser();
    try {
      const { page, context } = await b.newPage({ width: 390, height: 844 });
      await signIn(page, a.url, admin.email, 'password123');
      const wide: string[] = [];
      for (const url of ['/admin/books/organizations', '/admin/books/organizations/new', `/admin/books/organizations/${org!.id}`, '/admin/books/products', `/admin/books/products/${p.id}`]) {
        const res = await page.goto(`${a.url}${url}`);
        assert.equal(res?.status(), 200, url);
        const { scroll, view } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })')) as { scroll: number; view: number };
        if (scroll > view) wide.push(`${url}: ${scroll}px`);
      }
      assert.deepEqual(wide, [], 'pages wider than a 390 px phone');
      await context.close();
    } finally {
      await b.close();
    }
  });

  test('a manager does not open the book pages', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(manager.email);
    const page = await c.get('/admin/books/organizations');
    assert.equal(page.statusCode, 403);
  });
});
