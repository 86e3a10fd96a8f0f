import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { formatPercent, lineSums, totalsOf, type TaxMode } from '../core/documents/money.js';
import type { InvoiceData, SellerData } from '../core/documents/types.js';
import { amountInWords, plural } from '../core/documents/render/words.js';
import { dateDots, dateInWords, money } from '../core/documents/render/format.js';
import { paymentQrPayload } from '../core/documents/render/qr.js';
import { invoicePaymentQr, renderInvoicePdf } from '../core/documents/render/invoice-pdf.js';
import { pdfPageCount, pdfQrCodes, pdfText } from './helpers/pdf.js';

interface Line {
  name: string;
  quantity: string;
  unit: string;
  price: bigint;
  discount?: string;
  vatRate?: number | null;
}

const seller = (kind: SellerData['kind'] = 'legal_entity', taxMode: TaxMode = 'osn'): SellerData => ({
  kind,
  name: kind === 'sole_proprietor' ? 'ИП Петров Пётр Петрович' : 'ООО «Вентиляция Плюс»',
  shortName: kind === 'sole_proprietor' ? 'ИП Петров П. П.' : 'ООО «Вентиляция Плюс»',
  inn: kind === 'sole_proprietor' ? '500100732259' : '7701234564',
  kpp: kind === 'sole_proprietor' ? null : '770101001',
  ogrn: null,
  legalAddress: '101000, г. Москва, ул. Мясницкая, д. 10, офис 5',
  postalAddress: null,
  phone: '+7 495 123-45-67',
  email: 'office@vent.example',
  city: 'Москва',
  bank: { bankName: 'ПАО Сбербанк г. Москва', bik: '044525225', corrAccount: '30101810400000000225', account: '40702810938000012345' },
  director: kind === 'sole_proprietor' ? null : { name: 'Иванов И. И.', position: 'Генеральный директор' },
  directorBasis: null,
  accountant: kind === 'sole_proprietor' ? null : { name: 'Сидорова А. В.', position: 'Главный бухгалтер' },
  taxMode,
  images: {},
});

function invoice(lines: Line[], o: { taxMode?: TaxMode; sellerKind?: SellerData['kind']; number?: number; images?: SellerData['images'] } = {}): InvoiceData {
  const taxMode = o.taxMode ?? 'osn';
  const docLines = lines.map((l, i) => {
    const sums = lineSums({ quantity: l.quantity, priceKopecks: l.price, discountPercent: l.discount ?? '0', vatRate: l.vatRate === undefined ? 22 : l.vatRate }, taxMode);
    return { ...sums, n: i + 1, name: l.name, quantity: l.quantity, unit: l.unit, priceKopecks: l.price, discountPercent: l.discount ?? '0' };
  });
  const number = o.number ?? 15;
  const s = seller(o.sellerKind, taxMode);
  if (o.images) s.images = o.images;
  return {
    date: '2026-12-02',
    seller: s,
    buyer: {
      kind: 'legal_entity',
      name: 'ООО «Ромашка»',
      inn: '5003012342',
      kpp: '500301001',
      ogrn: null,
      address: '142700, Московская обл., г. Видное, ул. Заводская, д. 3',
      phone: null,
      email: null,
      contactName: 'Кузнецов Олег',
    },
    lines: docLines,
    totals: totalsOf(docLines),
    dealTitle: 'Вентиляция склада',
    manager: { name: 'Анна', phone: null, email: null },
    number,
    purpose: `Оплата по счёту № ${number} от 02.12.2026 за вентиляционное оборудование и работы`,
    contract: { number: 7, date: '2026-12-01' },
    payWithinDays: 5,
  };
}

/** 1 000 000,00 + 3 × 50 000,10 + 2,5 × 20 000,08 = 1 200 000,50 */
const threeLines: Line[] = [
  { name: 'Монтаж системы вентиляции', quantity: '1', unit: 'усл', price: 100000000n },
  { name: 'Вентилятор канальный ВК-125', quantity: '3', unit: 'шт', price: 5000010n },
  { name: 'Пусконаладочные работы', quantity: '2,5', unit: 'ч', price: 2000008n },
];

/** the text with every run of white space made one space, so wrapped and spaced-out text compares simply */
const flat = (s: string) => s.replace(/\s+/g, ' ');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** a table row on one line of the layout text: its number, then the given cells in order */
const rowPattern = (n: number, name: string, ...cells: string[]) =>
  new RegExp(`^\\s*${n}\\s+${[escape(name), ...cells.map((c) => `${escape(c).replace(/ /g, '\\s')}(?=\\s|$)`)].join('.*\\s')}`, 'm');

describe('amounts in words and document formats', () => {
  test('roubles in words, kopecks in digits, every form of «рубль» and «копейка»', () => {
    const cases: [bigint, string][] = [
      [120000050n, 'Один миллион двести тысяч рублей 50 копеек'],
      [2101n, 'Двадцать один рубль 01 копейка'],
      [0n, 'Ноль рублей 00 копеек'],
      [100n, 'Один рубль 00 копеек'],
      [200n, 'Два рубля 00 копеек'],
      [500n, 'Пять рублей 00 копеек'],
      [1100n, 'Одиннадцать рублей 00 копеек'],
      [11100n, 'Сто одиннадцать рублей 00 копеек'],
      [100000n, 'Одна тысяча рублей 00 копеек'],
      [200000n, 'Две тысячи рублей 00 копеек'],
      [500000n, 'Пять тысяч рублей 00 копеек'],
      [100000000n, 'Один миллион рублей 00 копеек'],
      [2100000100n, 'Двадцать один миллион один рубль 00 копеек'],
      [102n, 'Один рубль 02 копейки'],
      [1411n, 'Четырнадцать рублей 11 копеек'],
      [200000000000n, 'Два миллиарда рублей 00 копеек'],
      [2212200n, 'Двадцать две тысячи сто двадцать два рубля 00 копеек'],
    ];
    for (const [kopecks, words] of cases) assert.equal(amountInWords(kopecks), words, `${kopecks}`);
  });

  test('a discount prints with a comma, no trailing zeros and no space before «%»', () => {
    assert.equal(formatPercent('12.50'), '12,5%');
    assert.equal(formatPercent('10.00'), '10%');
    assert.equal(formatPercent('10'), '10%');
    assert.equal(formatPercent('7,25'), '7,25%');
    assert.equal(formatPercent('100.00'), '100%');
    assert.equal(formatPercent('0.00'), '0%');
  });

  test('plural picks one, few or many', () => {
    const forms: [string, string, string] = ['день', 'дня', 'дней'];
    assert.deepEqual([1, 2, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112].map((n) => plural(n, forms)), ['день', 'дня', 'дней', 'дней', 'дней', 'дней', 'день', 'дня', 'дней', 'день', 'дней', 'дней']);
    assert.equal(plural(1000001n, ['рубль', 'рубля', 'рублей']), 'рубль');
  });

  test('dates and money as documents print them', () => {
    assert.equal(dateInWords('2026-12-02'), '2 декабря 2026 г.');
    assert.equal(dateInWords('2027-01-31'), '31 января 2027 г.');
    assert.equal(dateDots('2026-12-02'), '02.12.2026');
    assert.equal(money(120000050n), '1 200 000,50');
    assert.equal(money(2101n), '21,01');
    assert.equal(money(0n), '0,00');
    assert.equal(money(99999n), '999,99');
    assert.equal(money(100000n), '1 000,00');
  });
});

describe('the payment QR code payload (ГОСТ Р 56042-2014)', () => {
  const base = {
    payeeName: 'ООО «Вентиляция Плюс»',
    account: '40702810938000012345',
    bankName: 'ПАО Сбербанк г. Москва',
    bik: '044525225',
    corrAccount: '30101810400000000225',
    payeeInn: '7701234564',
    kpp: '770101001',
    sumKopecks: 120000050n,
    purpose: 'Оплата по счёту № 15 от 02.12.2026',
  };

  test('UTF-8 header, the mandatory requisites first, the sum in kopecks', () => {
    assert.equal(
      paymentQrPayload(base),
      'ST00012|Name=ООО «Вентиляция Плюс»|PersonalAcc=40702810938000012345|BankName=ПАО Сбербанк г. Москва|BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7701234564|KPP=770101001|Sum=120000050|Purpose=Оплата по счёту № 15 от 02.12.2026',
    );
  });

  test('a sole proprietor has no KPP; separators and line breaks never reach a value', () => {
    const p = paymentQrPayload({ ...base, kpp: null, payeeName: 'ИП Петров|П. П.', purpose: 'Оплата\nпо счёту № 3|за работы' });
    assert.ok(!p.includes('KPP='));
    assert.match(p, /\|Name=ИП Петров П\. П\.\|/);
    assert.match(p, /\|Purpose=Оплата по счёту № 3 за работы$/);
    assert.equal(p.split('|').length, 9);
  });
});

describe('«Счёт на оплату» PDF', () => {
  test('prints the number and date, both parties, every line, VAT «в том числе», the total in words and the payment terms', async () => {
    const data = invoice(threeLines);
    assert.equal(data.totals.totalKopecks, 120000050n);
    const text = await pdfText(await renderInvoicePdf(data));
    const f = flat(text);

    assert.match(f, /Счёт на оплату № 15 от 2 декабря 2026 г\./);
    // the bank block
    for (const s of ['ПАО Сбербанк г. Москва', 'БИК', '044525225', '30101810400000000225', '40702810938000012345', 'Банк получателя', 'Получатель']) assert.ok(f.includes(s), s);
    // supplier and buyer with their INN and KPP
    assert.match(f, /Поставщик .*ООО «Вентиляция Плюс», ИНН 7701234564, КПП 770101001, 101000, г\. Москва/);
    assert.match(f, /Покупатель .*ООО «Ромашка», ИНН 5003012342, КПП 500301001, 142700, Московская обл\./);
    assert.match(f, /Основание: Договор № 7 от 1 декабря 2026 г\./);
    // the table: every line's name, quantity, unit, price and sum on its row
    assert.match(text, rowPattern(1, 'Монтаж системы вентиляции', '1', 'усл', '1 000 000,00', '1 000 000,00'));
    assert.match(text, rowPattern(2, 'Вентилятор канальный ВК-125', '3', 'шт', '50 000,10', '150 000,30'));
    assert.match(text, rowPattern(3, 'Пусконаладочные работы', '2,5', 'ч', '20 000,08', '50 000,20'));
    assert.ok(!f.includes('Скидка'), 'no discount column when no line has a discount');
    // 1 200 000,50 × 22 / 122 = 216 393,5327… → 216 393,53 (the lines' VAT: 180 327,87 + 27 049,23 + 9 016,43, the same)
    assert.match(f, /Итого: 1 200 000,50/);
    assert.match(f, /В том числе НДС 22%: 216 393,53/);
    assert.match(f, /Всего к оплате: 1 200 000,50/);
    assert.match(f, /Всего наименований 3, на сумму 1 200 000,50 руб\./);
    assert.match(f, /Один миллион двести тысяч рублей 50 копеек/);
    assert.match(f, /Оплатить в течение 5 банковских дней с даты выставления счёта/);
    assert.match(f, /Назначение платежа: Оплата по счёту № 15 от 02\.12\.2026/);
    assert.match(f, /Оплата по QR-коду/);
    // a company's signatures
    assert.match(f, /Руководитель/);
    assert.match(f, /Генеральный директор/);
    assert.match(f, /Иванов И\. И\./);
    assert.match(f, /Бухгалтер/);
    assert.match(f, /Сидорова А\. В\./);
  });

  test('under УСН the VAT is 5% or 7% of the lines, or «Без налога (НДС)»', async () => {
    // per line, rounded half up: 5%: 47 619,05 + 7 142,87 + 2 380,96 = 57 142,88; 7%: 65 420,56 + 9 813,10 + 3 271,04 = 78 504,70
    const vat5 = flat(await pdfText(await renderInvoicePdf(invoice(threeLines, { taxMode: 'usn_vat5' }))));
    assert.match(vat5, /В том числе НДС 5%: 57 142,88/);
    assert.ok(!vat5.includes('НДС 22%'));
    const vat7 = flat(await pdfText(await renderInvoicePdf(invoice(threeLines, { taxMode: 'usn_vat7' }))));
    assert.match(vat7, /В том числе НДС 7%: 78 504,70/);
    const noVat = flat(await pdfText(await renderInvoicePdf(invoice(threeLines, { taxMode: 'usn_no_vat' }))));
    assert.match(noVat, /Без налога \(НДС\)/);
    assert.ok(!noVat.includes('В том числе НДС'));
    for (const f of [vat5, vat7, noVat]) {
      assert.match(f, /Всего к оплате: 1 200 000,50/);
      assert.match(f, /Один миллион двести тысяч рублей 50 копеек/);
    }
  });

  test('under УСН with VAT a line «без НДС» stays exempt and a 0% line stays at 0%; only a positive rate becomes 5%', async () => {
    const lines: Line[] = [
      { name: 'Обучение персонала', quantity: '1', unit: 'усл', price: 1_000_000n, vatRate: null },
      { name: 'Поставка на экспорт', quantity: '1', unit: 'шт', price: 500_000n, vatRate: 0 },
      { name: 'Вентилятор канальный ВК-125', quantity: '1', unit: 'шт', price: 210_000n, vatRate: 22 },
    ];
    const data = invoice(lines, { taxMode: 'usn_vat5' });
    assert.deepEqual(data.lines.map((l) => l.vatRate), [null, 0, 5]);
    // 2 100,00 × 5 / 105 = 100,00
    assert.equal(data.totals.vatKopecks, 10_000n);
    const f = flat(await pdfText(await renderInvoicePdf(data)));
    assert.match(f, /В том числе НДС 5%: 100,00/);
    assert.match(f, /В том числе НДС 0%: 0,00/);
    assert.ok(!f.includes('НДС 22%'));
    const noVat = invoice(lines, { taxMode: 'usn_no_vat' });
    assert.deepEqual(noVat.lines.map((l) => l.vatRate), [null, null, null]);
  });

  test('a 0% line under ОСН is printed as its own rate; a discount adds the «Скидка» column', async () => {
    const data = invoice([
      { name: 'Поставка на экспорт', quantity: '2', unit: 'шт', price: 1000000n, vatRate: 0 },
      { name: 'Доставка', quantity: '1', unit: 'усл', price: 1220000n, discount: '10.00' },
    ]);
    // 12 200,00 − 10% = 10 980,00; VAT 10 980,00 × 22 / 122 = 1 980,00
    const text = await pdfText(await renderInvoicePdf(data));
    const f = flat(text);
    assert.match(f, /Скидка/);
    assert.match(text, rowPattern(2, 'Доставка', '1', 'усл', '12 200,00', '10%', '10 980,00'));
    assert.match(text, rowPattern(1, 'Поставка на экспорт', '2', 'шт', '10 000,00', '20 000,00'));
    assert.match(f, /В том числе НДС 22%: 1 980,00/);
    assert.match(f, /В том числе НДС 0%: 0,00/);
    assert.match(f, /Всего к оплате: 30 980,00/);
    assert.match(f, /Всего наименований 2, на сумму 30 980,00 руб\./);
    assert.match(f, /Тридцать тысяч девятьсот восемьдесят рублей 00 копеек/);
  });

  test('a sole proprietor signs as «Индивидуальный предприниматель», with no accountant and no KPP', async () => {
    const data = invoice(threeLines, { sellerKind: 'sole_proprietor', taxMode: 'usn_no_vat' });
    const pdf = await renderInvoicePdf(data);
    const f = flat(await pdfText(pdf));
    assert.match(f, /Индивидуальный предприниматель/);
    assert.match(f, /Петров Пётр Петрович/);
    assert.ok(!f.includes('Бухгалтер'));
    assert.match(f, /Поставщик .*ИП Петров Пётр Петрович, ИНН 500100732259, 101000/);
    const [qr] = await pdfQrCodes(pdf);
    assert.equal(qr, invoicePaymentQr(data));
    assert.ok(!qr!.includes('KPP='));
  });

  test('a sole proprietor named in full signs with the name alone, without «Индивидуальный предприниматель» twice', async () => {
    const data = invoice(threeLines, { sellerKind: 'sole_proprietor', taxMode: 'usn_no_vat' });
    data.seller.name = 'Индивидуальный предприниматель Петров Пётр Петрович';
    const f = flat(await pdfText(await renderInvoicePdf(data)));
    assert.match(f, /Поставщик .*Индивидуальный предприниматель Петров Пётр Петрович, ИНН 500100732259/);
    // the recipient, the supplier and the signature's label; under the label, the name alone
    // (the signature's cells wrap, so count the word alone)
    assert.equal(f.match(/Индивидуальный/g)?.length, 3, f);
  });

  test('the QR code read from the page is the payment payload with the account, BIK, INN and the sum in kopecks', async () => {
    const data = invoice(threeLines);
    const codes = await pdfQrCodes(await renderInvoicePdf(data));
    assert.equal(codes.length, 1);
    const expected = paymentQrPayload({
      payeeName: 'ООО «Вентиляция Плюс»',
      account: '40702810938000012345',
      bankName: 'ПАО Сбербанк г. Москва',
      bik: '044525225',
      corrAccount: '30101810400000000225',
      payeeInn: '7701234564',
      kpp: '770101001',
      sumKopecks: 120000050n,
      purpose: data.purpose,
    });
    assert.equal(codes[0], expected);
    assert.equal(invoicePaymentQr(data), expected);
    for (const s of ['ST00012|', 'PersonalAcc=40702810938000012345', 'BIC=044525225', 'PayeeINN=7701234564', 'KPP=770101001', 'Sum=120000050']) assert.ok(codes[0]!.includes(s), s);
  });

  test('60 lines run over several pages with the header repeated and no line lost', async () => {
    const lines: Line[] = Array.from({ length: 60 }, (_, i) => ({
      name: i % 7 === 0 ? `Позиция ${i + 1}: воздуховод оцинкованный прямоугольного сечения с фланцевым соединением и уплотнителем` : `Позиция ${i + 1}`,
      quantity: String(i + 1),
      unit: 'шт',
      price: 10000n + BigInt(i),
    }));
    const data = invoice(lines, { number: 61 });
    const pdf = await renderInvoicePdf(data);
    const text = await pdfText(pdf);
    const pages = await pdfPageCount(pdf);
    assert.ok(pages >= 2, `pages: ${pages}`);
    const f = flat(text);
    for (const [i, l] of lines.entries()) {
      assert.equal(f.match(new RegExp(`Позиция ${i + 1}(?!\\d)`, 'g'))?.length, 1, l.name);
      assert.match(text, rowPattern(i + 1, `Позиция ${i + 1}`, l.quantity, 'шт', money(l.price), money(data.lines[i]!.amountKopecks)));
    }
    const pagesWithRows = text.split('\f').filter((page) => /^\s*\d+\s+Позиция/m.test(page));
    assert.ok(pagesWithRows.length >= 2);
    for (const page of pagesWithRows) assert.match(page, /№\s+Товары \(работы, услуги\)\s+Кол-во\s+Ед\.\s+Цена\s+Сумма/, 'the table header on every page it runs over');
    assert.match(f, new RegExp(`страница ${pages} из ${pages}`));
    assert.match(f, new RegExp(`Всего наименований 60, на сумму ${escape(money(data.totals.totalKopecks))} руб\\.`));
    assert.deepEqual(await pdfQrCodes(pdf), [invoicePaymentQr(data)]);
  });

  test('a logo, signatures and a stamp are placed; an unreadable image is left out and the invoice still made', async () => {
    const png = (w: number, h: number, rgb: [number, number, number]) => {
      const img = new PNG({ width: w, height: h });
      for (let i = 0; i < w * h; i++) img.data.set([...rgb, 255], i * 4);
      return PNG.sync.write(img, { colorType: 2 });
    };
    const withImages = invoice(threeLines, {
      images: { logo: png(300, 80, [20, 60, 160]), directorSignature: png(120, 40, [0, 0, 120]), stamp: png(150, 150, [40, 40, 200]) },
    });
    const pdf = await renderInvoicePdf(withImages);
    assert.match(flat(await pdfText(pdf)), /Счёт на оплату № 15/);
    assert.equal(pdf.toString('latin1').match(/\/Subtype \/Image/g)?.length, 3);
    assert.deepEqual(await pdfQrCodes(pdf), [invoicePaymentQr(withImages)]);

    const broken = await renderInvoicePdf(invoice(threeLines, { images: { logo: Buffer.from('not an image') } }));
    assert.match(flat(await pdfText(broken)), /Всего к оплате: 1 200 000,50/);
  });
});
