/**
 * The fonts documents print with: DejaVu Sans from the dejavu-fonts-ttf package, which covers Cyrillic
 * (pdfkit's built-in fonts do not). Resolved through Node's module resolution, so it works from any working
 * directory, under tsx or compiled; each file is read once per process.
 */
/// <reference types="pdfkit" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type FontName = 'regular' | 'bold' | 'italic';

const files: Record<FontName, string> = {
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
  italic: 'DejaVuSans-Oblique.ttf',
};

let fontDir: string | undefined;
const cache = new Map<FontName, Buffer>();

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

/** Registers 'regular', 'bold' and 'italic' on a document and selects 'regular'. */
export function registerFonts(doc: PDFKit.PDFDocument): void {
  for (const name of Object.keys(files) as FontName[]) doc.registerFont(name, fontBytes(name));
  doc.font('regular');
}
