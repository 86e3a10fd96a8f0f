/**
 * Filling a .docx template's {{placeholders}} with docxtemplater. A template is checked when an admin
 * uploads it (checkTemplate) and again every time it is filled, so a document is never made with a
 * misspelt placeholder printed as an empty gap.
 */
import Docxtemplater from 'docxtemplater';
import inspectModule from 'docxtemplater/js/inspect-module.js';
import PizZip from 'pizzip';
import { invalid } from '../../errors.js';
import { allowedNames, LINES_LOOP, normalizeName, type TemplateKind } from './placeholders.js';

// CommonJS exporting a factory, while its types declare a default class
const newInspectModule = inspectModule as unknown as () => InstanceType<typeof inspectModule.default>;

const NOT_DOCX = 'файл не похож на документ Word (.docx): сохраните шаблон в Word как «Документ Word (*.docx)»';

interface Part {
  type: string;
  value?: string;
  module?: string;
  inverted?: boolean;
  subparsed?: Part[];
}

interface TemplaterError {
  message?: string;
  properties?: { id?: string; xtag?: string; errors?: TemplaterError[]; rootError?: { message?: string } };
}

const tag = (name: string | undefined) => `{{${name ?? ''}}}`;

/** The first of docxtemplater's compile errors, said in Russian for the admin. */
function explain(e: TemplaterError): string {
  const first = e.properties?.errors?.[0] ?? e;
  const x = first.properties?.xtag?.trim() ?? '';
  switch (first.properties?.id) {
    case 'scopeparser_compilation_failed':
      return first.properties?.rootError?.message ?? `ошибка в метке ${tag(x)}`;
    case 'unopened_tag':
      return `лишние закрывающие скобки «}}» рядом с «${x}»: у метки нет открывающих «{{»`;
    case 'unclosed_tag':
      return `метка «{{${x}» не закрыта: не хватает «}}»`;
    case 'duplicate_open_tag':
      return `лишние открывающие скобки «{{» в метке «${x}»`;
    case 'duplicate_close_tag':
      return `лишние закрывающие скобки «}}» в метке «${x}»`;
    case 'unclosed_loop':
      return `повторяемый блок {{#${x}}} не закрыт: добавьте {{/${x}}}`;
    case 'unopened_loop':
      return `{{/${x}}} закрывает блок, который не был открыт: не хватает {{#${x}}}`;
    case 'closing_tag_does_not_match_opening_tag':
      return `блок закрыт не той меткой: ${first.message ?? x}`;
    case 'raw_xml_tag_should_be_only_text_in_paragraph':
    case 'raw_tag_outerxml_invalid':
      return `метка {{@${x}}} не поддерживается`;
    default:
      return `ошибка в метке «${x}»: ${first.message ?? 'шаблон не удалось прочитать'}`;
  }
}

/** Walks the compiled tags in document order: the first name that is not allowed where it stands. */
function firstBadTag(parts: Part[], kind: TemplateKind, insideLines: boolean): string | null {
  const { top, loopItem } = allowedNames(kind);
  for (const p of parts) {
    if (p.type !== 'placeholder') continue;
    const name = normalizeName(p.value ?? '');
    if (p.module === 'rawxml') return `метка {{@${name}}} не поддерживается: уберите «@»`;
    if (p.module === 'loop') {
      if (name !== LINES_LOOP && !top.has(name) && !(insideLines && loopItem.has(name))) {
        return `неизвестная метка ${tag((p.inverted ? '^' : '#') + name)}: такой метки нет в списке`;
      }
      const bad = firstBadTag(p.subparsed ?? [], kind, insideLines || (name === LINES_LOOP && !p.inverted));
      if (bad) return bad;
      continue;
    }
    if (top.has(name) || (insideLines && loopItem.has(name))) continue;
    if (loopItem.has(name)) return `неизвестная метка ${tag(name)}: она работает только внутри {{#${LINES_LOOP}}}…{{/${LINES_LOOP}}}`;
    return `неизвестная метка ${tag(name)}: такой метки нет в списке`;
  }
  return null;
}

/**
 * Resolves a dotted name against the current scope (a loop item inside {{#строки}}, the values
 * outside); docxtemplater falls back to the outer scope when a name is not in the item. Names no list
 * knows are refused already while compiling.
 */
function parserFor(kind: TemplateKind) {
  const { top, loopItem } = allowedNames(kind);
  return (raw: string) => {
    const name = normalizeName(raw);
    if (name !== '.' && name !== LINES_LOOP && !top.has(name) && !loopItem.has(name)) {
      throw new Error(`неизвестная метка ${tag(name)}: такой метки нет в списке`);
    }
    return {
      get(scope: unknown): unknown {
        if (name === '.') return scope;
        let at: unknown = scope;
        for (const key of name.split('.')) {
          if (at === null || typeof at !== 'object' || !(key in at)) return undefined;
          at = (at as Record<string, unknown>)[key];
        }
        return at;
      },
    };
  };
}

function compile(kind: TemplateKind, docx: Buffer): Docxtemplater {
  let zip: PizZip;
  try {
    zip = new PizZip(docx);
  } catch {
    throw invalid({ template: NOT_DOCX });
  }
  if (!zip.file('word/document.xml')) throw invalid({ template: NOT_DOCX });
  const inspect = newInspectModule();
  let doc: Docxtemplater;
  try {
    doc = new Docxtemplater(zip, {
      modules: [inspect],
      delimiters: { start: '{{', end: '}}' },
      paragraphLoop: true,
      linebreaks: true,
      parser: parserFor(kind),
      // an empty value (a buyer without КПП) prints nothing, not "undefined"
      nullGetter: () => '',
      // the admin gets the message; nothing to log
      errorLogging: false,
    });
  } catch (e) {
    throw invalid({ template: explain(e as TemplaterError) });
  }
  const bad = firstBadTag(inspect.getAllStructuredTags() as Part[], kind, false);
  if (bad) throw invalid({ template: bad });
  return doc;
}

/** Refuses a file that is not a .docx, has broken {{ }} tags or names a placeholder the kind does not have. */
export function checkTemplate(kind: TemplateKind, docx: Buffer): void {
  compile(kind, docx);
}

/** The template with its placeholders filled (values from templateValues). */
export function fillTemplate(kind: TemplateKind, docx: Buffer, values: Record<string, unknown>): Buffer {
  const doc = compile(kind, docx);
  doc.render(values);
  return doc.getZip().generate({ type: 'nodebuffer', compression: 'DEFLATE' });
}
