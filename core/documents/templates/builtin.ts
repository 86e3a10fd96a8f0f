/**
 * The built-in contract and commercial proposal templates: ordinary .docx files with the same
 * {{placeholders}} an admin's own template may use, built once with the `docx` package. An admin can
 * download one, change it in Word and upload it back as their own.
 *
 * The seller's signature line and «М.П.» carry the bookmarks of bookmarks.ts, where the PDF puts the
 * facsimile and the stamp.
 */
import {
  AlignmentType,
  Bookmark,
  BorderStyle,
  Document,
  Packer,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
  VerticalAlignTable,
  WidthType,
  type ParagraphChild,
} from 'docx';
import { SIGNATURE_BOOKMARK, STAMP_BOOKMARK } from './bookmarks.js';
import { LINES_LOOP, type TemplateKind } from './placeholders.js';


/** A4 with 2.5 cm on the left for binding, 1.5 cm on the right, 2 cm top and bottom (twips) */
const PAGE = { width: 11906, height: 16838, top: 1134, bottom: 1134, left: 1418, right: 850 };
const CONTENT_WIDTH = PAGE.width - PAGE.left - PAGE.right;
const FONT = 'Arial';
/** half-points */
const SIZE = 20;

type Text = string | ParagraphChild;

interface POptions {
  bold?: boolean;
  size?: number;
  align?: (typeof AlignmentType)[keyof typeof AlignmentType];
  before?: number;
  after?: number;
  firstLine?: number;
  keepNext?: boolean;
}

const run = (text: string, o: { bold?: boolean; size?: number; italics?: boolean } = {}) => new TextRun({ text, bold: o.bold, italics: o.italics, size: o.size });
const b = (text: string) => run(text, { bold: true });

function p(content: Text | Text[], o: POptions = {}): Paragraph {
  const parts = Array.isArray(content) ? content : [content];
  return new Paragraph({
    children: parts.map((c) => (typeof c === 'string' ? run(c, { bold: o.bold, size: o.size }) : c)),
    alignment: o.align,
    spacing: { before: o.before ?? 0, after: o.after ?? 60 },
    indent: o.firstLine ? { firstLine: o.firstLine } : undefined,
    keepNext: o.keepNext,
  });
}

/** A contract clause: justified, with a first-line indent. */
const clause = (content: Text | Text[]) => p(content, { align: AlignmentType.JUSTIFIED, firstLine: 567 });
const heading = (text: string) => p(text, { bold: true, align: AlignmentType.CENTER, before: 200, after: 100, keepNext: true });

/** Paragraphs shown only when `name` has a value: the tags stand alone, so paragraphLoop drops them whole. */
const when = (name: string, ...body: Paragraph[]) => [p(`{{#${name}}}`), ...body, p(`{{/${name}}}`)];

const thin = { style: BorderStyle.SINGLE, size: 4, color: '000000' };
const none = { style: BorderStyle.NONE, size: 0, color: 'FFFFFF' };
const allBorders = { top: thin, bottom: thin, left: thin, right: thin };
const noBorders = { top: none, bottom: none, left: none, right: none };

function cell(content: Paragraph | Paragraph[], o: { width: number; span?: number; borders?: boolean; shade?: boolean }) {
  return new TableCell({
    children: Array.isArray(content) ? content : [content],
    width: { size: o.width, type: WidthType.DXA },
    columnSpan: o.span,
    borders: o.borders === false ? noBorders : allBorders,
    shading: o.shade ? { fill: 'EEEEEE' } : undefined,
    verticalAlign: VerticalAlignTable.TOP,
  });
}

const small = (text: string, o: POptions = {}) => p(text, { size: 18, after: 0, ...o });

/** The goods and services: a header row, one row repeated per line ({{#строки}}…{{/строки}}), totals. */
function linesTable(): Table {
  const cols: { title: string; width: number; value: string; align: POptions['align'] }[] = [
    { title: '№', width: 400, value: 'номер', align: AlignmentType.CENTER },
    { title: 'Наименование товара, услуги', width: 3338, value: 'наименование', align: AlignmentType.LEFT },
    { title: 'Кол-во', width: 850, value: 'количество', align: AlignmentType.RIGHT },
    { title: 'Ед.', width: 600, value: 'ед', align: AlignmentType.CENTER },
    { title: 'Цена, руб.', width: 1300, value: 'цена', align: AlignmentType.RIGHT },
    { title: 'Скидка', width: 850, value: 'скидка', align: AlignmentType.RIGHT },
    { title: 'Сумма, руб.', width: 1450, value: 'сумма', align: AlignmentType.RIGHT },
    { title: 'НДС', width: 850, value: 'ставка_ндс', align: AlignmentType.CENTER },
  ];
  const header = new TableRow({
    tableHeader: true,
    children: cols.map((c) => cell(small(c.title, { bold: true, size: 16, align: AlignmentType.CENTER }), { width: c.width, shade: true })),
  });
  const last = cols.length - 1;
  const line = new TableRow({
    children: cols.map((c, i) =>
      cell(small(`${i === 0 ? `{{#${LINES_LOOP}}}` : ''}{{${c.value}}}${i === last ? `{{/${LINES_LOOP}}}` : ''}`, { align: c.align }), { width: c.width }),
    ),
  });
  const spanWidth = cols.slice(0, 6).reduce((s, c) => s + c.width, 0);
  const total = new TableRow({
    children: [
      cell(small('Итого:', { bold: true, align: AlignmentType.RIGHT }), { width: spanWidth, span: 6 }),
      cell(small('{{итого}}', { bold: true, align: AlignmentType.RIGHT }), { width: cols[6]!.width }),
      cell(small(''), { width: cols[7]!.width }),
    ],
  });
  const vat = new TableRow({
    children: [cell(small('{{ндс}}', { align: AlignmentType.RIGHT }), { width: CONTENT_WIDTH, span: cols.length })],
  });
  return new Table({
    width: { size: CONTENT_WIDTH, type: WidthType.DXA },
    columnWidths: cols.map((c) => c.width),
    // narrow cell margins, so «Кол-во» and «Скидка» fit their columns
    margins: { left: 57, right: 57 },
    rows: [header, line, total, vat],
  });
}

/** Two columns without borders, e.g. the city on the left and the date on the right; one row per pair. */
function twoColumns(...rows: [Paragraph[], Paragraph[]][]): Table {
  const half = CONTENT_WIDTH / 2;
  return new Table({
    width: { size: CONTENT_WIDTH, type: WidthType.DXA },
    columnWidths: [half, half],
    borders: { top: none, bottom: none, left: none, right: none, insideHorizontal: none, insideVertical: none },
    rows: rows.map(
      ([left, right]) => new TableRow({ cantSplit: true, children: [cell(left, { width: half, borders: false }), cell(right, { width: half, borders: false })] }),
    ),
  });
}

const requisite = (label: string, name: string) => when(name, small(`${label}{{${name}}}`));

function sellerRequisites(): Paragraph[] {
  return [
    small('Поставщик', { bold: true, after: 60 }),
    small('{{продавец.наименование}}', { bold: true }),
    ...requisite('Адрес: ', 'продавец.адрес'),
    small('ИНН {{продавец.инн}}{{#продавец.кпп}}, КПП {{продавец.кпп}}{{/продавец.кпп}}'),
    ...when('продавец.огрн', small('{{продавец.огрн_название}} {{продавец.огрн}}')),
    small('Р/с {{продавец.расч_счёт}}'),
    small('в {{продавец.банк}}'),
    small('БИК {{продавец.бик}}, к/с {{продавец.корр_счёт}}'),
    ...requisite('Тел.: ', 'продавец.телефон'),
    ...requisite('E-mail: ', 'продавец.email'),
  ];
}

/** The seller's signature line, bookmarked for the facsimile and the stamp in the PDF. */
function sellerSignature(): Paragraph[] {
  return [
    small('{{продавец.должность_руководителя}}', { before: 240 }),
    new Paragraph({
      spacing: { before: 360, after: 0 },
      children: [new Bookmark({ id: SIGNATURE_BOOKMARK, children: [run('______________', { size: 18 })] }), run(' / {{продавец.руководитель_кратко}} /', { size: 18 })],
    }),
    // «М.П.» only for a company; the bookmark stays, so an ИП's uploaded stamp is still put there
    new Paragraph({
      spacing: { before: 120, after: 0 },
      children: [new Bookmark({ id: STAMP_BOOKMARK, children: [run('{{#продавец.юрлицо}}М.П.{{/продавец.юрлицо}}', { size: 18 })] })],
    }),
  ];
}

function buyerRequisites(): Paragraph[] {
  return [
    small('Покупатель', { bold: true, after: 60 }),
    small('{{покупатель.наименование}}', { bold: true }),
    ...requisite('Адрес: ', 'покупатель.адрес'),
    ...when('покупатель.инн', small('ИНН {{покупатель.инн}}{{#покупатель.кпп}}, КПП {{покупатель.кпп}}{{/покупатель.кпп}}')),
    ...requisite('ОГРН ', 'покупатель.огрн'),
    ...requisite('Тел.: ', 'покупатель.телефон'),
    ...requisite('E-mail: ', 'покупатель.email'),
  ];
}

function buyerSignature(): Paragraph[] {
  return [
    small(
      '{{#покупатель.юрлицо}}{{#покупатель.представитель}}Представитель{{/покупатель.представитель}}{{/покупатель.юрлицо}}' +
        '{{#покупатель.ип}}Индивидуальный предприниматель{{/покупатель.ип}}',
      { before: 240 },
    ),
    small('______________ / {{покупатель.подписант_кратко}} /', { before: 360 }),
    // a stamp is a company's: a person signs without one
    small('{{#покупатель.юрлицо}}М.П.{{/покупатель.юрлицо}}', { before: 120 }),
  ];
}

function contract(): Document {
  const children = [
    p('ДОГОВОР № {{номер}}', { bold: true, size: 28, align: AlignmentType.CENTER, after: 60 }),
    p('поставки товаров и оказания услуг', { align: AlignmentType.CENTER, after: 200 }),
    twoColumns([[p('{{#продавец.город}}г. {{продавец.город}}{{/продавец.город}}')], [p('{{дата}}', { align: AlignmentType.RIGHT })]]),
    p('', { after: 120 }),
    clause(
      '{{продавец.преамбула}}, с одной стороны, и {{покупатель.преамбула}}, с другой стороны, вместе именуемые «Стороны», ' +
        'заключили настоящий договор (далее — «Договор») о нижеследующем:',
    ),
    heading('1. ПРЕДМЕТ ДОГОВОРА'),
    clause(
      '1.1. Поставщик обязуется передать в собственность Покупателя товары и (или) оказать услуги (далее — «Товары», «Услуги»), ' +
        'а Покупатель обязуется принять и оплатить их на условиях Договора.',
    ),
    clause('1.2. Наименование, количество, цена и стоимость Товаров и Услуг:'),
    linesTable(),
    p('', { after: 60 }),
    clause('1.3. Всего наименований {{всего_наименований}}, на сумму {{итого}} руб.'),
    heading('2. ЦЕНА И ПОРЯДОК РАСЧЁТОВ'),
    // {{ндс}} ends with «руб.» or is «НДС не облагается»: no full stop after it
    clause('2.1. Общая стоимость Товаров и Услуг по Договору составляет {{итого}} руб. ({{сумма_прописью}}), {{ндс}}'),
    clause(
      '2.2. Покупатель оплачивает Товары и Услуги путём перечисления денежных средств на расчётный счёт Поставщика на основании счёта' +
        '{{#счёт.номер}} № {{счёт.номер}} от {{счёт.дата}}{{/счёт.номер}} в течение {{срок_оплаты}} с даты его выставления.',
    ),
    clause('2.3. Обязательство Покупателя по оплате считается исполненным с момента зачисления денежных средств на расчётный счёт Поставщика.'),
    clause('2.4. Цена Товаров и Услуг, согласованная Сторонами в Договоре, изменению не подлежит.'),
    heading('3. СРОКИ И ПОРЯДОК ПОСТАВКИ ТОВАРОВ И ОКАЗАНИЯ УСЛУГ'),
    clause('3.1. Поставщик передаёт Товары и оказывает Услуги в течение 10 (десяти) рабочих дней с даты поступления оплаты, если иной срок не согласован Сторонами в письменной форме.'),
    clause('3.2. Передача Товаров оформляется товарной накладной или универсальным передаточным документом, оказание Услуг — актом, подписанными обеими Сторонами.'),
    clause('3.3. Покупатель в течение 5 (пяти) рабочих дней с даты получения документов, указанных в п. 3.2, подписывает их либо направляет Поставщику мотивированный отказ. Если в этот срок отказ не направлен, Товары и Услуги считаются принятыми.'),
    clause('3.4. Право собственности на Товары и риск их случайной гибели переходят к Покупателю с даты подписания документа о передаче.'),
    heading('4. ОТВЕТСТВЕННОСТЬ СТОРОН'),
    clause('4.1. За неисполнение или ненадлежащее исполнение обязательств по Договору Стороны несут ответственность в соответствии с законодательством Российской Федерации.'),
    clause('4.2. За просрочку оплаты Поставщик вправе потребовать от Покупателя уплаты пени в размере 0,1% от неоплаченной суммы за каждый день просрочки, но не более 10% от неоплаченной суммы.'),
    clause('4.3. За просрочку передачи Товаров или оказания Услуг Покупатель вправе потребовать от Поставщика уплаты пени в размере 0,1% от стоимости непереданных Товаров или неоказанных Услуг за каждый день просрочки, но не более 10% от их стоимости.'),
    clause('4.4. Стороны освобождаются от ответственности за неисполнение обязательств, если оно вызвано обстоятельствами непреодолимой силы, возникшими после заключения Договора.'),
    heading('5. ПОРЯДОК РАЗРЕШЕНИЯ СПОРОВ'),
    clause('5.1. Споры и разногласия по Договору Стороны разрешают путём переговоров. Срок ответа на письменную претензию — 10 (десять) рабочих дней с даты её получения.'),
    clause('5.2. Если спор не урегулирован в претензионном порядке, он передаётся на рассмотрение суда по месту нахождения Поставщика в порядке, установленном законодательством Российской Федерации.'),
    heading('6. СРОК ДЕЙСТВИЯ ДОГОВОРА'),
    clause('6.1. Договор вступает в силу с даты его подписания Сторонами и действует до полного исполнения ими своих обязательств.'),
    clause('6.2. Изменения и дополнения к Договору действительны, если они совершены в письменной форме и подписаны обеими Сторонами.'),
    clause('6.3. Договор, документы и сообщения по нему, подписанные и переданные по электронной почте, имеют силу до обмена оригиналами. Договор составлен в двух экземплярах, имеющих равную юридическую силу, по одному для каждой из Сторон.'),
    heading('7. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН'),
    twoColumns([sellerRequisites(), buyerRequisites()], [sellerSignature(), buyerSignature()]),
  ];
  return document(children);
}

function proposal(): Document {
  const children = [
    p('{{продавец.краткое_наименование}}', { bold: true, size: 26, after: 0 }),
    small('ИНН {{продавец.инн}}{{#продавец.кпп}}, КПП {{продавец.кпп}}{{/продавец.кпп}}{{#продавец.адрес}} · {{продавец.адрес}}{{/продавец.адрес}}'),
    small('{{#продавец.телефон}}Тел.: {{продавец.телефон}}{{/продавец.телефон}}{{#продавец.email}} · E-mail: {{продавец.email}}{{/продавец.email}}', { after: 300 }),
    p('КОММЕРЧЕСКОЕ ПРЕДЛОЖЕНИЕ', { bold: true, size: 28, align: AlignmentType.CENTER, after: 60 }),
    p('№ {{номер_кп}} от {{дата}}', { align: AlignmentType.CENTER, after: 240 }),
    p([b('Кому: '), '{{покупатель.наименование}}']),
    ...when('покупатель.представитель', p([b('Вниманию: '), '{{покупатель.представитель}}'])),
    p([b('Предмет: '), '{{сделка.название}}'], { after: 200 }),
    p('{{вступление}}', { align: AlignmentType.JUSTIFIED, after: 200 }),
    linesTable(),
    p('', { after: 60 }),
    p(['Всего наименований {{всего_наименований}}, на сумму ', b('{{итого}} руб.'), ' ({{сумма_прописью}}), {{ндс}}'], { align: AlignmentType.JUSTIFIED, after: 200 }),
    ...when('условия', p('Условия', { bold: true, after: 60, keepNext: true }), p('{{условия}}', { align: AlignmentType.JUSTIFIED, after: 200 })),
    ...when('действительно_до', p([b('Предложение действительно до {{действительно_до}}')], { after: 300 })),
    p('С уважением,', { after: 0 }),
    p('{{менеджер.имя}}', { bold: true, after: 0 }),
    ...when('менеджер.телефон', p('Тел.: {{менеджер.телефон}}', { after: 0 })),
    ...when('менеджер.email', p('E-mail: {{менеджер.email}}', { after: 0 })),
    p('', { after: 240 }),
    ...sellerSignature(),
  ];
  return document(children);
}

function document(children: (Paragraph | Table)[]): Document {
  return new Document({
    creator: 'CRM',
    styles: { default: { document: { run: { font: FONT, size: SIZE }, paragraph: { spacing: { after: 60 } } } } },
    sections: [
      {
        properties: {
          page: {
            size: { width: PAGE.width, height: PAGE.height },
            margin: { top: PAGE.top, bottom: PAGE.bottom, left: PAGE.left, right: PAGE.right },
          },
        },
        children,
      },
    ],
  });
}

const cache = new Map<TemplateKind, Promise<Buffer>>();

/** The built-in template of a kind as .docx bytes (built once per process). */
export function builtInTemplate(kind: TemplateKind): Promise<Buffer> {
  let built = cache.get(kind);
  if (!built) {
    built = Packer.toBuffer(kind === 'contract' ? contract() : proposal());
    cache.set(kind, built);
    built.catch(() => cache.delete(kind));
  }
  return built;
}
