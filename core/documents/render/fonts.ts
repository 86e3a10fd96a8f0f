/**
 * The fonts documents print with: DejaVu Sans from the dejavu-fonts-ttf package, which covers Cyrillic
 * (pdfkit's built-in fonts do not). Resolved through Node's module resolution, so it works from any working
 * directory, under tsx or compiled; each file is read once per process.
 */
/// <reference types="pdfkit" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as fontkit from 'fontkit';

export type FontName =
  | 'regular'
  | 'bold'
  | 'italic'
  | 'bold-italic'
  | 'serif-regular'
  | 'serif-bold'
  | 'serif-italic'
  | 'serif-bold-italic';

const files: Record<FontName, string> = {
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
  italic: 'DejaVuSans-Oblique.ttf',
  'bold-italic': 'DejaVuSans-BoldOblique.ttf',
  'serif-regular': 'DejaVuSerif.ttf',
  'serif-bold': 'DejaVuSerif-Bold.ttf',
  'serif-italic': 'DejaVuSerif-Italic.ttf',
  'serif-bold-italic': 'DejaVuSerif-BoldItalic.ttf',
};

/** What an invoice needs; a .docx rendered to PDF registers every face. */
export const basicFonts: FontName[] = ['regular', 'bold', 'italic'];
export const allFonts = Object.keys(files) as FontName[];

let fontDir: string | undefined;
const cache = new Map<FontName, Buffer>();
const parsed = new Map<FontName, unknown>();

/** Where the package's TTF files are (the package has no exports map, so its package.json resolves). */
export function fontDirectory(): string {
  fontDir ??= join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return fontDir;
}

/** The bytes of one font, read on first use. */
export function fontBytes(name: FontName): Buffer {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = readFileSync(join(fontDirectory(), files[name]));
    cache.set(name, bytes);
  }
  return bytes;
}

/**
 * One font parsed once per process: pdfkit takes a fontkit font as readily as bytes, and parsing a
 * 700 KB TTF for every document was most of an invoice's time (each document still embeds its own subset).
 */
function parsedFont(name: FontName): unknown {
  let font = parsed.get(name);
  if (!font) {
    font = fontkit.create(fontBytes(name));
    parsed.set(name, font);
  }
  return font;
}

/** Registers the fonts (by default 'regular', 'bold' and 'italic') on a document and selects 'regular'. */
export function registerFonts(doc: PDFKit.PDFDocument, names: FontName[] = basicFonts): void {
  for (const name of names) doc.registerFont(name, parsedFont(name) as Buffer);
  doc.font('regular');
}
