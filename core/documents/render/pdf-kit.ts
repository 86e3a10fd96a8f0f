/**
 * Shared pdfkit helpers for the documents' PDFs: an A4 document with the DejaVu fonts, space checks that
 * turn the page, a bordered table that wraps its cells and repeats its header on every page, images that
 * may be absent, the QR code as vector squares and page numbers. Coordinates are points (1 mm ≈ 2.83 pt).
 */
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { registerFonts, type FontName } from './fonts.js';

export const mm = (n: number): number => (n * 72) / 25.4;

export interface PageMargins {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export const defaultMargins: PageMargins = { top: mm(12), bottom: mm(14), left: mm(15), right: mm(12) };

export interface StartedDocument {
  doc: PDFKit.PDFDocument;
  /** ends the document and resolves with its bytes */
  finish(): Promise<Buffer>;
}

/** A4 portrait with the fonts registered ('regular' selected), pages buffered so page numbers can be added. */
export function startDocument(info: { title: string; author?: string; subject?: string; margins?: Partial<PageMargins> }): StartedDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { ...defaultMargins, ...info.margins },
    bufferPages: true,
    info: { Title: info.title, Author: info.author ?? '', Subject: info.subject ?? '', Creator: 'CRM' },
  });
  registerFonts(doc);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  return {
    doc,
    finish: () => {
      doc.end();
      return ended;
    },
  };
}

export const left = (doc: PDFKit.PDFDocument): number => doc.page.margins.left;
export const right = (doc: PDFKit.PDFDocument): number => doc.page.width - doc.page.margins.right;
export const contentWidth = (doc: PDFKit.PDFDocument): number => right(doc) - left(doc);
export const pageTop = (doc: PDFKit.PDFDocument): number => doc.page.margins.top;
export const pageBottom = (doc: PDFKit.PDFDocument): number => doc.page.height - doc.page.margins.bottom;

/** Sets font and size in one call. */
export function font(doc: PDFKit.PDFDocument, name: FontName, size: number): PDFKit.PDFDocument {
  return doc.font(name).fontSize(size);
}

/** Whether `height` fits below y on this page; if not, starts a new page and returns its top. */
export function ensureSpace(doc: PDFKit.PDFDocument, y: number, height: number): number {
  if (y + height <= pageBottom(doc)) return y;
  doc.addPage();
  return pageTop(doc);
}

/** A horizontal rule across the content width. */
export function rule(doc: PDFKit.PDFDocument, y: number, weight = 0.75, from = left(doc), to = right(doc)): void {
  doc.save().lineWidth(weight).strokeColor('black').moveTo(from, y).lineTo(to, y).stroke().restore();
}

export interface TextOptions {
  font?: FontName;
  size?: number;
  align?: 'left' | 'center' | 'right' | 'justify';
  /** line spacing added between lines, in points */
  lineGap?: number;
}

/** Writes a text block at (x, y) wrapped to width, without pdfkit's own page turning; returns the y below it. */
export function textAt(doc: PDFKit.PDFDocument, text: string, x: number, y: number, width: number, o: TextOptions = {}): number {
  font(doc, o.font ?? 'regular', o.size ?? 9);
  const opts = { width, align: o.align ?? 'left', lineGap: o.lineGap ?? 1 };
  const h = doc.heightOfString(text, opts);
  doc.text(text, x, y, { ...opts, height: h + 1 });
  return y + h;
}

/** The height textAt would take. */
export function textHeight(doc: PDFKit.PDFDocument, text: string, width: number, o: TextOptions = {}): number {
  font(doc, o.font ?? 'regular', o.size ?? 9);
  return doc.heightOfString(text, { width, align: o.align ?? 'left', lineGap: o.lineGap ?? 1 });
}

export interface TableColumn {
  header: string;
  /** points; '*' shares what the fixed columns leave */
  width: number | '*';
  align?: 'left' | 'center' | 'right';
  /** the cells' font (the header is always bold) */
  font?: FontName;
}

export interface TableOptions {
  x?: number;
  width?: number;
  fontSize?: number;
  padding?: number;
  /** a light fill behind the header row */
  headerFill?: string;
  lineWidth?: number;
}

function columnWidths(columns: TableColumn[], total: number): number[] {
  const fixed = columns.reduce((s, c) => s + (c.width === '*' ? 0 : c.width), 0);
  const flex = columns.filter((c) => c.width === '*').length;
  const share = flex ? Math.max(0, total - fixed) / flex : 0;
  return columns.map((c) => (c.width === '*' ? share : c.width));
}

/**
 * A bordered table from y: cells wrap, a row never splits across pages, and the header is drawn again at the
 * top of every new page. Returns the y below the last row.
 */
export function drawTable(doc: PDFKit.PDFDocument, y: number, columns: TableColumn[], rows: string[][], o: TableOptions = {}): number {
  const x0 = o.x ?? left(doc);
  const widths = columnWidths(columns, o.width ?? right(doc) - x0);
  const size = o.fontSize ?? 8.5;
  const pad = o.padding ?? 3;
  const lineWidth = o.lineWidth ?? 0.6;

  const rowHeight = (cells: string[], fonts: FontName[]): number =>
    Math.max(
      ...cells.map((text, i) => {
        font(doc, fonts[i] ?? 'regular', size);
        return doc.heightOfString(text || ' ', { width: widths[i]! - 2 * pad, lineGap: 0.5 });
      }),
    ) +
    2 * pad;

  const drawRow = (cells: string[], fonts: FontName[], aligns: ('left' | 'center' | 'right')[], top: number, height: number, fill?: string): void => {
    let x = x0;
    doc.save().lineWidth(lineWidth).strokeColor('black');
    if (fill) doc.rect(x0, top, widths.reduce((a, b) => a + b, 0), height).fill(fill);
    doc.fillColor('black');
    cells.forEach((text, i) => {
      const w = widths[i]!;
      doc.rect(x, top, w, height).stroke();
      font(doc, fonts[i] ?? 'regular', size);
      doc.text(text, x + pad, top + pad, { width: w - 2 * pad, height: height - 2 * pad + 1, align: aligns[i] ?? 'left', lineGap: 0.5, ellipsis: true });
      x += w;
    });
    doc.restore();
  };

  const headerCells = columns.map((c) => c.header);
  const headerFonts = columns.map((): FontName => 'bold');
  const headerAligns = columns.map((): 'center' => 'center');
  const headerHeight = rowHeight(headerCells, headerFonts);
  const cellFonts = columns.map((c) => c.font ?? 'regular');
  const cellAligns = columns.map((c) => c.align ?? 'left');

  let top = ensureSpace(doc, y, headerHeight + rowHeight(rows[0] ?? headerCells, cellFonts));
  drawRow(headerCells, headerFonts, headerAligns, top, headerHeight, o.headerFill ?? '#eeeeee');
  top += headerHeight;
  for (const cells of rows) {
    const maxHeight = pageBottom(doc) - pageTop(doc) - headerHeight;
    const h = Math.min(rowHeight(cells, cellFonts), maxHeight);
    if (top + h > pageBottom(doc)) {
      doc.addPage();
      top = pageTop(doc);
      drawRow(headerCells, headerFonts, headerAligns, top, headerHeight, o.headerFill ?? '#eeeeee');
      top += headerHeight;
    }
    drawRow(cells, cellFonts, cellAligns, top, h);
    top += h;
  }
  return top;
}

/**
 * Draws a PNG or JPEG fitted into a box (keeping its proportions); returns the size drawn, or null (and draws
 * nothing) when there is no image or pdfkit cannot read it, so a damaged logo never stops a document.
 */
export function placeImage(
  doc: PDFKit.PDFDocument,
  bytes: Buffer | undefined | null,
  x: number,
  y: number,
  fit: [number, number],
  o: { align?: 'left' | 'center' | 'right'; valign?: 'top' | 'center' | 'bottom' } = {},
): { width: number; height: number } | null {
  if (!bytes || bytes.length === 0) return null;
  try {
    // openImage is public in pdfkit but missing from its types; the opened image is embedded once below
    const image = (doc as unknown as { openImage(src: Buffer): { width: number; height: number } }).openImage(bytes);
    const scale = Math.min(fit[0] / image.width, fit[1] / image.height);
    const width = image.width * scale;
    const height = image.height * scale;
    const dx = o.align === 'center' ? (fit[0] - width) / 2 : o.align === 'right' ? fit[0] - width : 0;
    const dy = o.valign === 'center' ? (fit[1] - height) / 2 : o.valign === 'bottom' ? fit[1] - height : 0;
    doc.image(image as unknown as Buffer, x + dx, y + dy, { width, height });
    return { width, height };
  } catch {
    return null;
  }
}

/**
 * A QR code as vector squares (sharp at any zoom and print size), `size` points wide including nothing but
 * the modules: keep 4 modules of white around it (the quiet zone scanners need).
 */
export function drawQrCode(doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number): void {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const m = size / n;
  doc.save();
  // one path for the whole symbol, horizontal runs merged, so renderers leave no seams between modules
  for (let row = 0; row < n; row++) {
    let col = 0;
    while (col < n) {
      if (!qr.modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < n && qr.modules.get(row, col)) col++;
      doc.rect(x + start * m, y + row * m, (col - start) * m, m);
    }
  }
  doc.fill('black').restore();
}

/** Writes a footer on every page (only when there is more than one), e.g. «Счёт № 15 — страница 1 из 2». */
export function addPageFooters(doc: PDFKit.PDFDocument, footer: (page: number, total: number) => string): void {
  const range = doc.bufferedPageRange();
  if (range.count < 2) return;
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    // writing below the bottom margin would make pdfkit start another page
    doc.page.margins.bottom = 0;
    font(doc, 'regular', 7.5).fillColor('#555555');
    doc.text(footer(i - range.start + 1, range.count), left(doc), doc.page.height - bottom + mm(4), { width: contentWidth(doc), align: 'right', lineBreak: false });
    doc.fillColor('black');
    doc.page.margins.bottom = bottom;
  }
}
