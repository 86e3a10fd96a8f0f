/** Reading generated PDFs back in tests: their text (poppler's pdftotext) and the QR codes on their pages. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

const run = promisify(execFile);
// jsqr is CommonJS with a `default` property; under NodeNext the default import is the whole module
const jsQR = jsQRModule.default;

/** The PDF's text in its layout (`pdftotext -layout`), pages separated by form feeds. */
export function pdfText(pdf: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('pdftotext', ['-layout', '-enc', 'UTF-8', '-', '-']);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`pdftotext exited with ${code}: ${Buffer.concat(err).toString()}`));
    });
    child.stdin.on('error', reject);
    child.stdin.end(pdf);
  });
}

/** The number of pages, from pdfinfo. */
export async function pdfPageCount(pdf: Buffer): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'crm-pdf-'));
  try {
    await writeFile(join(dir, 'doc.pdf'), pdf);
    const { stdout } = await run('pdfinfo', [join(dir, 'doc.pdf')]);
    return Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1] ?? 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The texts of the QR codes found on the pages (one per page at most: jsQR finds one), rendered at 200 dpi. */
export async function pdfQrCodes(pdf: Buffer): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'crm-pdf-'));
  try {
    await writeFile(join(dir, 'doc.pdf'), pdf);
    await run('pdftoppm', ['-r', '200', '-png', join(dir, 'doc.pdf'), join(dir, 'page')], { maxBuffer: 64 * 1024 * 1024 });
    const pages = (await readdir(dir)).filter((f) => f.startsWith('page') && f.endsWith('.png')).sort();
    const found: string[] = [];
    for (const page of pages) {
      const png = PNG.sync.read(await readFile(join(dir, page)));
      const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
      if (code) found.push(code.data);
    }
    return found;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
