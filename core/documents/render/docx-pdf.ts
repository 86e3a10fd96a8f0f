/**
 * A .docx turned into a PDF in-process, without an office suite: the subset of WordprocessingML a
 * contract or a commercial proposal uses (the built-in templates and a simple template an admin made in
 * Word). Paragraphs with their style, alignment, indents, spacing, tabs and numbering; runs with bold,
 * italic, underline, size and colour; line and page breaks; tables with their grid, spans, borders,
 * shading, rows split across pages and a repeated header row; inline PNG/JPEG pictures. Headers,
 * footers, text boxes and floating shapes are left out. Every font prints as DejaVu (Sans, or Serif
 * for a serif face such as Times New Roman), so lines wrap a little differently from Word.
 */
import PDFDocument from 'pdfkit';
import PizZip from 'pizzip';
import { invalid } from '../../errors.js';
import { allFonts, registerFonts } from './fonts.js';

/** A picture put over the text at a Word bookmark (the seller's signature, the stamp), in points. */
export interface BookmarkImage {
  data: Buffer;
  /** the box the picture is fitted into, keeping its proportions */
  width: number;
  height: number;
  /** the box's top-left corner from where the bookmark starts on its line's baseline */
  dx?: number;
  dy?: number;
}

export interface DocxToPdfOptions {
  /** bookmark name → picture */
  images?: Record<string, BookmarkImage>;
}

// ---------------------------------------------------------------- XML

interface XNode {
  name: string;
  attrs: Record<string, string>;
  children: (XNode | string)[];
}

const entities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : (entities[e] ?? m),
  );

const broken = (why: string) => invalid({ template: `шаблон повреждён: ${why}` });

/** Where `token` starts at or after `from`; a part cut short throws rather than sending the reader back to the start. */
function closing(xml: string, token: string, from: number, what: string): number {
  const at = xml.indexOf(token, from);
  if (at < 0) throw broken(`${what} не закрыт (позиция ${from})`);
  return at;
}

/**
 * A small XML reader: elements, attributes and text; comments, declarations and processing
 * instructions skipped. Anything cut short (a comment, CDATA, a tag without its «>») or a tag without
 * a name is refused as a damaged template, so a broken part is never read in a loop or half-printed.
 */
export function parseXml(xml: string): XNode {
  const root: XNode = { name: '#root', attrs: {}, children: [] };
  const stack: XNode[] = [root];
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    if (lt > i) stack.at(-1)!.children.push(decode(xml.slice(i, lt)));
    if (xml.startsWith('<!--', lt)) {
      i = closing(xml, '-->', lt + 4, 'комментарий «<!--»') + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = closing(xml, ']]>', lt + 9, 'блок «<![CDATA[»');
      stack.at(-1)!.children.push(xml.slice(lt + 9, end));
      i = end + 3;
    } else if (xml[lt + 1] === '?') {
      i = closing(xml, '?>', lt + 2, 'объявление «<?»') + 2;
    } else if (xml[lt + 1] === '!') {
      i = closing(xml, '>', lt + 2, 'объявление «<!»') + 1;
    } else if (xml[lt + 1] === '/') {
      const end = closing(xml, '>', lt + 2, 'закрывающий тег «</»');
      if (!/^[^\s/>]+\s*$/.test(xml.slice(lt + 2, end))) throw broken(`закрывающий тег без имени (позиция ${lt})`);
      i = end + 1;
      if (stack.length > 1) stack.pop();
    } else {
      let j = lt + 1;
      let quote = '';
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= xml.length) throw broken(`тег не закрыт: нет «>» (позиция ${lt})`);
      const selfClosing = xml[j - 1] === '/';
      const body = xml.slice(lt + 1, selfClosing ? j - 1 : j);
      const name = /^[^\s/>=<"']+/.exec(body)?.[0];
      if (!name) throw broken(`тег без имени (позиция ${lt})`);
      const attrs: Record<string, string> = {};
      for (const m of body.slice(name.length).matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[m[1]!] = decode(m[2] ?? m[3] ?? '');
      const node: XNode = { name, attrs, children: [] };
      stack.at(-1)!.children.push(node);
      if (!selfClosing) stack.push(node);
      i = j + 1;
    }
  }
  return root;
}

const elements = (n: XNode | undefined): XNode[] => (n ? (n.children.filter((c) => typeof c !== 'string') as XNode[]) : []);
const child = (n: XNode | undefined, name: string) => elements(n).find((c) => c.name === name);
const childrenNamed = (n: XNode | undefined, name: string) => elements(n).filter((c) => c.name === name);
const attr = (n: XNode | undefined, name: string) => n?.attrs[name];
const num = (v: string | undefined) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v));
/** twips (twentieths of a point) → points */
const tw = (v: string | undefined) => {
  const n = num(v);
  return n === undefined ? undefined : n / 20;
};
function descendant(n: XNode, name: string): XNode | undefined {
  for (const c of elements(n)) {
    if (c.name === name) return c;
    const d = descendant(c, name);
    if (d) return d;
  }
  return undefined;
}
/** <w:b/>, <w:b w:val="0"/>, <w:b w:val="false"/> */
function onOff(n: XNode | undefined): boolean | undefined {
  if (!n) return undefined;
  const v = attr(n, 'w:val');
  return !(v === '0' || v === 'false' || v === 'off' || v === 'none');
}

// ---------------------------------------------------------------- properties and styles

interface RunProps {
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
  strike?: boolean;
  caps?: boolean;
  /** points */
  size?: number;
  color?: string;
  serif?: boolean;
  vanish?: boolean;
  vertAlign?: 'superscript' | 'subscript' | 'baseline';
}

type Align = 'left' | 'center' | 'right' | 'both';

interface TabStop {
  pos: number;
  kind: 'left' | 'right' | 'center' | 'clear';
}

interface ParaProps {
  align?: Align;
  left?: number;
  right?: number;
  /** negative for a hanging indent */
  firstLine?: number;
  before?: number;
  after?: number;
  line?: { value: number; rule: 'auto' | 'exact' | 'atLeast' };
  pageBreakBefore?: boolean;
  keepNext?: boolean;
  numId?: string;
  ilvl?: number;
  tabs?: TabStop[];
}

interface Border {
  width: number;
  color: string;
}
type BorderSide = 'top' | 'bottom' | 'left' | 'right' | 'insideH' | 'insideV';
type Borders = Partial<Record<BorderSide, Border | null>>;
type Margins = Partial<Record<'top' | 'bottom' | 'left' | 'right', number>>;

interface TableProps {
  borders?: Borders;
  cellMargins?: Margins;
  indent?: number;
  align?: 'left' | 'center' | 'right';
}

const serifFace = /times|georgia|cambria|garamond|serif|antiqua|palatino|bookman|century|constantia/i;

function readRunProps(rPr: XNode | undefined): RunProps {
  const p: RunProps = {};
  if (!rPr) return p;
  const set = <K extends keyof RunProps>(k: K, v: RunProps[K] | undefined) => {
    if (v !== undefined) p[k] = v;
  };
  set('bold', onOff(child(rPr, 'w:b')));
  set('italic', onOff(child(rPr, 'w:i')));
  set('strike', onOff(child(rPr, 'w:strike')) || onOff(child(rPr, 'w:dstrike')));
  set('caps', onOff(child(rPr, 'w:caps')));
  set('vanish', onOff(child(rPr, 'w:vanish')));
  const u = child(rPr, 'w:u');
  if (u) p.underline = attr(u, 'w:val') !== 'none';
  const sz = num(attr(child(rPr, 'w:sz'), 'w:val'));
  if (sz) p.size = sz / 2;
  const color = attr(child(rPr, 'w:color'), 'w:val');
  if (color && /^[0-9a-f]{6}$/i.test(color)) p.color = color;
  const fonts = child(rPr, 'w:rFonts');
  const face = attr(fonts, 'w:ascii') ?? attr(fonts, 'w:hAnsi') ?? attr(fonts, 'w:cs');
  if (face) p.serif = serifFace.test(face);
  const va = attr(child(rPr, 'w:vertAlign'), 'w:val');
  if (va === 'superscript' || va === 'subscript' || va === 'baseline') p.vertAlign = va;
  return p;
}

function readParaProps(pPr: XNode | undefined): ParaProps {
  const p: ParaProps = {};
  if (!pPr) return p;
  const jc = attr(child(pPr, 'w:jc'), 'w:val');
  if (jc) p.align = jc === 'center' ? 'center' : jc === 'right' || jc === 'end' ? 'right' : jc === 'both' || jc === 'distribute' ? 'both' : 'left';
  const ind = child(pPr, 'w:ind');
  if (ind) {
    const left = tw(attr(ind, 'w:left') ?? attr(ind, 'w:start'));
    const right = tw(attr(ind, 'w:right') ?? attr(ind, 'w:end'));
    const first = tw(attr(ind, 'w:firstLine'));
    const hanging = tw(attr(ind, 'w:hanging'));
    if (left !== undefined) p.left = left;
    if (right !== undefined) p.right = right;
    if (hanging !== undefined) p.firstLine = -hanging;
    else if (first !== undefined) p.firstLine = first;
  }
  const sp = child(pPr, 'w:spacing');
  if (sp) {
    const before = tw(attr(sp, 'w:before'));
    const after = tw(attr(sp, 'w:after'));
    if (before !== undefined) p.before = before;
    if (after !== undefined) p.after = after;
    const line = num(attr(sp, 'w:line'));
    if (line) {
      const rule = attr(sp, 'w:lineRule');
      p.line = { value: line, rule: rule === 'exact' ? 'exact' : rule === 'atLeast' ? 'atLeast' : 'auto' };
    }
  }
  const pb = onOff(child(pPr, 'w:pageBreakBefore'));
  if (pb !== undefined) p.pageBreakBefore = pb;
  const kn = onOff(child(pPr, 'w:keepNext'));
  if (kn !== undefined) p.keepNext = kn;
  const numPr = child(pPr, 'w:numPr');
  if (numPr) {
    const id = attr(child(numPr, 'w:numId'), 'w:val');
    if (id !== undefined) p.numId = id;
    p.ilvl = num(attr(child(numPr, 'w:ilvl'), 'w:val')) ?? 0;
  }
  const tabs = child(pPr, 'w:tabs');
  if (tabs) {
    p.tabs = childrenNamed(tabs, 'w:tab').map((t) => {
      const v = attr(t, 'w:val');
      return { pos: tw(attr(t, 'w:pos')) ?? 0, kind: v === 'right' || v === 'end' ? 'right' : v === 'center' ? 'center' : v === 'clear' ? 'clear' : 'left' };
    });
  }
  return p;
}

function readBorder(n: XNode | undefined): Border | null | undefined {
  if (!n) return undefined;
  const v = attr(n, 'w:val');
  if (!v || v === 'nil' || v === 'none') return null;
  const color = attr(n, 'w:color');
  return { width: Math.max(0.25, (num(attr(n, 'w:sz')) ?? 4) / 8), color: color && /^[0-9a-f]{6}$/i.test(color) ? color : '000000' };
}

function readBorders(n: XNode | undefined): Borders | undefined {
  if (!n) return undefined;
  const b: Borders = {};
  const sides: [BorderSide, string[]][] = [
    ['top', ['w:top']],
    ['bottom', ['w:bottom']],
    ['left', ['w:left', 'w:start']],
    ['right', ['w:right', 'w:end']],
    ['insideH', ['w:insideH']],
    ['insideV', ['w:insideV']],
  ];
  for (const [side, names] of sides) {
    for (const name of names) {
      const v = readBorder(child(n, name));
      if (v !== undefined) b[side] = v;
    }
  }
  return b;
}

function readMargins(n: XNode | undefined): Margins | undefined {
  if (!n) return undefined;
  const m: Margins = {};
  const get = (names: string[]) => names.map((x) => child(n, x)).find(Boolean);
  const pairs: ['top' | 'bottom' | 'left' | 'right', string[]][] = [
    ['top', ['w:top']],
    ['bottom', ['w:bottom']],
    ['left', ['w:left', 'w:start']],
    ['right', ['w:right', 'w:end']],
  ];
  for (const [side, names] of pairs) {
    const e = get(names);
    if (e && (attr(e, 'w:type') ?? 'dxa') === 'dxa') m[side] = tw(attr(e, 'w:w')) ?? 0;
  }
  return m;
}

function readTableProps(tblPr: XNode | undefined): TableProps {
  const p: TableProps = {};
  if (!tblPr) return p;
  const borders = readBorders(child(tblPr, 'w:tblBorders'));
  if (borders) p.borders = borders;
  const mar = readMargins(child(tblPr, 'w:tblCellMar'));
  if (mar) p.cellMargins = mar;
  const ind = child(tblPr, 'w:tblInd');
  if (ind && (attr(ind, 'w:type') ?? 'dxa') === 'dxa') p.indent = tw(attr(ind, 'w:w')) ?? 0;
  const jc = attr(child(tblPr, 'w:jc'), 'w:val');
  if (jc === 'center') p.align = 'center';
  else if (jc === 'right' || jc === 'end') p.align = 'right';
  return p;
}

interface Style {
  type: string;
  basedOn?: string;
  pPr: ParaProps;
  rPr: RunProps;
  tbl: TableProps;
}

interface Styles {
  byId: Map<string, Style>;
  defaultPara?: string;
  defaultTable?: string;
  docRun: RunProps;
  docPara: ParaProps;
}

function readStyles(xml: string | null): Styles {
  const styles: Styles = { byId: new Map(), docRun: {}, docPara: {} };
  if (!xml) return styles;
  const root = child(parseXml(xml), 'w:styles');
  const defaults = child(root, 'w:docDefaults');
  styles.docRun = readRunProps(child(child(defaults, 'w:rPrDefault'), 'w:rPr'));
  styles.docPara = readParaProps(child(child(defaults, 'w:pPrDefault'), 'w:pPr'));
  for (const s of childrenNamed(root, 'w:style')) {
    const id = attr(s, 'w:styleId');
    if (!id) continue;
    const type = attr(s, 'w:type') ?? 'paragraph';
    const isDefault = attr(s, 'w:default') === '1' || attr(s, 'w:default') === 'true';
    if (isDefault && type === 'paragraph') styles.defaultPara = id;
    if (isDefault && type === 'table') styles.defaultTable = id;
    styles.byId.set(id, {
      type,
      basedOn: attr(child(s, 'w:basedOn'), 'w:val'),
      pPr: readParaProps(child(s, 'w:pPr')),
      rPr: readRunProps(child(s, 'w:rPr')),
      tbl: readTableProps(child(s, 'w:tblPr')),
    });
  }
  return styles;
}

/** A style with everything it is based on merged in (the base first). */
function styleChain(styles: Styles, id: string | undefined, seen = new Set<string>()): Style {
  const s = id ? styles.byId.get(id) : undefined;
  if (!s || seen.has(id!)) return { type: '', pPr: {}, rPr: {}, tbl: {} };
  seen.add(id!);
  const base = styleChain(styles, s.basedOn, seen);
  return {
    type: s.type,
    pPr: { ...base.pPr, ...s.pPr },
    rPr: { ...base.rPr, ...s.rPr },
    tbl: {
      ...base.tbl,
      ...s.tbl,
      borders: { ...base.tbl.borders, ...s.tbl.borders },
      cellMargins: { ...base.tbl.cellMargins, ...s.tbl.cellMargins },
    },
  };
}

// ---------------------------------------------------------------- numbering

interface Level {
  start: number;
  format: string;
  text: string;
  pPr: ParaProps;
  rPr: RunProps;
}

interface Numbering {
  levels: Map<string, Level[]>;
  counters: Map<string, number[]>;
}

function readNumbering(xml: string | null): Numbering {
  const numbering: Numbering = { levels: new Map(), counters: new Map() };
  if (!xml) return numbering;
  const root = child(parseXml(xml), 'w:numbering');
  const abstract = new Map<string, Level[]>();
  for (const a of childrenNamed(root, 'w:abstractNum')) {
    const levels: Level[] = [];
    for (const l of childrenNamed(a, 'w:lvl')) {
      levels[num(attr(l, 'w:ilvl')) ?? 0] = {
        start: num(attr(child(l, 'w:start'), 'w:val')) ?? 1,
        format: attr(child(l, 'w:numFmt'), 'w:val') ?? 'decimal',
        text: attr(child(l, 'w:lvlText'), 'w:val') ?? '',
        pPr: readParaProps(child(l, 'w:pPr')),
        rPr: readRunProps(child(l, 'w:rPr')),
      };
    }
    abstract.set(attr(a, 'w:abstractNumId') ?? '', levels);
  }
  for (const n of childrenNamed(root, 'w:num')) {
    const levels = abstract.get(attr(child(n, 'w:abstractNumId'), 'w:val') ?? '');
    if (!levels) continue;
    const copy = levels.map((l) => ({ ...l }));
    for (const o of childrenNamed(n, 'w:lvlOverride')) {
      const start = num(attr(child(o, 'w:startOverride'), 'w:val'));
      const lvl = copy[num(attr(o, 'w:ilvl')) ?? 0];
      if (start !== undefined && lvl) lvl.start = start;
    }
    numbering.levels.set(attr(n, 'w:numId') ?? '', copy);
  }
  return numbering;
}

const roman = (n: number) => {
  const table: [number, string][] = [[1000, 'm'], [900, 'cm'], [500, 'd'], [400, 'cd'], [100, 'c'], [90, 'xc'], [50, 'l'], [40, 'xl'], [10, 'x'], [9, 'ix'], [5, 'v'], [4, 'iv'], [1, 'i']];
  let s = '';
  for (const [v, r] of table) {
    while (n >= v) {
      s += r;
      n -= v;
    }
  }
  return s;
};
const russian = 'абвгдежзиклмнопрстуфхцчшщэюя';

function formatNumber(n: number, format: string): string {
  switch (format) {
    case 'lowerLetter':
      return String.fromCharCode(96 + (((n - 1) % 26) + 1));
    case 'upperLetter':
      return String.fromCharCode(64 + (((n - 1) % 26) + 1));
    case 'lowerRoman':
      return roman(n);
    case 'upperRoman':
      return roman(n).toUpperCase();
    case 'russianLower':
      return russian[(n - 1) % russian.length]!;
    case 'russianUpper':
      return russian[(n - 1) % russian.length]!.toUpperCase();
    case 'none':
      return '';
    default:
      return String(n);
  }
}

/** The label of a numbered paragraph («1.2.», «а)», «•»), advancing its list's counters. */
function nextLabel(numbering: Numbering, numId: string, ilvl: number): { label: string; level: Level } | null {
  const levels = numbering.levels.get(numId);
  const level = levels?.[ilvl];
  if (!levels || !level || numId === '0') return null;
  const counters = numbering.counters.get(numId) ?? [];
  counters[ilvl] = counters[ilvl] === undefined ? level.start : counters[ilvl]! + 1;
  for (let i = ilvl + 1; i < counters.length; i++) counters[i] = undefined as unknown as number;
  counters.length = ilvl + 1;
  numbering.counters.set(numId, counters);
  if (level.format === 'bullet') {
    // Symbol and Wingdings bullets are private-use characters DejaVu does not have
    const ch = level.text;
    return { label: !ch || /[\uf000-\uf0ff]/.test(ch) ? '•' : ch, level };
  }
  const label = level.text.replace(/%(\d)/g, (_, d: string) => {
    const i = Number(d) - 1;
    const l = levels[i];
    return formatNumber(counters[i] ?? l?.start ?? 1, l?.format ?? 'decimal');
  });
  return { label, level };
}

// ---------------------------------------------------------------- fonts

type FontKey = string;

interface FontMetrics {
  ascender: number;
  descender: number;
}

class Fonts {
  private metrics = new Map<FontKey, FontMetrics>();
  constructor(private doc: PDFKit.PDFDocument) {
    registerFonts(doc, allFonts);
  }

  key(rp: RunProps): FontKey {
    const style = rp.bold && rp.italic ? 'bold-italic' : rp.bold ? 'bold' : rp.italic ? 'italic' : 'regular';
    return rp.serif ? `serif-${style}` : style;
  }

  use(key: FontKey, size: number) {
    this.doc.font(key).fontSize(size);
  }

  width(key: FontKey, size: number, text: string): number {
    this.use(key, size);
    return this.doc.widthOfString(text);
  }

  /** ascender and descender per point of size */
  of(key: FontKey): FontMetrics {
    let m = this.metrics.get(key);
    if (!m) {
      this.doc.font(key);
      const f = (this.doc as unknown as { _font: { ascender: number; descender: number } })._font;
      m = { ascender: f.ascender / 1000, descender: Math.abs(f.descender) / 1000 };
      this.metrics.set(key, m);
    }
    return m;
  }
}

// ---------------------------------------------------------------- reading the document into blocks

interface Piece {
  kind: 'text' | 'space' | 'tab' | 'image' | 'mark' | 'break' | 'page';
  text: string;
  rp: RunProps;
  font: FontKey;
  size: number;
  w: number;
  image?: { data: Buffer; width: number; height: number };
  mark?: BookmarkImage;
}

interface ParagraphBlock {
  kind: 'p';
  pp: ParaProps;
  pieces: Piece[];
  /** the paragraph mark's size, for an empty paragraph's height */
  markSize: number;
  markFont: FontKey;
  /** a section ends here (a page break follows) */
  sectionBreak: boolean;
}

interface CellBlock {
  gridStart: number;
  span: number;
  blocks: Block[];
  borders: Borders;
  margins: Margins;
  fill?: string;
  vAlign: 'top' | 'center' | 'bottom';
  vMerge?: 'restart' | 'continue';
}

interface RowBlock {
  cells: CellBlock[];
  height?: { value: number; exact: boolean };
  header: boolean;
  cantSplit: boolean;
}

interface TableBlock {
  kind: 'table';
  grid: number[];
  rows: RowBlock[];
  props: TableProps;
}

type Block = ParagraphBlock | TableBlock | { kind: 'pagebreak' };

interface Context {
  styles: Styles;
  numbering: Numbering;
  fonts: Fonts;
  media: (rid: string) => Buffer | undefined;
  images: Record<string, BookmarkImage>;
  /** the enclosing table's style (its paragraph and run properties apply inside it) */
  table?: Style;
}

const isPicture = (b: Buffer) => (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) || (b[0] === 0xff && b[1] === 0xd8);

function readParagraph(p: XNode, ctx: Context): ParagraphBlock {
  const pPr = child(p, 'w:pPr');
  const styleId = attr(child(pPr, 'w:pStyle'), 'w:val') ?? ctx.styles.defaultPara;
  const style = styleChain(ctx.styles, styleId);
  const direct = readParaProps(pPr);
  let pp: ParaProps = { ...ctx.styles.docPara, ...ctx.table?.pPr, ...style.pPr };
  const numId = direct.numId ?? pp.numId;
  const ilvl = direct.ilvl ?? pp.ilvl ?? 0;
  const numbered = numId ? nextLabel(ctx.numbering, numId, ilvl) : null;
  if (numbered) pp = { ...pp, ...numbered.level.pPr };
  pp = { ...pp, ...direct };
  const baseRun: RunProps = { ...ctx.styles.docRun, ...ctx.table?.rPr, ...style.rPr };
  const markRun = { ...baseRun, ...readRunProps(child(pPr, 'w:rPr')) };
  const pieces: Piece[] = [];
  const make = (kind: Piece['kind'], text: string, rp: RunProps): Piece => {
    const size = (rp.size ?? 11) * (rp.vertAlign && rp.vertAlign !== 'baseline' ? 0.65 : 1);
    const font = ctx.fonts.key(rp);
    const shown = rp.caps ? text.toUpperCase() : text;
    return { kind, text: shown, rp, font, size, w: kind === 'text' || kind === 'space' ? ctx.fonts.width(font, size, shown) : 0 };
  };
  const addText = (text: string, rp: RunProps) => {
    // «97 699,10»: a thousands space is part of the number, neither a line break nor stretched
    text = text.replace(/(\d) (?=\d{3}(?!\d))/g, '$1\u00a0');
    for (const m of text.matchAll(/[^ \t\r\n]+|[ \t\r\n]+/g)) {
      const t = m[0];
      pieces.push(/^[ \t\r\n]/.test(t) ? make('space', t.replace(/[\t\r\n]/g, ' '), rp) : make('text', t, rp));
    }
  };
  if (numbered?.label) {
    const rp = { ...markRun, ...numbered.level.rPr };
    addText(numbered.label, rp);
    pieces.push(make('tab', '', rp));
  }

  const walk = (n: XNode, rp: RunProps) => {
    for (const c of elements(n)) {
      switch (c.name) {
        case 'w:r': {
          const rStyle = attr(child(child(c, 'w:rPr'), 'w:rStyle'), 'w:val');
          const run = { ...rp, ...styleChain(ctx.styles, rStyle).rPr, ...readRunProps(child(c, 'w:rPr')) };
          if (run.vanish) break;
          for (const r of elements(c)) {
            if (r.name === 'w:t') {
              // a tab character typed into the text works as <w:tab/>, as in Word
              r.children
                .filter((x) => typeof x === 'string')
                .join('')
                .split('\t')
                .forEach((part, k) => {
                  if (k > 0) pieces.push(make('tab', '', run));
                  addText(part, run);
                });
            }
            else if (r.name === 'w:tab' || r.name === 'w:ptab') pieces.push(make('tab', '', run));
            else if (r.name === 'w:br' || r.name === 'w:cr') pieces.push(make(attr(r, 'w:type') === 'page' ? 'page' : 'break', '', run));
            else if (r.name === 'w:noBreakHyphen') addText('-', run);
            else if (r.name === 'w:sym') addText('•', run);
            else if (r.name === 'w:drawing') {
              const blip = descendant(r, 'a:blip');
              const extent = descendant(r, 'wp:extent');
              const data = ctx.media(attr(blip, 'r:embed') ?? '');
              const cx = num(attr(extent, 'cx'));
              const cy = num(attr(extent, 'cy'));
              if (data && isPicture(data) && cx && cy) {
                const piece = make('image', '', run);
                piece.image = { data, width: cx / 12700, height: cy / 12700 };
                piece.w = piece.image.width;
                pieces.push(piece);
              }
            }
          }
          break;
        }
        case 'w:bookmarkStart': {
          const image = ctx.images[attr(c, 'w:name') ?? ''];
          if (image) {
            const piece = make('mark', '', rp);
            piece.mark = image;
            pieces.push(piece);
          }
          break;
        }
        case 'w:hyperlink':
        case 'w:smartTag':
        case 'w:customXml':
        case 'w:ins':
        case 'w:fldSimple':
        case 'w:sdtContent':
        case 'w:moveTo':
          walk(c, rp);
          break;
        case 'w:sdt':
          walk(child(c, 'w:sdtContent') ?? c, rp);
          break;
        default:
          break;
      }
    }
  };
  walk(p, baseRun);
  const sectPr = child(pPr, 'w:sectPr');
  return {
    kind: 'p',
    pp,
    pieces,
    markSize: markRun.size ?? 11,
    markFont: ctx.fonts.key(markRun),
    sectionBreak: !!sectPr && attr(child(sectPr, 'w:type'), 'w:val') !== 'continuous',
  };
}

function readTable(t: XNode, ctx: Context): TableBlock {
  const tblPr = child(t, 'w:tblPr');
  const styleId = attr(child(tblPr, 'w:tblStyle'), 'w:val') ?? ctx.styles.defaultTable;
  const style = styleChain(ctx.styles, styleId);
  const direct = readTableProps(tblPr);
  const props: TableProps = {
    ...style.tbl,
    ...direct,
    borders: { ...style.tbl.borders, ...direct.borders },
    cellMargins: { ...style.tbl.cellMargins, ...direct.cellMargins },
  };
  const inner: Context = { ...ctx, table: style };
  let grid = childrenNamed(child(t, 'w:tblGrid'), 'w:gridCol').map((g) => tw(attr(g, 'w:w')) ?? 0);
  const rows: RowBlock[] = [];
  for (const tr of elements(t).flatMap((e) => (e.name === 'w:tr' ? [e] : e.name === 'w:sdt' ? childrenNamed(child(e, 'w:sdtContent'), 'w:tr') : []))) {
    const trPr = child(tr, 'w:trPr');
    const trHeight = child(trPr, 'w:trHeight');
    const h = tw(attr(trHeight, 'w:val'));
    const cells: CellBlock[] = [];
    let col = num(attr(child(trPr, 'w:gridBefore'), 'w:val')) ?? 0;
    const tcs = elements(tr).flatMap((e) => (e.name === 'w:tc' ? [e] : e.name === 'w:sdt' ? childrenNamed(child(e, 'w:sdtContent'), 'w:tc') : []));
    for (const tc of tcs) {
      const tcPr = child(tc, 'w:tcPr');
      const span = num(attr(child(tcPr, 'w:gridSpan'), 'w:val')) ?? 1;
      const vm = child(tcPr, 'w:vMerge');
      const fill = attr(child(tcPr, 'w:shd'), 'w:fill');
      const va = attr(child(tcPr, 'w:vAlign'), 'w:val');
      cells.push({
        gridStart: col,
        span,
        blocks: readBlocks(tc, inner),
        borders: readBorders(child(tcPr, 'w:tcBorders')) ?? {},
        margins: { ...props.cellMargins, ...readMargins(child(tcPr, 'w:tcMar')) },
        fill: fill && /^[0-9a-f]{6}$/i.test(fill) && fill.toUpperCase() !== 'FFFFFF' ? fill : undefined,
        vAlign: va === 'center' ? 'center' : va === 'bottom' ? 'bottom' : 'top',
        vMerge: vm ? (attr(vm, 'w:val') === 'restart' ? 'restart' : 'continue') : undefined,
      });
      if (grid.length < col + span) {
        // no grid in the file: take the cells' own widths
        const w = tw(attr(child(tcPr, 'w:tcW'), 'w:w')) ?? 0;
        for (let i = grid.length; i < col + span; i++) grid[i] = attr(child(tcPr, 'w:tcW'), 'w:type') === 'dxa' ? w / span : 0;
      }
      col += span;
    }
    rows.push({
      cells,
      height: h ? { value: h, exact: attr(trHeight, 'w:hRule') === 'exact' } : undefined,
      header: onOff(child(trPr, 'w:tblHeader')) ?? false,
      cantSplit: onOff(child(trPr, 'w:cantSplit')) ?? false,
    });
  }
  if (grid.some((w) => !w)) grid = grid.map((w) => w || 0);
  // a vertically merged cell: the continuing cells are empty and the borders between them vanish
  for (let r = 1; r < rows.length; r++) {
    for (const c of rows[r]!.cells) {
      if (c.vMerge !== 'continue') continue;
      c.borders = { ...c.borders, top: null };
      const above = rows[r - 1]!.cells.find((a) => a.gridStart === c.gridStart);
      if (above) above.borders = { ...above.borders, bottom: null };
    }
  }
  return { kind: 'table', grid, rows, props };
}

function readBlocks(container: XNode, ctx: Context): Block[] {
  const blocks: Block[] = [];
  for (const e of elements(container)) {
    if (e.name === 'w:p') {
      const p = readParagraph(e, ctx);
      if (p.pp.pageBreakBefore) blocks.push({ kind: 'pagebreak' });
      blocks.push(p);
      if (p.sectionBreak) blocks.push({ kind: 'pagebreak' });
    } else if (e.name === 'w:tbl') blocks.push(readTable(e, ctx));
    else if (e.name === 'w:sdt') blocks.push(...readBlocks(child(e, 'w:sdtContent') ?? e, ctx));
    else if (e.name === 'w:customXml') blocks.push(...readBlocks(e, ctx));
  }
  return blocks;
}

// ---------------------------------------------------------------- layout

interface Placed {
  piece: Piece;
  x: number;
}

/** Something the page flow places: a line of text, vertical space, a page break or a table row. */
type Item =
  | { kind: 'line'; h: number; draw: (x: number, y: number) => void; keepNext?: boolean }
  | { kind: 'space'; h: number }
  | { kind: 'pagebreak' }
  | { kind: 'row'; row: RowLayout; headers: RowLayout[] };

interface CellLayout {
  x: number;
  width: number;
  items: Item[];
  borders: Record<'top' | 'bottom' | 'left' | 'right', Border | null>;
  margins: Required<Margins>;
  fill?: string;
  vAlign: 'top' | 'center' | 'bottom';
}

interface RowLayout {
  cells: CellLayout[];
  minHeight: number;
  exactHeight?: number;
  header: boolean;
  cantSplit: boolean;
}

class Layout {
  defaultTab = 35.4;
  constructor(
    private doc: PDFKit.PDFDocument,
    private fonts: Fonts,
  ) {}

  blocks(blocks: Block[], width: number): Item[] {
    const items: Item[] = [];
    for (const b of blocks) {
      if (b.kind === 'pagebreak') items.push({ kind: 'pagebreak' });
      else if (b.kind === 'p') items.push(...this.paragraph(b, width));
      else items.push(...this.table(b, width));
    }
    return items;
  }

  private lineHeight(pp: ParaProps, natural: number, size: number): number {
    const l = pp.line;
    if (!l) return natural;
    if (l.rule === 'auto') return natural * (l.value / 240);
    if (l.rule === 'exact') return l.value / 20;
    return Math.max(natural, l.value / 20 || size);
  }

  paragraph(p: ParagraphBlock, width: number): Item[] {
    const pp = p.pp;
    const left = pp.left ?? 0;
    const right = width - (pp.right ?? 0);
    const firstStart = left + (pp.firstLine ?? 0);
    const items: Item[] = [];
    if (pp.before) items.push({ kind: 'space', h: pp.before });

    type Line = { placed: Placed[]; end: number; last: boolean; page: boolean };
    const lines: Line[] = [];
    let placed: Placed[] = [];
    let x = firstStart;
    let pendingSpaces: Piece[] = [];
    const finish = (last: boolean, page = false) => {
      lines.push({ placed, end: x, last, page });
      placed = [];
      x = left;
      pendingSpaces = [];
    };
    const placeSpaces = () => {
      for (const sp of pendingSpaces) {
        placed.push({ piece: sp, x });
        x += sp.w;
      }
      pendingSpaces = [];
    };
    const pieces = p.pieces;
    // a word: consecutive text, pictures and marks (which may come from several runs) never split between lines
    let i = 0;
    while (i < pieces.length) {
      const piece = pieces[i]!;
      if (piece.kind === 'space') {
        if (placed.length > 0 || lines.length === 0) pendingSpaces.push(piece);
        i++;
        continue;
      }
      if (piece.kind === 'break' || piece.kind === 'page') {
        finish(true, piece.kind === 'page');
        i++;
        continue;
      }
      if (piece.kind === 'tab') {
        placeSpaces();
        let following = 0;
        for (let j = i + 1; j < pieces.length && !['tab', 'break', 'page'].includes(pieces[j]!.kind); j++) following += pieces[j]!.w;
        const stop = this.tabStop(pp, x, left);
        let target = stop.pos;
        if (stop.kind === 'right') target = Math.max(x, stop.pos - following);
        else if (stop.kind === 'center') target = Math.max(x, stop.pos - following / 2);
        if (target > right && placed.length > 0) {
          finish(false);
          target = left;
        }
        placed.push({ piece: { ...piece, w: Math.max(0, target - x) }, x });
        x = Math.max(x, target);
        i++;
        continue;
      }
      let j = i;
      let wordW = 0;
      while (j < pieces.length && ['text', 'image', 'mark'].includes(pieces[j]!.kind)) wordW += pieces[j++]!.w;
      const spaceW = pendingSpaces.reduce((s, sp) => s + sp.w, 0);
      if (x + spaceW + wordW > right + 0.01 && placed.length > 0) finish(false);
      else placeSpaces();
      pendingSpaces = [];
      for (let k = i; k < j; k++) {
        let w = pieces[k]!;
        // a word longer than the whole line is cut where it reaches the edge
        while (w.kind === 'text' && x + w.w > right + 0.01 && w.text.length > 1) {
          let n = w.text.length - 1;
          while (n > 1 && x + this.fonts.width(w.font, w.size, w.text.slice(0, n)) > right) n--;
          const head = { ...w, text: w.text.slice(0, n), w: this.fonts.width(w.font, w.size, w.text.slice(0, n)) };
          placed.push({ piece: head, x });
          x += head.w;
          finish(false);
          const rest = w.text.slice(n);
          w = { ...w, text: rest, w: this.fonts.width(w.font, w.size, rest) };
        }
        placed.push({ piece: w, x });
        x += w.w;
      }
      i = j;
    }
    finish(true);

    for (const line of lines) {
      const visible = line.placed.length ? line.placed.map((pl) => pl.piece) : [];
      let ascent = 0;
      let descent = 0;
      let size = 0;
      const measure = (font: FontKey, s: number) => {
        const m = this.fonts.of(font);
        ascent = Math.max(ascent, m.ascender * s);
        descent = Math.max(descent, m.descender * s);
        size = Math.max(size, s);
      };
      for (const pc of visible) {
        if (pc.kind === 'image' && pc.image) ascent = Math.max(ascent, pc.image.height);
        else if (pc.kind !== 'mark') measure(pc.font, pc.size);
      }
      if (size === 0) measure(p.markFont, p.markSize);
      const natural = ascent + descent;
      const h = this.lineHeight(pp, natural, size);
      // where the line's content starts and how much room is left, for alignment
      const used = Math.max(0, ...line.placed.filter((pl) => pl.piece.kind !== 'space').map((pl) => pl.x + pl.piece.w));
      let shift = 0;
      let stretch = 0;
      const align = pp.align ?? 'left';
      const hasTab = line.placed.some((pl) => pl.piece.kind === 'tab');
      if (!hasTab && align === 'center') shift = (right - used) / 2;
      if (!hasTab && align === 'right') shift = right - used;
      const gaps = line.placed.filter((pl, k) => pl.piece.kind === 'space' && k < line.placed.length - 1 && line.placed.slice(k + 1).some((q) => q.piece.kind !== 'space'));
      if (align === 'both' && !line.last && !hasTab && gaps.length > 0) stretch = (right - used) / gaps.length;
      const baselineOffset = ascent + (h - natural > 0 && pp.line?.rule === 'exact' ? (h - natural) / 2 : 0);
      const doc = this.doc;
      const fonts = this.fonts;
      const placedLine = line.placed;
      items.push({
        kind: 'line',
        h,
        keepNext: pp.keepNext,
        draw: (ox, oy) => {
          let extra = 0;
          const baseline = oy + baselineOffset;
          for (const pl of placedLine) {
            const pc = pl.piece;
            const px = ox + pl.x + shift + extra;
            if (pc.kind === 'space') {
              if (stretch && gaps.includes(pl)) extra += stretch;
              if (pc.rp.underline) {
                fonts.use(pc.font, pc.size);
                doc.save().lineWidth(pc.size / 18).strokeColor(`#${pc.rp.color ?? '000000'}`).moveTo(px, baseline + pc.size * 0.12).lineTo(px + pc.w + (stretch && gaps.includes(pl) ? stretch : 0), baseline + pc.size * 0.12).stroke().restore();
              }
              continue;
            }
            if (pc.kind === 'text') {
              fonts.use(pc.font, pc.size);
              const rise = pc.rp.vertAlign === 'superscript' ? -pc.size * 0.5 : pc.rp.vertAlign === 'subscript' ? pc.size * 0.2 : 0;
              doc.fillColor(`#${pc.rp.color ?? '000000'}`);
              doc.text(pc.text, px, baseline - fonts.of(pc.font).ascender * pc.size + rise, { lineBreak: false, underline: !!pc.rp.underline, strike: !!pc.rp.strike });
            } else if (pc.kind === 'image' && pc.image) {
              drawPicture(doc, pc.image.data, px, baseline - pc.image.height, { width: pc.image.width, height: pc.image.height });
            } else if (pc.kind === 'mark' && pc.mark) {
              const m = pc.mark;
              drawPicture(doc, m.data, px + (m.dx ?? 0), baseline + (m.dy ?? 0), { fit: [m.width, m.height] });
            }
          }
        },
      });
      if (line.page) items.push({ kind: 'pagebreak' });
    }
    if (pp.after) items.push({ kind: 'space', h: pp.after });
    return items;
  }

  private tabStop(pp: ParaProps, x: number, left: number): TabStop {
    const stops = (pp.tabs ?? []).filter((t) => t.kind !== 'clear').sort((a, b) => a.pos - b.pos);
    const custom = stops.find((t) => t.pos > x + 0.01);
    // a hanging indent is a tab stop of its own, as in Word's numbered lists
    if (x < left - 0.01 && (!custom || custom.pos > left)) return { pos: left, kind: 'left' };
    if (custom) return custom;
    return { pos: (Math.floor(x / this.defaultTab + 0.001) + 1) * this.defaultTab, kind: 'left' };
  }

  table(t: TableBlock, width: number): Item[] {
    let grid = t.grid.length ? t.grid : [width];
    const total = grid.reduce((s, w) => s + w, 0) || width;
    if (total > width * 1.02 || grid.every((w) => w === 0)) grid = grid.map((w) => (total ? (w / total) * width : width / grid.length));
    const tableWidth = grid.reduce((s, w) => s + w, 0);
    const offset = t.props.align === 'center' ? (width - tableWidth) / 2 : t.props.align === 'right' ? width - tableWidth : Math.max(-20, t.props.indent ?? 0);
    const colX = grid.map((_, i) => offset + grid.slice(0, i).reduce((s, w) => s + w, 0));
    const tb = t.props.borders ?? {};
    const headers: RowLayout[] = [];
    const items: Item[] = [];
    t.rows.forEach((row, r) => {
      const cells: CellLayout[] = row.cells.map((c) => {
        const end = Math.min(grid.length, c.gridStart + c.span);
        const x = colX[c.gridStart] ?? offset + tableWidth;
        const w = (colX[end - 1] ?? x) + (grid[end - 1] ?? 0) - x;
        const margins = { top: c.margins.top ?? 0, bottom: c.margins.bottom ?? 0, left: c.margins.left ?? 5.4, right: c.margins.right ?? 5.4 };
        const pick = (own: Border | null | undefined, outer: Border | null | undefined) => (own !== undefined ? own : (outer ?? null));
        return {
          x,
          width: w,
          items: this.blocks(c.blocks, Math.max(1, w - margins.left - margins.right)).map((it) => (it.kind === 'row' ? atomicRow(it.row, this) : it)),
          borders: {
            top: pick(c.borders.top, r === 0 ? tb.top : tb.insideH),
            bottom: pick(c.borders.bottom, r === t.rows.length - 1 ? tb.bottom : tb.insideH),
            left: pick(c.borders.left, c.gridStart === 0 ? tb.left : tb.insideV),
            right: pick(c.borders.right, end >= grid.length ? tb.right : tb.insideV),
          },
          margins,
          fill: c.fill,
          vAlign: c.vAlign,
        };
      });
      const layout: RowLayout = {
        cells,
        minHeight: row.height && !row.height.exact ? row.height.value : 0,
        exactHeight: row.height?.exact ? row.height.value : undefined,
        header: row.header && headers.length === r,
        cantSplit: row.cantSplit,
      };
      if (layout.header) headers.push(layout);
      items.push({ kind: 'row', row: layout, headers });
    });
    return items;
  }

  rowHeight(row: RowLayout): number {
    if (row.exactHeight) return row.exactHeight;
    return Math.max(row.minHeight, ...row.cells.map((c) => c.margins.top + c.margins.bottom + contentHeight(c.items)));
  }

  /** Draws a row (or what is left of it) from `y` with at most `room` points: what did not fit comes back. */
  drawRow(row: RowLayout, ox: number, y: number, room: number, force: boolean): RowLayout | null | 'nothing' {
    const natural = this.rowHeight(row);
    if (natural <= room + 0.01) {
      this.paintRow(row, ox, y, natural, row.cells.map((c) => c.items));
      return null;
    }
    const taken: Item[][] = [];
    const rest: Item[][] = [];
    let any = false;
    for (const c of row.cells) {
      const limit = room - c.margins.top - c.margins.bottom;
      let acc = 0;
      let k = 0;
      while (k < c.items.length && acc + itemHeight(c.items[k]!) <= limit + 0.01) acc += itemHeight(c.items[k++]!);
      if (k === 0 && force && c.items.length) acc += itemHeight(c.items[k++]!);
      // a space item does not start the continued part
      const remaining = c.items.slice(k);
      while (remaining[0]?.kind === 'space') remaining.shift();
      taken.push(c.items.slice(0, k));
      rest.push(remaining);
      if (k > 0 && c.items.slice(0, k).some((it) => it.kind !== 'space')) any = true;
    }
    if (!any && !force) return 'nothing';
    this.paintRow(row, ox, y, room, taken);
    return { ...row, minHeight: 0, exactHeight: undefined, cells: row.cells.map((c, i) => ({ ...c, items: rest[i]! })) };
  }

  paintRow(row: RowLayout, ox: number, y: number, h: number, content: Item[][]) {
    const doc = this.doc;
    row.cells.forEach((c) => {
      if (c.fill) doc.save().rect(ox + c.x, y, c.width, h).fill(`#${c.fill}`).restore();
    });
    row.cells.forEach((c, i) => {
      const items = content[i]!;
      const inner = contentHeight(items);
      const free = h - c.margins.top - c.margins.bottom - inner;
      let cy = y + c.margins.top + (free > 0 ? (c.vAlign === 'center' ? free / 2 : c.vAlign === 'bottom' ? free : 0) : 0);
      for (const it of items) {
        if (it.kind === 'line') it.draw(ox + c.x + c.margins.left, cy);
        cy += itemHeight(it);
      }
    });
    for (const c of row.cells) {
      const x0 = ox + c.x;
      const x1 = x0 + c.width;
      const edge = (b: Border | null, ax: number, ay: number, bx: number, by: number) => {
        if (b) doc.save().lineWidth(b.width).strokeColor(`#${b.color}`).moveTo(ax, ay).lineTo(bx, by).stroke().restore();
      };
      edge(c.borders.top, x0, y, x1, y);
      edge(c.borders.bottom, x0, y + h, x1, y + h);
      edge(c.borders.left, x0, y, x0, y + h);
      edge(c.borders.right, x1, y, x1, y + h);
    }
  }
}

const itemHeight = (it: Item) => (it.kind === 'line' || it.kind === 'space' ? it.h : 0);

function contentHeight(items: Item[]): number {
  // trailing space after a cell's last paragraph still counts, as in Word
  return items.reduce((s, it) => s + itemHeight(it), 0);
}

/** A row of a table inside a cell: drawn whole, never split. */
function atomicRow(row: RowLayout, layout: Layout): Item {
  const h = layout.rowHeight(row);
  return { kind: 'line', h, draw: (x, y) => layout.paintRow(row, x, y, h, row.cells.map((c) => c.items)) };
}

function drawPicture(doc: PDFKit.PDFDocument, data: Buffer, x: number, y: number, opts: PDFKit.Mixins.ImageOption) {
  if (!isPicture(data)) return;
  try {
    doc.image(data, x, y, opts);
  } catch {
    // a picture pdfkit cannot read (an unusual PNG) is left out rather than losing the document
  }
}

// ---------------------------------------------------------------- the document

interface Page {
  width: number;
  height: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

function readPage(body: XNode | undefined): Page {
  const sect = child(body, 'w:sectPr');
  const size = child(sect, 'w:pgSz');
  const mar = child(sect, 'w:pgMar');
  const width = tw(attr(size, 'w:w')) ?? 595.3;
  const height = tw(attr(size, 'w:h')) ?? 841.9;
  return {
    width,
    height,
    top: Math.abs(tw(attr(mar, 'w:top')) ?? 56.7),
    bottom: Math.abs(tw(attr(mar, 'w:bottom')) ?? 56.7),
    left: tw(attr(mar, 'w:left') ?? attr(mar, 'w:start')) ?? 85,
    right: tw(attr(mar, 'w:right') ?? attr(mar, 'w:end')) ?? 42.5,
  };
}

function relationships(zip: PizZip): Map<string, string> {
  const rels = new Map<string, string>();
  const xml = zip.file('word/_rels/document.xml.rels')?.asText();
  if (!xml) return rels;
  for (const r of childrenNamed(child(parseXml(xml), 'Relationships'), 'Relationship')) {
    const target = attr(r, 'Target') ?? '';
    if (attr(r, 'TargetMode') === 'External') continue;
    rels.set(attr(r, 'Id') ?? '', target.startsWith('/') ? target.slice(1) : `word/${target}`);
  }
  return rels;
}

/** The PDF of a .docx: its body laid out on its page size and margins with the DejaVu fonts. */
export async function docxToPdf(docx: Buffer, opts: DocxToPdfOptions = {}): Promise<Buffer> {
  const zip = new PizZip(docx);
  const main = zip.file('word/document.xml')?.asText();
  if (!main) throw new Error('docxToPdf: no word/document.xml');
  const body = child(child(parseXml(main), 'w:document'), 'w:body');
  const page = readPage(body);
  const doc = new PDFDocument({ size: [page.width, page.height], margin: 0, autoFirstPage: true, info: { Producer: 'CRM', Creator: 'CRM' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const fonts = new Fonts(doc);
  const rels = relationships(zip);
  const settings = zip.file('word/settings.xml')?.asText();
  const ctx: Context = {
    styles: readStyles(zip.file('word/styles.xml')?.asText() ?? null),
    numbering: readNumbering(zip.file('word/numbering.xml')?.asText() ?? null),
    fonts,
    images: opts.images ?? {},
    media: (rid) => {
      const path = rels.get(rid);
      const f = path ? zip.file(path) : null;
      return f ? Buffer.from(f.asUint8Array()) : undefined;
    },
  };
  const layout = new Layout(doc, fonts);
  const defaultTab = settings ? tw(attr(descendant(parseXml(settings), 'w:defaultTabStop'), 'w:val')) : undefined;
  if (defaultTab) layout.defaultTab = defaultTab;

  const width = page.width - page.left - page.right;
  const items = layout.blocks(readBlocks(body ?? { name: '', attrs: {}, children: [] }, ctx), width);
  const top = page.top;
  const bottom = page.height - page.bottom;
  let y = top;
  let onPage = false;
  const newPage = () => {
    doc.addPage({ size: [page.width, page.height], margin: 0 });
    y = top;
    onPage = false;
  };

  for (let k = 0; k < items.length; k++) {
    const it = items[k]!;
    if (it.kind === 'pagebreak') {
      newPage();
      continue;
    }
    if (it.kind === 'space') {
      if (onPage) y = Math.min(bottom, y + it.h);
      continue;
    }
    if (it.kind === 'line') {
      // a heading (keepNext) is not left alone at the bottom of a page
      let need = it.h;
      if (it.keepNext) {
        const next = items.slice(k + 1).find((n) => n.kind !== 'space');
        if (next?.kind === 'line') need += next.h;
        else if (next?.kind === 'row') need += layout.rowHeight(next.row);
      }
      if (y + need > bottom + 0.01 && onPage) newPage();
      it.draw(page.left, y);
      y += it.h;
      onPage = true;
      continue;
    }
    let row: RowLayout | null = it.row;
    let tries = 0;
    while (row && tries++ < 1000) {
      const natural = layout.rowHeight(row);
      const fitsFresh = natural <= bottom - top - it.headers.reduce((s, h) => s + layout.rowHeight(h), 0);
      if (y + natural > bottom + 0.01 && onPage && (fitsFresh || row.cantSplit)) {
        newPage();
        repeatHeaders(it.headers, row);
        continue;
      }
      const result = layout.drawRow(row, page.left, y, bottom - y, !onPage);
      if (result === 'nothing') {
        newPage();
        repeatHeaders(it.headers, row);
        continue;
      }
      onPage = true;
      if (result === null) {
        y += natural;
        row = null;
      } else {
        newPage();
        repeatHeaders(it.headers, row);
        row = result;
      }
    }
  }

  function repeatHeaders(headers: RowLayout[], row: RowLayout) {
    if (row.header) return;
    for (const h of headers) {
      const hh = layout.rowHeight(h);
      layout.paintRow(h, page.left, y, hh, h.cells.map((c) => c.items));
      y += hh;
      onPage = true;
    }
  }

  doc.end();
  return done;
}
