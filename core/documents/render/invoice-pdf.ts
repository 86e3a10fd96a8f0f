/**
 * «Счёт на оплату» as a PDF, in the layout Russian accountants expect (the 1C form): the bank block, the
 * heading, supplier and buyer, the lines table, VAT «в том числе», the total in words, the payment QR code
 * (ГОСТ Р 56042-2014) and the signatures. A pure function of the snapshot: no database, no clock.
 */
import { formatPercent, hasDiscount } from '../money.js';
import type { InvoiceData } from '../types.js';
import { dateInWords, money } from './format.js';
import {
  addPageFooters,
  contentWidth,
  drawQrCode,
  drawTable,
  ensureSpace,
  font,
  left,
  mm,
  placeImage,
  right,
  rule,
  startDocument,
  textAt,
  textHeight,
  type TableColumn,
} from './pdf-kit.js';
import { paymentQrPayload } from './qr.js';
import { amountInWords, plural } from './words.js';

const BODY = 9;
const SMALL = 7;
const QR_SIZE = mm(35);

export const invoiceTitle = (data: Pick<InvoiceData, 'number' | 'date'>): string => `Счёт на оплату № ${data.number} от ${dateInWords(data.date)}`;

/** What the invoice's QR code holds: the seller's requisites, the total and the purpose. */
export function invoicePaymentQr(data: InvoiceData): string {
  const { seller } = data;
  return paymentQrPayload({
    payeeName: seller.name,
    account: seller.bank.account,
    bankName: seller.bank.bankName,
    bik: seller.bank.bik,
    corrAccount: seller.bank.corrAccount,
    payeeInn: seller.inn,
    kpp: seller.kind === 'sole_proprietor' ? null : seller.kpp,
    sumKopecks: data.totals.totalKopecks,
    purpose: data.purpose,
  });
}

const joinParts = (parts: (string | null | undefined | false)[]): string => parts.filter((p): p is string => !!p && p.trim() !== '').join(', ');

export async function renderInvoicePdf(data: InvoiceData): Promise<Buffer> {
  const { seller, buyer } = data;
  const title = invoiceTitle(data);
  const { doc, finish } = startDocument({ title, author: seller.name, subject: data.purpose });
  const x0 = left(doc);
  const W = contentWidth(doc);
  let y = doc.page.margins.top;

  // --- logo
  const logo = placeImage(doc, seller.images.logo, x0, y, [mm(60), mm(18)]);
  if (logo) y += logo.height + mm(4);

  // --- bank block: the grid every accountant's eye goes to first
  y = bankBlock(doc, data, x0, y, W) + mm(7);

  // --- heading
  y = textAt(doc, title, x0, y, W, { font: 'bold', size: 13.5 }) + 3;
  rule(doc, y, 1.5);
  y += mm(3.5);

  // --- parties
  const sellerText = joinParts([
    seller.name,
    `ИНН ${seller.inn}`,
    seller.kind !== 'sole_proprietor' && seller.kpp ? `КПП ${seller.kpp}` : null,
    seller.legalAddress ?? seller.postalAddress,
    seller.phone ? `тел.: ${seller.phone}` : null,
  ]);
  const buyerText = joinParts([
    buyer.name,
    buyer.inn ? `ИНН ${buyer.inn}` : null,
    buyer.kpp ? `КПП ${buyer.kpp}` : null,
    buyer.address,
  ]);
  y = party(doc, 'Поставщик\n(Исполнитель):', sellerText, x0, y, W) + mm(2.5);
  y = party(doc, 'Покупатель\n(Заказчик):', buyerText, x0, y, W) + mm(2.5);
  if (data.contract) y = party(doc, 'Основание:', `Договор № ${data.contract.number} от ${dateInWords(data.contract.date)}`, x0, y, W) + mm(2.5);
  y += mm(1.5);

  // --- lines
  const withDiscount = data.lines.some((l) => l.discountKopecks > 0n || hasDiscount(l.discountPercent));
  const sumWidth = 80;
  const columns: TableColumn[] = [
    { header: '№', width: 22, align: 'center' },
    { header: 'Товары (работы, услуги)', width: '*' },
    { header: 'Кол-во', width: 50, align: 'right' },
    { header: 'Ед.', width: 34, align: 'center' },
    { header: 'Цена', width: 74, align: 'right' },
    ...(withDiscount ? [{ header: 'Скидка', width: 44, align: 'right' } as const] : []),
    { header: 'Сумма', width: sumWidth, align: 'right' },
  ];
  const rows = data.lines.map((l) => [
    String(l.n),
    l.name,
    l.quantity,
    l.unit,
    money(l.priceKopecks),
    ...(withDiscount ? [hasDiscount(l.discountPercent) ? formatPercent(l.discountPercent) : ''] : []),
    money(l.amountKopecks),
  ]);
  y = drawTable(doc, y, columns, rows, { fontSize: 8.5 }) + mm(2);

  // --- totals, right-aligned under the «Сумма» column
  const totals: [string, string][] = [['Итого:', money(data.totals.totalKopecks)]];
  if (data.totals.withoutVat) totals.push(['Без налога (НДС)', '-']);
  else for (const r of data.totals.vatByRate) totals.push([`В том числе НДС ${r.rate}%:`, money(r.vatKopecks)]);
  totals.push(['Всего к оплате:', money(data.totals.totalKopecks)]);
  const rowH = BODY + 4;
  y = ensureSpace(doc, y, totals.length * rowH);
  const valueX = right(doc) - sumWidth;
  for (const [label, value] of totals) {
    font(doc, 'bold', BODY);
    doc.text(label, x0, y, { width: valueX - x0 - 6, align: 'right', lineBreak: false });
    doc.text(value, valueX, y, { width: sumWidth - 3, align: 'right', lineBreak: false });
    y += rowH;
  }
  y += mm(2);

  // --- the total in words
  const count = `Всего наименований ${data.lines.length}, на сумму ${money(data.totals.totalKopecks)} руб.`;
  const words = amountInWords(data.totals.totalKopecks);
  y = ensureSpace(doc, y, textHeight(doc, count, W) + textHeight(doc, words, W, { font: 'bold' }) + 4);
  y = textAt(doc, count, x0, y, W, { size: BODY });
  y = textAt(doc, words, x0, y + 1, W, { font: 'bold', size: BODY }) + mm(3);

  // --- payment terms
  const days = data.payWithinDays;
  const terms = [
    `Оплатить в течение ${days} ${plural(days, ['банковского дня', 'банковских дней', 'банковских дней'])} с даты выставления счёта.`,
    `Назначение платежа: ${data.purpose}`,
  ].join('\n');
  y = ensureSpace(doc, y, textHeight(doc, terms, W, { size: 8 }) + 6);
  y = textAt(doc, terms, x0, y, W, { size: 8, lineGap: 1.5 }) + mm(2);
  rule(doc, y, 1.5);
  y += mm(4);

  // --- QR code and signatures, kept together on one page
  y = ensureSpace(doc, y, QR_SIZE + mm(14));
  paymentAndSignatures(doc, data, x0, y, W);

  addPageFooters(doc, (page, total) => `${title} · страница ${page} из ${total}`);
  return finish();
}

/** «Поставщик (Исполнитель):» and the like: a label on the left, the requisites in bold to its right. */
function party(doc: PDFKit.PDFDocument, label: string, value: string, x: number, y: number, width: number): number {
  const labelW = mm(27);
  const h = Math.max(textHeight(doc, label, labelW, { size: BODY }), textHeight(doc, value, width - labelW, { font: 'bold', size: BODY }));
  textAt(doc, label, x, y, labelW, { size: BODY });
  textAt(doc, value, x + labelW, y, width - labelW, { font: 'bold', size: BODY });
  return y + h;
}

/**
 * The bank block as on a payment order:
 *   bank name          | БИК   | bik
 *   Банк получателя    | Сч. № | corr. account
 *   ИНН … | КПП …      | Сч. № | account
 *   payee name         |       |
 *   Получатель         |       |
 */
function bankBlock(doc: PDFKit.PDFDocument, data: InvoiceData, x: number, y: number, width: number): number {
  const { seller } = data;
  const pad = 3;
  const labelW = 40;
  const valueW = 136;
  const leftW = width - labelW - valueW;
  const lineH = BODY + 2 * pad + 1;
  const captionH = SMALL + 3;

  const bankNameH = textHeight(doc, seller.bank.bankName, leftW - 2 * pad, { size: BODY });
  const topH = Math.max(bankNameH + captionH + 2 * pad + 2, 2 * lineH);
  const payeeH = Math.max(textHeight(doc, seller.name, leftW - 2 * pad, { size: BODY }) + captionH + 2 * pad + 2, 2 * lineH);
  const innH = lineH;

  const labelX = x + leftW;
  const valueX = labelX + labelW;
  doc.save().lineWidth(0.6).strokeColor('black');
  // top: bank, БИК, корр. счёт
  doc.rect(x, y, leftW, topH).stroke();
  doc.rect(labelX, y, labelW, lineH).stroke();
  doc.rect(valueX, y, valueW, lineH).stroke();
  doc.rect(labelX, y + lineH, labelW, topH - lineH).stroke();
  doc.rect(valueX, y + lineH, valueW, topH - lineH).stroke();
  // bottom: ИНН / КПП, payee, расчётный счёт
  const y2 = y + topH;
  const hasKpp = seller.kind !== 'sole_proprietor' && !!seller.kpp;
  if (hasKpp) {
    doc.rect(x, y2, leftW / 2, innH).stroke();
    doc.rect(x + leftW / 2, y2, leftW / 2, innH).stroke();
  } else doc.rect(x, y2, leftW, innH).stroke();
  doc.rect(x, y2 + innH, leftW, payeeH).stroke();
  doc.rect(labelX, y2, labelW, innH + payeeH).stroke();
  doc.rect(valueX, y2, valueW, innH + payeeH).stroke();
  doc.restore();

  const caption = (text: string, cx: number, bottom: number, w: number) => {
    font(doc, 'regular', SMALL).fillColor('#333333');
    doc.text(text, cx + pad, bottom - pad - SMALL - 1, { width: w - 2 * pad, lineBreak: false });
    doc.fillColor('black');
  };
  const cell = (text: string, cx: number, cy: number, w: number) => textAt(doc, text, cx + pad, cy + pad, w - 2 * pad, { size: BODY });

  cell(seller.bank.bankName, x, y, leftW);
  caption('Банк получателя', x, y + topH, leftW);
  cell('БИК', labelX, y, labelW);
  cell(seller.bank.bik, valueX, y, valueW);
  cell('Сч. №', labelX, y + lineH, labelW);
  cell(seller.bank.corrAccount, valueX, y + lineH, valueW);

  cell(`ИНН ${seller.inn}`, x, y2, hasKpp ? leftW / 2 : leftW);
  if (hasKpp) cell(`КПП ${seller.kpp}`, x + leftW / 2, y2, leftW / 2);
  cell(seller.name, x, y2 + innH, leftW);
  caption('Получатель', x, y2 + innH + payeeH, leftW);
  cell('Сч. №', labelX, y2, labelW);
  cell(seller.bank.account, valueX, y2, valueW);
  return y2 + innH + payeeH;
}

/** The QR code with its caption on the left, the signatures (and stamp) to its right. */
function paymentAndSignatures(doc: PDFKit.PDFDocument, data: InvoiceData, x: number, y: number, width: number): void {
  const { seller } = data;
  drawQrCode(doc, invoicePaymentQr(data), x, y, QR_SIZE);
  textAt(doc, 'Оплата по QR-коду', x, y + QR_SIZE + mm(2.5), QR_SIZE, { size: 7.5, align: 'center' });

  const soleProprietor = seller.kind === 'sole_proprietor';
  const signers: { label: string; position: string | null; name: string; signature?: Buffer }[] = [
    {
      label: soleProprietor ? 'Индивидуальный предприниматель' : 'Руководитель',
      position: soleProprietor ? null : (seller.director?.position ?? null),
      name: seller.director?.name ?? (soleProprietor ? seller.name.replace(/^(?:ИП|Индивидуальный\s+предприниматель)\s+/i, '') : ''),
      signature: seller.images.directorSignature,
    },
  ];
  // a small company without an accountant: the director keeps the accounts and signs for both
  if (!soleProprietor)
    signers.push({
      label: 'Бухгалтер',
      position: seller.accountant ? seller.accountant.position : null,
      name: seller.accountant?.name ?? seller.director?.name ?? '',
      signature: seller.images.accountantSignature ?? (seller.accountant ? undefined : seller.images.directorSignature),
    });

  const sx = x + QR_SIZE + mm(12);
  const sw = x + width - sx;
  const labelW =
    Math.max(
      ...signers.map((s) => font(doc, 'bold', BODY).widthOfString(s.label)),
      ...signers.map((s) => (s.position ? font(doc, 'regular', SMALL).widthOfString(s.position) : 0)),
    ) + 10;
  const lineW = mm(32);
  const nameX = sx + labelW + lineW + 8;
  const rowGap = mm(16);
  const rowYs = signers.map((_, i) => y + mm(9) + i * rowGap);
  const lineYOf = (rowY: number) => rowY + BODY + 1;

  // images first, so an opaque scan never hides the printed names
  const firstLineY = lineYOf(rowYs[0]!);
  const stampSize = mm(38);
  // the stamp over the end of the director's signature, where it is put by hand
  const stamp = placeImage(doc, seller.images.stamp, sx + labelW + lineW / 2, firstLineY - mm(12), [stampSize, stampSize], { align: 'center', valign: 'center' });
  signers.forEach((s, i) => placeImage(doc, s.signature, sx + labelW, lineYOf(rowYs[i]!) - mm(12), [lineW, mm(13)], { align: 'center', valign: 'bottom' }));

  signers.forEach((s, i) => {
    const rowY = rowYs[i]!;
    const lineY = lineYOf(rowY);
    textAt(doc, s.label, sx, rowY, labelW, { font: 'bold', size: BODY });
    if (s.position) textAt(doc, s.position, sx, rowY + BODY + 3, labelW, { size: SMALL });
    rule(doc, lineY, 0.5, sx + labelW, sx + labelW + lineW);
    textAt(doc, 'подпись', sx + labelW, lineY + 1.5, lineW, { size: 6, align: 'center' });
    if (s.name) {
      textAt(doc, s.name, nameX, rowY, sx + sw - nameX, { size: BODY });
      rule(doc, lineY, 0.5, nameX, sx + sw);
      textAt(doc, 'расшифровка подписи', nameX, lineY + 1.5, sx + sw - nameX, { size: 6, align: 'center' });
    }
  });
  if (!stamp && !soleProprietor) textAt(doc, 'М. П.', sx, rowYs[rowYs.length - 1]! + mm(12), 40, { size: 8 });
}
