import { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import iconv from 'iconv-lite';
import { invalid } from '../errors.js';
import { readableCell } from './spreadsheet-cell.js';

export type CsvEncoding = 'utf-8' | 'windows-1251';
export type CsvDelimiter = ',' | ';' | '\t';

/** csv-parse's reasons, as the person who saved the file can act on them */
const csvProblem: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE: 'после закрывающей кавычки идут лишние символы',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'после закрывающей кавычки идут лишние символы',
  CSV_QUOTE_NOT_CLOSED: 'кавычка открыта и не закрыта до конца файла',
  INVALID_OPENING_QUOTE: 'кавычка посреди ячейки',
  CSV_INVALID_OPENING_QUOTE: 'кавычка посреди ячейки',
  CSV_MAX_RECORD_SIZE: 'слишком длинная строка (больше 1 МБ) — похоже, это не таблица',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'в строке другое число столбцов',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'в строке другое число столбцов',
};

/** How much of the file is looked at to tell the encoding and the delimiter. */
const SAMPLE_BYTES = 64 * 1024;
/** More columns than this is not a client list. */
const MAX_COLUMNS = 200;

/**
 * UTF-8 (with or without BOM) or Windows-1251, the two encodings Russian Excel and 1C produce.
 * A sample that is valid UTF-8 is UTF-8 (plain ASCII reads the same in both).
 */
export function detectEncoding(sample: Uint8Array): CsvEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8';
  try {
    // stream mode: a multi-byte character cut at the end of the sample is not an error
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return 'utf-8';
  } catch {
    return 'windows-1251';
  }
}

/** The separator of the header line: the most frequent of `;` `,` tab outside quotes; `,` when none. */
export function detectDelimiter(text: string): CsvDelimiter {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const counts: Record<CsvDelimiter, number> = { ';': 0, ',': 0, '\t': 0 };
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ';' || ch === ',' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.entries(counts) as [CsvDelimiter, number][]).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ',';
}

export interface CsvFile {
  encoding: CsvEncoding;
  delimiter: CsvDelimiter;
  headers: string[];
  /** the data records after the header, each with its line number in the file */
  records: AsyncIterable<{ lineNo: number; cells: string[] }>;
  /** bytes of the file consumed so far, for a progress bar */
  bytesRead(): number;
}

/**
 * Opens a CSV byte stream: detects encoding and delimiter from its start, then decodes with
 * iconv-lite and parses with csv-parse as the bytes arrive, so a file of any size is read in
 * bounded memory.
 */
export async function openCsv(input: AsyncIterable<Uint8Array | string>): Promise<CsvFile> {
  const source = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headSize = 0;
  let ended = false;
  while (headSize < SAMPLE_BYTES) {
    const next = await source.next();
    if (next.done) {
      ended = true;
      break;
    }
    const buf = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
    head.push(buf);
    headSize += buf.length;
  }
  const sample = Buffer.concat(head);
  // a text file has no zero bytes; an Excel workbook (a zip), a picture or a PDF has them at once
  if (sample.subarray(0, 4096).includes(0)) {
    const what = sample[0] === 0x50 && sample[1] === 0x4b ? 'похоже на файл Excel (.xlsx) или архив' : 'это не текстовый файл';
    throw invalid(
      { file: what },
      `Это не CSV: ${what}. В Excel выберите «Файл → Сохранить как → CSV (разделители — точка с запятой)» и загрузите получившийся файл.`,
    );
  }
  const encoding = detectEncoding(sample);
  const delimiter = detectDelimiter(iconv.decode(sample.subarray(0, 8192), encoding));
  let bytes = 0;
  async function* allBytes() {
    for (const b of head) {
      bytes += b.length;
      yield b;
    }
    if (ended) return;
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      const buf = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
      bytes += buf.length;
      yield buf;
    }
  }
  const parser = Readable.from(allBytes())
    .pipe(iconv.decodeStream(encoding, { stripBOM: true }))
    .pipe(
      parse({
        delimiter,
        bom: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        trim: true,
        max_record_size: 1024 * 1024,
        info: true,
      }),
    );
  const iterator = (parser as AsyncIterable<{ record: string[]; info: { lines: number } }>)[Symbol.asyncIterator]();
  const first = await nextRecord(iterator);
  if (!first) throw invalid({ file: 'файл пуст' }, 'Файл пуст: нет строки заголовков');
  const headers = first.record.map((h) => readableCell(h.trim()));
  if (headers.length > MAX_COLUMNS) throw invalid({ file: `больше ${MAX_COLUMNS} столбцов` }, 'В файле слишком много столбцов');
  return {
    encoding,
    delimiter,
    headers,
    bytesRead: () => bytes,
    records: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const r = await nextRecord(iterator);
          if (!r) return;
          // a line of separators only (";;;;") is an empty line to a person
          if (r.record.every((c) => c === '')) continue;
          // a rejected-rows CSV loaded back: the apostrophe that kept a cell from opening as a formula goes
          yield { lineNo: r.info.lines, cells: r.record.map(readableCell) };
        }
      },
    },
  };
}

async function nextRecord<T>(iterator: AsyncIterator<T>): Promise<T | null> {
  try {
    const r = await iterator.next();
    return r.done ? null : r.value;
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      const why = csvProblem[e.code] ?? 'файл повреждён или это не CSV';
      throw invalid({ file: why }, `Файл не читается как CSV${line ? ` (строка ${line})` : ''}: ${why}. Сохраните таблицу как «CSV (разделители — точка с запятой)» и загрузите снова.`);
    }
    throw e;
  }
}
