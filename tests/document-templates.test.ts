import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlignmentType, Document, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from 'docx';
import PizZip from 'pizzip';
import { PNG } from 'pngjs';
import { lineSums, totalsOf, type LineInput } from '../core/documents/money.js';
import { docxToPdf } from '../core/documents/render/docx-pdf.js';
import { renderContract } from '../core/documents/render/contract.js';
import { renderProposal } from '../core/documents/render/proposal.js';
import { builtInTemplate } from '../core/documents/templates/builtin.js';
import { checkTemplate, fillTemplate } from '../core/documents/templates/fill.js';
import { sampleData } from '../core/documents/templates/sample.js';
import { placeholderList, templateValues } from '../core/documents/templates/placeholders.js';
import { isServiceError } from '../core/errors.js';
import type { ContractData, DocumentLine, ProposalData, SellerData } from '../core/documents/types.js';
import { pdfText } from './helpers/pdf.js';

const seller: SellerData = {
  kind: 'legal_entity',
  name: 'Общество с ограниченной ответственностью «Северный ветер»',
  shortName: 'ООО «Северный ветер»',
  inn: '7736207543',
  kpp: '773601001',
  ogrn: '1027700229193',
  legalAddress: '119021, г. Москва, ул. Льва Толстого, д. 16',
  postalAddress: null,
  phone: '+74951234567',
  email: 'sales@veter.example',
  city: 'Москва',
  bank: { bankName: 'ПАО Сбербанк', bik: '044525225', corrAccount: '30101810400000000225', account: '40702810938000012345' },
  director: { name: 'Иванов Иван Иванович', position: 'Генеральный директор' },
  directorBasis: 'Устава',
  accountant: { name: 'Петрова Анна Сергеевна', position: 'Главный бухгалтер' },
  taxMode: 'osn',
  images: {},
};

const buyer = {
  kind: 'legal_entity' as const,
  name: 'ООО «Ромашка»',
  inn: '7707083893',
  kpp: '770701001',
  ogrn: '1027700132195',
  address: '117997, г. Москва, ул. Вавилова, д. 19',
  phone: '+79161234567',
  email: 'buy@romashka.example',
  contactName: 'Смирнов Пётр Алексеевич',
};

const inputs: (LineInput & { name: string; unit: string })[] = [
  { name: 'Кресло офисное «Комфорт»', unit: 'шт.', quantity: '4', priceKopecks: 1_250_000n, discountPercent: '0', vatRate: 22 },
  { name: 'Стол письменный угловой', unit: 'шт.', quantity: '2', priceKopecks: 2_399_950n, discountPercent: '10', vatRate: 22 },
  { name: 'Сборка и доставка', unit: 'усл.', quantity: '1,5', priceKopecks: 300_000n, discountPercent: '0', vatRate: 22 },
];
const lines: DocumentLine[] = inputs.map((l, i) => ({
  ...lineSums(l),
  n: i + 1,
  name: l.name,
  quantity: l.quantity,
  unit: l.unit,
  priceKopecks: l.priceKopecks,
  discountPercent: l.discountPercent,
}));
const totals = totalsOf(lines);

const contract: ContractData = {
  number: 17,
  date: '2026-12-02',
  seller,
  buyer,
  lines,
  totals,
  dealTitle: 'Мебель для нового офиса',
  manager: { name: 'Ольга Кузнецова', phone: '+79035554433', email: 'olga@veter.example' },
  invoice: { number: 15, date: '2026-12-02' },
};

const proposal: ProposalData = {
  ...contract,
  version: 3,
  validUntil: '2026-12-31',
  intro: 'Благодарим за интерес к нашей мебели.\nПредлагаем комплект для кабинета руководителя.',
  terms: 'Оплата 100% по счёту. Доставка по Москве бесплатно.',
};

/** The document's visible text: word/document.xml without tags, paragraphs on their own lines. */
function docxText(docx: Buffer): string {
  const xml = new PizZip(docx).file('word/document.xml')!.asText();
  return xml
    .replace(/<w:p[ >]/g, '\n$&')
    .replace(/<w:(?:tab|br)\/>/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** pdftotext and Word both wrap: compare with all whitespace squeezed to single spaces. */
const squeeze = (s: string) => s.replace(/\s+/g, ' ');

function assertHasContract(text: string) {
  const t = squeeze(text);
  assert.match(t, /ДОГОВОР № 17/);
  assert.match(t, /2 декабря 2026 г\./);
  assert.match(t, /г\. Москва/);
  for (const s of [seller.name, 'ИНН 7736207543', 'КПП 773601001', buyer.name, 'ИНН 7707083893', 'КПП 770701001', '40702810938000012345', '044525225']) {
    assert.ok(t.includes(s), `no «${s}» in the contract`);
  }
  for (const l of inputs) assert.ok(t.includes(l.name), `no line «${l.name}»`);
  // 4 × 12 500 + 2 × 23 999,50 − 10% + 1,5 × 3 000 = 50 000 + 43 199,10 + 4 500
  assert.equal(totals.totalKopecks, 9_769_910n);
  assert.ok(t.includes('97 699,10'), 'no total');
  assert.ok(t.includes('43 199,10'), 'no discounted line sum');
  assert.ok(t.includes('10%'), 'no discount');
  assert.ok(t.includes(`в том числе НДС 22% — ${'17 617,87'} руб.`), 'no VAT');
  assert.ok(/Девяносто семь тысяч шестьсот девяносто девять рублей 10 копеек/i.test(t), 'no total in words');
  assert.ok(t.includes('№ 15 от 02.12.2026'), 'no invoice');
  assert.ok(!t.includes('{{'), 'a placeholder left unfilled');
  assert.ok(!t.includes('}}'), 'a placeholder left unfilled');
}

test('money of the sample: VAT 22% included in every line', () => {
  assert.equal(totals.vatKopecks, 1_761_787n);
});

test('the built-in contract .docx has the parties, every line, the total, VAT and the total in words', async () => {
  const docx = fillTemplate('contract', await builtInTemplate('contract'), templateValues('contract', contract));
  const text = docxText(docx);
  assertHasContract(text);
  assert.match(squeeze(text), /именуемое в дальнейшем «Поставщик»/);
  assert.match(squeeze(text), /7\. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН/);
  assert.match(squeeze(text), /Иванов И\. И\./);
});

function assertHasProposal(text: string) {
  const t = squeeze(text);
  for (const s of [
    'КОММЕРЧЕСКОЕ ПРЕДЛОЖЕНИЕ',
    '№ 3 от 2 декабря 2026 г.',
    'ООО «Северный ветер»',
    'ООО «Ромашка»',
    'Смирнов Пётр Алексеевич',
    'Благодарим за интерес к нашей мебели.',
    'Предлагаем комплект для кабинета руководителя.',
    'Оплата 100% по счёту. Доставка по Москве бесплатно.',
    'Предложение действительно до 31 декабря 2026 г.',
    'Ольга Кузнецова',
    '+7 903 555 44 33',
    'olga@veter.example',
    '97 699,10',
    'в том числе НДС 22% — 17 617,87 руб.',
  ]) {
    assert.ok(t.includes(s), `no «${s}» in the proposal`);
  }
  for (const l of inputs) assert.ok(t.includes(l.name), `no line «${l.name}»`);
  assert.ok(!t.includes('{{') && !t.includes('}}'), 'a placeholder left unfilled');
}

test('the built-in proposal .docx has the version, validity, intro, terms, lines and the manager', async () => {
  assertHasProposal(docxText(fillTemplate('proposal', await builtInTemplate('proposal'), templateValues('proposal', proposal))));
});

/** A small opaque PNG, as an admin's scanned signature would be. */
function png(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  for (let i = 0; i < img.data.length; i += 4) img.data.set([20, 40, 160, 255], i);
  return PNG.sync.write(img);
}

const imagesIn = (pdf: Buffer) => pdf.toString('latin1').match(/\/Subtype \/Image/g)?.length ?? 0;

test('the contract PDF, made without an office suite, reads the same as its .docx', async () => {
  const files = await renderContract(contract, null);
  assertHasContract(docxText(files.docx!));
  assert.equal(files.pdf.subarray(0, 5).toString(), '%PDF-');
  const text = await pdfText(files.pdf);
  assertHasContract(text);
  assert.match(squeeze(text), /7\. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН/);
  assert.equal(imagesIn(files.pdf), 0);
});

test('the seller\'s signature and stamp go into the PDF, not into the .docx', async () => {
  const signed = { ...contract, seller: { ...seller, images: { directorSignature: png(120, 50), stamp: png(100, 100) } } };
  const files = await renderContract(signed, null);
  assert.ok(imagesIn(files.pdf) >= 2, 'the signature and the stamp are drawn');
  assert.equal(Object.keys(new PizZip(files.docx!).files).filter((f) => f.startsWith('word/media/')).length, 0);
});

test('the proposal PDF has the version, validity, intro, terms, lines and the manager', async () => {
  const files = await renderProposal(proposal, null);
  assertHasProposal(docxText(files.docx!));
  assertHasProposal(await pdfText(files.pdf));
});

test('a long contract flows onto more pages and repeats the table header', async () => {
  const many: DocumentLine[] = Array.from({ length: 60 }, (_, i) => ({ ...lines[i % 3]!, n: i + 1, name: `Позиция номер ${i + 1} с длинным названием, которое переносится на вторую строку ячейки таблицы` }));
  const files = await renderContract({ ...contract, lines: many, totals: totalsOf(many) }, null);
  const text = await pdfText(files.pdf);
  const pages = text.split('\f').filter((p) => p.trim());
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  for (let i = 1; i <= 60; i++) assert.ok(squeeze(text).includes(`Позиция номер ${i} с длинным`), `line ${i}`);
  assert.ok(squeeze(pages[1]!).includes('Наименование товара, услуги'), 'the header row on the second page');
});

test('the placeholder list names every value the contract and the proposal fill', () => {
  for (const kind of ['contract', 'proposal'] as const) {
    const names = placeholderList(kind).map((p) => p.name);
    for (const n of ['номер', 'дата', 'продавец.инн', 'покупатель.кпп', 'итого', 'ндс', 'сумма_прописью', '#строки', 'наименование', 'менеджер.email']) {
      assert.ok(names.includes(n), `${kind}: ${n}`);
    }
    assert.ok(placeholderList(kind).every((p) => p.description.length > 3));
  }
  assert.ok(placeholderList('contract').some((p) => p.name === 'счёт.номер'));
  assert.ok(placeholderList('proposal').some((p) => p.name === 'действительно_до'));
});

/** An admin's own template, as Word would save it: a few placeholders, a paragraph loop and a table loop. */
async function customTemplate(extra = ''): Promise<Buffer> {
  const cell = (text: string) => new TableCell({ children: [new Paragraph(text)], width: { size: 3000, type: WidthType.DXA } });
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ alignment: AlignmentType.CENTER, children: [new TextRun({ text: 'Договор {{номер}} от {{дата_цифрами}}', bold: true })] }),
          new Paragraph('Покупатель: {{покупатель.наименование}}, ИНН {{покупатель.инн}}, счёт {{продавец.корр_счет}}' + extra),
          new Paragraph('{{#строки}}'),
          new Paragraph('{{номер}}. {{наименование}} — {{количество}} {{ед}} на {{сумма}} руб. (НДС {{ставка_ндс}}), {{продавец.краткое_наименование}}'),
          new Paragraph('{{/строки}}'),
          new Table({
            columnWidths: [3000, 3000, 3000],
            rows: [
              new TableRow({ children: [cell('Что'), cell('Сколько'), cell('Сумма')] }),
              new TableRow({ children: [cell('{{#строки}}{{наименование}}'), cell('{{количество}}'), cell('{{сумма}}{{/строки}}')] }),
            ],
          }),
          new Paragraph('Итого {{итого}} ({{сумма_прописью}}), {{ндс}}.'),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}

test('an admin\'s own .docx is filled: placeholders, ё written as е, a paragraph loop and a table loop', async () => {
  const template = await customTemplate();
  checkTemplate('contract', template);
  const text = docxText(fillTemplate('contract', template, templateValues('contract', contract)));
  const t = squeeze(text);
  assert.ok(t.includes('Договор 17 от 02.12.2026'));
  assert.ok(t.includes('Покупатель: ООО «Ромашка», ИНН 7707083893, счёт 30101810400000000225'));
  assert.ok(t.includes('1. Кресло офисное «Комфорт» — 4 шт. на 50 000,00 руб. (НДС 22%), ООО «Северный ветер»'));
  assert.ok(t.includes('2. Стол письменный угловой — 2 шт. на 43 199,10 руб.'));
  assert.ok(t.includes('3. Сборка и доставка — 1,5 усл. на 4 500,00 руб.'));
  assert.ok(t.includes('Сборка и доставка 1,5 4 500,00') && t.includes('Кресло офисное «Комфорт» 4 50 000,00'), 'the table row repeats per line');
  const pdf = squeeze(await pdfText(await docxToPdf(fillTemplate('contract', template, templateValues('contract', contract)))));
  assert.ok(pdf.includes('Договор 17 от 02.12.2026'));
  assert.ok(pdf.includes('3. Сборка и доставка — 1,5 усл. на 4 500,00 руб.'));
  assert.ok(pdf.includes('Сборка и доставка 1,5 4 500,00'));
  assert.ok(t.includes('Итого 97 699,10 (Девяносто семь тысяч шестьсот девяносто девять рублей 10 копеек), в том числе НДС 22% — 17 617,87 руб.'));
  assert.ok(!t.includes('{{'));
});

function refused(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isServiceError(e) && e.code === 'invalid', String(e));
    return e.fields.template ?? '';
  }
  assert.fail('the template was accepted');
}

const simpleDocx = (text: string) => Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph(text)] }] }));

test('a template with an unknown placeholder is refused, naming it', async () => {
  const template = await customTemplate(' {{покупатель.имя_несуществующее}}');
  assert.match(refused(() => checkTemplate('contract', template)), /неизвестная метка \{\{покупатель\.имя_несуществующее\}\}/);
  assert.throws(() => fillTemplate('contract', template, templateValues('contract', contract)), isServiceError);
  // the proposal's own placeholders are not the contract's, and the other way round
  const validity = await simpleDocx('Действует до {{действительно_до}}');
  assert.match(refused(() => checkTemplate('contract', validity)), /неизвестная метка \{\{действительно_до\}\}/);
  checkTemplate('proposal', validity);
  assert.match(refused(() => checkTemplate('proposal', template)), /неизвестная метка \{\{(счёт|покупатель)\./);
});

test('a line placeholder outside {{#строки}}, a broken tag and a file that is not .docx are refused', async () => {
  assert.match(refused(() => checkTemplate('contract', Buffer.from('x'))), /не похож на документ Word/);
  const zipNotWord = new PizZip().file('readme.txt', 'hello').generate({ type: 'nodebuffer' });
  assert.match(refused(() => checkTemplate('contract', zipNotWord)), /не похож на документ Word/);
  const [lineOutside, unclosedTag, unclosedLoop] = await Promise.all(
    ['Товар: {{наименование}}', 'Покупатель {{покупатель.инн', '{{#строки}}{{наименование}}'].map(simpleDocx),
  );
  assert.match(refused(() => checkTemplate('contract', lineOutside!)), /\{\{наименование\}\}.*только внутри/);
  assert.match(refused(() => checkTemplate('contract', unclosedTag!)), /не закрыта/);
  assert.match(refused(() => checkTemplate('contract', unclosedLoop!)), /не закрыт/);
});

/** Rejects with the template's «invalid», or fails the test after a generous wait instead of hanging the run. */
async function refusedAsync(work: Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('still reading the damaged template after 20 s')), 20_000);
  });
  try {
    await Promise.race([work, guard]);
  } catch (e) {
    assert.ok(isServiceError(e) && e.code === 'invalid', String(e));
    return e.fields.template ?? '';
  } finally {
    clearTimeout(timer);
  }
  assert.fail('the damaged template was accepted');
}

function damaged(docx: Buffer, part: string, change: (xml: string) => string): Buffer {
  const zip = new PizZip(docx);
  zip.file(part, change(zip.file(part)!.asText()));
  return zip.generate({ type: 'nodebuffer' });
}

test('a damaged .docx (a comment never closed, a tag without a name) is refused as damaged, not read forever', async () => {
  const docx = fillTemplate('contract', await builtInTemplate('contract'), templateValues('contract', contract));
  const unclosedComment = damaged(docx, 'word/styles.xml', (xml) => xml + '<!-- broken');
  assert.match(await refusedAsync(docxToPdf(unclosedComment)), /^шаблон повреждён: комментарий/);
  const nameless = damaged(docx, 'word/document.xml', (xml) => xml.replace('<w:body>', '<w:body><>'));
  assert.match(await refusedAsync(docxToPdf(nameless)), /^шаблон повреждён: тег без имени/);
  const cutShort = damaged(docx, 'word/document.xml', (xml) => xml.slice(0, xml.lastIndexOf('<') + 4));
  assert.match(await refusedAsync(docxToPdf(cutShort)), /^шаблон повреждён: .*не закрыт/);
  for (const tail of ['<![CDATA[ x', '<?pi x']) {
    assert.match(await refusedAsync(docxToPdf(damaged(docx, 'word/styles.xml', (xml) => xml + tail))), /^шаблон повреждён: /);
  }
});

test('the sample snapshot renders with both built-in templates: parties, two lines, the total', async () => {
  const contractSample = sampleData('contract');
  assert.equal(contractSample.lines.length, 2);
  const contractPdf = squeeze(await pdfText((await renderContract(contractSample, null)).pdf));
  for (const s of [contractSample.seller.name, contractSample.buyer.name, ...contractSample.lines.map((l) => l.name), 'ДОГОВОР № 17']) {
    assert.ok(contractPdf.includes(s), `no «${s}» in the sample contract`);
  }
  const proposalSample = sampleData('proposal');
  const proposalPdf = squeeze(await pdfText((await renderProposal(proposalSample, null)).pdf));
  assert.ok(proposalPdf.includes(proposalSample.lines[1]!.name) && proposalPdf.includes('12,5%'), 'no discounted line in the sample proposal');
});

test('an admin\'s template that fills but cannot be printed is refused as the template\'s fault, for both kinds', async () => {
  for (const kind of ['contract', 'proposal'] as const) {
    const broken = damaged(await builtInTemplate(kind), 'word/styles.xml', (xml) => xml + '<!-- broken');
    checkTemplate(kind, broken);
    const render = kind === 'contract' ? renderContract(sampleData('contract'), broken) : renderProposal(sampleData('proposal'), broken);
    assert.match(await refusedAsync(render), /^шаблон повреждён: комментарий/);
  }
});

test('the contract gives the invoice\'s days to pay; an ИП acts on its ЕГРИП record with the ОГРНИП', async () => {
  const template = await builtInTemplate('contract');
  const filled = (data: ContractData) => squeeze(docxText(fillTemplate('contract', template, templateValues('contract', data))));
  assert.match(filled(contract), /в течение 5 банковских дней с даты его выставления/);
  assert.match(filled({ ...contract, payWithinDays: 10 }), /в течение 10 банковских дней с даты его выставления/);
  assert.match(filled({ ...contract, payWithinDays: 1 }), /в течение 1 банковского дня с даты его выставления/);
  assert.equal(templateValues('contract', { ...contract, payWithinDays: 3 })['срок_оплаты_дней'], '3');

  const ip: SellerData = { ...seller, kind: 'sole_proprietor', name: 'Индивидуальный предприниматель Орлов Олег Олегович', kpp: null, ogrn: '304500116000157', directorBasis: null, director: null };
  assert.match(filled({ ...contract, seller: ip }), /действующий на основании записи в ЕГРИП \(ОГРНИП 304500116000157\)/);
  assert.match(filled({ ...contract, seller: { ...ip, ogrn: null } }), /на основании записи в ЕГРИП, именуемый в дальнейшем «Поставщик», с одной стороны/);
  assert.doesNotMatch(filled({ ...contract, seller: ip }), /свидетельства/);
});

test('the contract\'s preamble reads as a lawyer writes it: «в лице» in the genitive, the gender of each party, no brackets', async () => {
  const template = await builtInTemplate('contract');
  const filled = (data: ContractData) => squeeze(docxText(fillTemplate('contract', template, templateValues('contract', data))));
  const withGenitive = { ...contract, seller: { ...seller, signerGenitive: 'Генерального директора Иванова Ивана Ивановича' } };
  const t = filled(withGenitive);
  assert.ok(
    t.includes(
      'Общество с ограниченной ответственностью «Северный ветер», именуемое в дальнейшем «Поставщик», в лице Генерального директора Иванова Ивана Ивановича, ' +
        'действующего на основании Устава, с одной стороны, и ООО «Ромашка», именуемое в дальнейшем «Покупатель», в лице представителя Смирнов Пётр Алексеевич, ' +
        'действующего на основании ____________________, с другой стороны, вместе именуемые «Стороны»',
    ),
    t.slice(0, 900),
  );
  assert.ok(!t.includes('в лице руководителя'), 'the old bracketed form is gone');

  // nothing in the book: the position and the name as they are, without brackets
  assert.ok(filled(contract).includes('именуемое в дальнейшем «Поставщик», в лице генеральный директор Иванов Иван Иванович, действующего на основании Устава, с одной стороны'));
  // no contact in the deal: blanks to fill in by hand
  assert.ok(filled({ ...contract, buyer: { ...buyer, contactName: null } }).includes('именуемое в дальнейшем «Покупатель», в лице ____________________, действующего на основании ____________________, с другой стороны'));

  const ip: SellerData = { ...seller, kind: 'sole_proprietor', name: 'Индивидуальный предприниматель Орлов Олег Олегович', kpp: null, ogrn: '304500116000157', directorBasis: null, director: null };
  assert.ok(
    filled({ ...contract, seller: ip }).includes(
      'Индивидуальный предприниматель Орлов Олег Олегович, действующий на основании записи в ЕГРИП (ОГРНИП 304500116000157), именуемый в дальнейшем «Поставщик», с одной стороны',
    ),
  );
  const ipWoman: SellerData = { ...ip, name: 'ИП Орлова О. О.', director: { name: 'Орлова Ольга Олеговна', position: 'Индивидуальный предприниматель' } };
  assert.ok(filled({ ...contract, seller: ipWoman }).includes('Индивидуальный предприниматель Орлова Ольга Олеговна, действующая на основании записи в ЕГРИП (ОГРНИП 304500116000157), именуемая в дальнейшем «Поставщик»'));

  const person = { ...buyer, kind: 'individual' as const, name: 'Ким Алиса', inn: null, kpp: null, ogrn: null, contactName: null };
  const forPerson = filled({ ...contract, buyer: person });
  assert.ok(forPerson.includes('с одной стороны, и Ким Алиса, именуемый(-ая) в дальнейшем «Покупатель», с другой стороны'), forPerson.slice(0, 700));
  assert.ok(filled({ ...contract, buyer: { ...person, name: 'Петрова Анна Сергеевна' } }).includes('и Петрова Анна Сергеевна, именуемая в дальнейшем «Покупатель», с другой стороны'));

  const ipBuyer = { ...buyer, kind: 'sole_proprietor' as const, name: 'ИП Орлов Олег Олегович', kpp: null, ogrn: '304500116000157', contactName: null };
  const forIp = filled({ ...contract, buyer: ipBuyer });
  assert.ok(forIp.includes('и Индивидуальный предприниматель Орлов Олег Олегович, действующий на основании записи в ЕГРИП (ОГРНИП 304500116000157), именуемый в дальнейшем «Покупатель», с другой стороны'));
  assert.ok(forIp.includes('/ Орлов О. О. /'), 'the ИП signs himself');

  // «М.П.»: under a company's signature only
  const stamps = (text: string) => text.match(/М\.П\./g)?.length ?? 0;
  assert.equal(stamps(t), 2);
  assert.equal(stamps(forPerson), 1, 'a person has no stamp');
  assert.equal(stamps(forIp), 1, 'an ИП buyer signs without «М.П.»');
  assert.equal(stamps(filled({ ...contract, seller: ip, buyer: person })), 0);
  // the PDF reads the same
  const pdf = squeeze(await pdfText((await renderContract({ ...withGenitive, buyer: person }, null)).pdf));
  assert.ok(pdf.includes('в лице Генерального директора Иванова Ивана Ивановича, действующего на основании Устава'));
  assert.ok(pdf.includes('Ким Алиса, именуемый(-ая) в дальнейшем «Покупатель»'));
  assert.equal(stamps(pdf), 1);
});

test('a КП is numbered «<deal>-<version>», so two clients\' first proposals differ', async () => {
  const template = await builtInTemplate('proposal');
  const filled = (data: ProposalData) => squeeze(docxText(fillTemplate('proposal', template, templateValues('proposal', data))));
  assert.ok(filled({ ...proposal, dealId: 42 }).includes('№ 42-3 от 2 декабря 2026 г.'));
  assert.ok(filled({ ...proposal, dealId: 43, version: 1 }).includes('№ 43-1 от 2 декабря 2026 г.'));
  // a snapshot made before the deal was recorded in it keeps its version as the number
  assert.ok(filled(proposal).includes('№ 3 от 2 декабря 2026 г.'));
  const values = templateValues('proposal', { ...proposal, dealId: 42 });
  assert.equal(values['номер_кп'], '42-3');
  assert.equal(values['версия'], '3');
  const pdf = squeeze(await pdfText((await renderProposal({ ...proposal, dealId: 42 }, null)).pdf));
  assert.ok(pdf.includes('№ 42-3 от 2 декабря 2026 г.'));
  const names = placeholderList('proposal').map((p) => p.name);
  assert.ok(names.includes('номер_кп'));
  for (const n of ['продавец.преамбула', 'покупатель.преамбула', 'покупатель.юрлицо', 'продавец.юрлицо']) assert.ok(placeholderList('contract').some((p) => p.name === n), n);
});
