import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { eq } from 'drizzle-orm';
import type { User } from '../core/users/users.js';
import { ServiceError } from '../core/errors.js';
import { auditLog } from '../core/db/schema/index.js';
import { archiveProduct, createProduct, getProduct, listProducts, parseVatRate, restoreProduct, updateProduct } from '../core/products/products.js';
import { importProductsCsv, productColumns } from '../core/products/import.js';
import { PanelClient, pageText as text } from './helpers/http-client.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';

const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
const invalidField = (field: string, re?: RegExp) => (e: unknown) =>
  e instanceof ServiceError && e.code === 'invalid' && field in e.fields && (!re || re.test(e.fields[field]!));

let a: AdminApp;
let admin: User, head: User, manager: User;

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  admin = await a.world.user('admin', { name: 'Админ' });
  head = await a.world.user('head', { name: 'Руководитель' });
  manager = await a.world.user('manager', { name: 'Менеджер' });
});
after(() => a.close());

describe('«Товары и услуги» in core', () => {
  test('VAT rates as people write them', () => {
    assert.equal(parseVatRate('22%'), 22);
    assert.equal(parseVatRate(' 10 '), 10);
    assert.equal(parseVatRate('0%'), 0);
    assert.equal(parseVatRate('без НДС'), null);
    assert.equal(parseVatRate('Без ндс'), null);
    assert.equal(parseVatRate('18%'), undefined);
    assert.equal(parseVatRate('двадцать'), undefined);
  });

  test('create, edit, archive and find; the name is unique whatever its case; a manager reads but does not write', async () => {
    const w = a.world;
    const p = await createProduct(w.as(head), { name: 'Монтаж окна', unit: 'усл.', price: '4 500,50', vatRate: '22%', code: 'MNT-1' });
    assert.equal(p.priceKopecks, 450050n);
    assert.equal(p.vatRate, 22);
    assert.equal(p.unit, 'усл.');
    const free = await createProduct(w.as(admin), { name: 'Консультация', unit: 'час', price: 2000, vatRate: null });
    assert.equal(free.vatRate, null, '«без НДС»');
    assert.equal((await createProduct(w.as(admin), { name: 'Доставка', price: '700' })).vatRate, 22, 'the general rate when none is given');
    assert.equal((await createProduct(w.as(admin), { name: 'Рулон плёнки', unit: 'рулон', price: '1' })).unit, 'рулон', 'a unit of one\'s own');

    await assert.rejects(createProduct(w.as(admin), { name: 'монтаж ОКНА', price: '1' }), (e: unknown) => code('conflict')(e) && /уже есть/.test((e as Error).message));
    await assert.rejects(createProduct(w.as(admin), { name: 'Новое', price: 'дорого' }), invalidField('price', /цена/));
    await assert.rejects(createProduct(w.as(admin), { name: 'Новое', price: '-5' }), invalidField('price'));
    await assert.rejects(createProduct(w.as(admin), { name: 'Новое', price: '5', vatRate: '18%' }), invalidField('vatRate', /ставка НДС/));
    await assert.rejects(createProduct(w.as(admin), { name: '  ', price: '5' }), invalidField('name'));
    await assert.rejects(updateProduct(w.as(admin), free.id, { name: 'МОНТАЖ окна', price: '1' }), code('conflict'));

    const renamed = await updateProduct(w.as(admin), free.id, { name: 'Консультация инженера', unit: 'час', price: '2500', vatRate: 'без НДС' });
    assert.equal(renamed.priceKopecks, 250000n);
    assert.equal(renamed.vatRate, null);
    assert.deepEqual((await listProducts(w.as(manager), { q: 'ИНЖЕНЕР' })).map((x) => x.id), [free.id], 'search ignores case');
    assert.deepEqual((await listProducts(w.as(manager), { q: 'mnt' })).map((x) => x.id), [p.id], 'search by the article');
    assert.equal((await getProduct(w.as(manager), p.id)).name, 'Монтаж окна');

    await archiveProduct(w.as(head), p.id);
    assert.ok(!(await listProducts(w.as(manager))).some((x) => x.id === p.id), 'an archived product is not offered');
    assert.ok((await listProducts(w.as(manager), { includeArchived: true })).some((x) => x.id === p.id));
    await restoreProduct(w.as(head), p.id);

    await assert.rejects(createProduct(w.as(manager), { name: 'Менеджерский', price: '1' }), code('forbidden'));
    await assert.rejects(updateProduct(w.as(manager), p.id, { name: 'Менеджерский', price: '1' }), code('forbidden'));
    await assert.rejects(archiveProduct(w.as(manager), p.id), code('forbidden'));
    const actions = (await w.system.db.select().from(auditLog).where(eq(auditLog.entityType, 'product'))).map((x) => x.action);
    for (const x of ['product.created', 'product.updated', 'product.archived', 'product.restored']) assert.ok(actions.includes(x), x);
  });

  test('CSV headers in Russian and English', () => {
    assert.deepEqual(productColumns(['Наименование', 'Ед. изм.', 'Цена, руб.', 'Ставка НДС', 'Артикул']), { name: 0, unit: 1, price: 2, vat: 3, code: 4 });
    assert.deepEqual(productColumns(['code', 'name', 'unit', 'price', 'vat']), { code: 0, name: 1, unit: 2, price: 3, vat: 4 });
    assert.deepEqual(productColumns(['Название', 'Единица', 'Цена', 'НДС']), { name: 0, unit: 1, price: 2, vat: 3 });
  });

  test('a UTF-8 price list imports: new products created, a known name updated, a bad row rejected with its reasons, nothing else lost', async () => {
    const w = a.world;
    await createProduct(w.as(admin), { name: 'Кабель ВВГ 3х2,5', unit: 'м', price: '80', vatRate: 22 });
    const csv = [
      'Наименование;Ед.;Цена;НДС;Артикул',
      'Кабель ввг 3х2,5;м;95,50;22%;CAB-325',
      '"Розетка двойная; белая";шт;350;22;R-2',
      'Проектирование;усл.;15 000;без НДС;',
      ';шт;10;22%;',
      'Выключатель;шт;дёшево;18%;',
      'Светильник LED;шт;1200;10;L-1',
    ].join('\r\n');
    const r = await importProductsCsv(w.as(head), Buffer.from('\uFEFF' + csv, 'utf8'));
    assert.equal(r.created, 3);
    assert.equal(r.updated, 1);
    assert.deepEqual(r.rejected.map((x) => x.line), [5, 6]);
    assert.match(r.rejected[0]!.errors.join(' '), /укажите наименование/);
    assert.equal(r.rejected[1]!.name, 'Выключатель');
    assert.match(r.rejected[1]!.errors.join(' '), /цена/);
    assert.match(r.rejected[1]!.errors.join(' '), /ставка НДС/);

    const [cable] = await listProducts(w.as(manager), { q: 'ВВГ' });
    assert.equal(cable!.priceKopecks, 9550n, 'updated by name');
    assert.equal(cable!.code, 'CAB-325');
    assert.equal(cable!.name, 'Кабель ВВГ 3х2,5', 'the book keeps its spelling of the name');
    const [socket] = await listProducts(w.as(manager), { q: 'Розетка двойная' });
    assert.equal(socket!.name, 'Розетка двойная; белая');
    assert.equal((await listProducts(w.as(manager), { q: 'Проектирование' }))[0]!.vatRate, null);
    assert.equal((await listProducts(w.as(manager), { q: 'Светильник' }))[0]!.vatRate, 10);
  });

  test('a Windows-1251 price list with commas imports; a file without a name column or too many rows is refused clearly', async () => {
    const w = a.world;
    const csv = ['name,unit,price,vat', 'Плитка керамическая,кв. м,"1250,00",22%', 'Затирка,кг,300,', 'Грунтовка,л,abc,22'].join('\n');
    const r = await importProductsCsv(w.as(admin), iconv.encode(csv, 'win1251'));
    assert.equal(r.created, 2);
    assert.deepEqual(r.rejected.map((x) => [x.line, x.name]), [[4, 'Грунтовка']]);
    const [tile] = await listProducts(w.as(manager), { q: 'плитка' });
    assert.equal(tile!.unit, 'кв. м');
    assert.equal(tile!.priceKopecks, 125000n);
    assert.equal((await listProducts(w.as(manager), { q: 'Затирка' }))[0]!.vatRate, 22, 'an empty VAT cell is the general rate');

    await assert.rejects(importProductsCsv(w.as(admin), Buffer.from('Цена;НДС\n100;22\n')), invalidField('file', /Наименование/));
    const many = ['Наименование;Цена', ...Array.from({ length: 20_001 }, (_, i) => `Товар ${i};1`)].join('\n');
    await assert.rejects(importProductsCsv(w.as(admin), Buffer.from(many)), invalidField('file', /больше 20\s000 строк/));
    await assert.rejects(importProductsCsv(w.as(manager), Buffer.from(csv)), code('forbidden'));
  });
});

describe('«Товары и услуги» in the admin panel', () => {
  test('the head adds, edits, archives and imports; the result lists rejected rows with reasons; a manager only reads', async () => {
    const c = new PanelClient(a.app);
    await c.signIn(head.email);
    let page = await c.get('/admin/books/products');
    assert.equal(page.statusCode, 200);
    page = await c.submit('/admin/books/products', { name: 'Замер помещения', unit: 'усл.', price: '1 500', vatRate: 'без НДС', code: '' });
    assert.match(text(page.body), /«Замер помещения» добавлен в справочник/);
    page = await c.submit('/admin/books/products', { name: 'замер помещения', unit: 'шт', price: '1', vatRate: '22', code: '' });
    assert.match(text(page.body), /уже есть в справочнике/);
    page = await c.submit('/admin/books/products', { name: 'Плинтус', unit: 'м', price: 'много', vatRate: '22', code: '' });
    assert.match(text(page.body), /цена: число рублей/);

    const [zamer] = await listProducts(a.world.system, { q: 'Замер помещения' });
    assert.equal(zamer!.vatRate, null);
    page = await c.get(`/admin/books/products/${zamer!.id}`);
    assert.match(page.body, /value="1500"|value="1500,00"|value="1 500"/);
    page = await c.submit(`/admin/books/products/${zamer!.id}`, { name: 'Замер помещения', unit: 'усл.', price: '1800', vatRate: '22', code: 'Z-1' });
    assert.match(text(page.body), /сохранён/);
    assert.equal((await getProduct(a.world.system, zamer!.id)).priceKopecks, 180000n);

    const csv = iconv.encode(['Название;Единица;Цена;Ставка НДС', 'Замер помещения;усл.;2000;22%', 'Демонтаж;усл.;3000;22', 'Уборка;час;сколько;22'].join('\r\n'), 'win1251');
    page = await c.postMultipart('/admin/books/products/import', {}, [{ field: 'file', name: 'прайс.csv', type: 'text/csv', data: csv }]);
    assert.equal(page.statusCode, 200);
    const t = text(page.body);
    assert.match(t, /Добавлено: 1 \. Обновлено: 1 \. Не загружено: 1 \./);
    assert.match(t, /4 Уборка цена: число рублей/);
    assert.equal((await getProduct(a.world.system, zamer!.id)).priceKopecks, 200000n);

    page = await c.postMultipart('/admin/books/products/import', {}, [{ field: 'file', name: 'x.csv', type: 'text/csv', data: Buffer.from('Цена\n1\n') }]);
    assert.match(text(page.body), /Файл не загружен: .*Наименование/);

    page = await c.submit(`/admin/books/products/${zamer!.id}/archive`, {});
    assert.match(text(page.body), /в архиве/);
    page = await c.get('/admin/books/products?q=' + encodeURIComponent('демонтаж'));
    assert.match(text(page.body), /Демонтаж/);
    assert.doesNotMatch(text(page.body), /Уборка/);

    const m = new PanelClient(a.app);
    await m.signIn(manager.email);
    page = await m.get('/admin/books/products');
    assert.equal(page.statusCode, 200);
    assert.match(text(page.body), /Демонтаж/);
    assert.doesNotMatch(page.body, /action="\/admin\/books\/products\/import"/);
    const refused = await m.post('/admin/books/products', { name: 'Менеджерский', price: '1', vatRate: '22' });
    assert.equal(refused.statusCode, 303);
    assert.equal((await listProducts(a.world.system, { q: 'Менеджерский' })).length, 0);
  });
});
