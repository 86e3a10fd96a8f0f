import { eq } from 'drizzle-orm';
import { actorLabel, actorUserId, inTransaction, type ServiceContext } from '../context.js';
import { auditLog, products } from '../db/schema/index.js';
import { invalid, isServiceError } from '../errors.js';
import { requireRole } from '../access/scope.js';
import { diff } from '../shared/audit.js';
import { openCsv } from '../imports/read-csv.js';
import { fieldsOf, parseProductInput, type ProductInput } from './products.js';

/** A price list, not a client base: bigger files are a mistake, and the import runs in one transaction. */
export const MAX_PRODUCT_CSV_BYTES = 5 * 1024 * 1024;
export const MAX_PRODUCT_ROWS = 20_000;

export interface ProductImportResult {
  created: number;
  updated: number;
  rejected: { line: number; name: string; errors: string[] }[];
}

type Column = 'name' | 'unit' | 'price' | 'vat' | 'code';

/** Header names as Excel and 1C price lists spell them, Russian and English; compared without case, spaces and dots. */
const headerMatchers: Record<Column, (h: string) => boolean> = {
  name: (h) => /^(наименование|название|товар|услуга|name|product|title)/.test(h),
  unit: (h) => /^(ед|единица|unit)/.test(h),
  price: (h) => /^(цена|стоимость|price)/.test(h),
  vat: (h) => h.includes('ндс') || /^(vat|ставка)/.test(h),
  code: (h) => /^(артикул|код|code|sku|article)/.test(h),
};

const headerKey = (h: string) => h.toLowerCase().replace(/ё/g, 'е').replace(/[^a-zа-я0-9]/g, '');

/** Which column holds what; the first matching header wins. */
export function productColumns(headers: string[]): Partial<Record<Column, number>> {
  const found: Partial<Record<Column, number>> = {};
  headers.forEach((h, i) => {
    const key = headerKey(h);
    if (!key) return;
    // «Ставка НДС» must not be taken for a price, nor «Код ед.» for a unit: the VAT and code checks go first
    for (const col of ['vat', 'code', 'price', 'unit', 'name'] as Column[]) {
      if (headerMatchers[col](key)) {
        if (found[col] === undefined) found[col] = i;
        return;
      }
    }
  });
  return found;
}

async function* chunks(data: Uint8Array) {
  yield data;
}

/**
 * «Товары и услуги» from a CSV (UTF-8 or Windows-1251, `;` `,` or tab, as the client import reads them):
 * each row is checked like a product typed by hand; a valid row creates a product or updates the one
 * with the same name (case ignored); the rest are returned with their line and reasons. One transaction.
 */
export async function importProductsCsv(ctx: ServiceContext, data: Uint8Array): Promise<ProductImportResult> {
  requireRole(ctx, 'admin', 'head');
  if (!data.length) throw invalid({ file: 'файл пуст' }, 'Файл пуст');
  if (data.length > MAX_PRODUCT_CSV_BYTES) {
    throw invalid({ file: `файл больше ${MAX_PRODUCT_CSV_BYTES / 1024 / 1024} МБ` }, `Файл больше ${MAX_PRODUCT_CSV_BYTES / 1024 / 1024} МБ: разбейте прайс-лист на части`);
  }
  const csv = await openCsv(chunks(data));
  const cols = productColumns(csv.headers);
  if (cols.name === undefined) {
    throw invalid(
      { file: 'нет столбца «Наименование»' },
      'В первой строке файла нет столбца «Наименование» (или «Название», «name»). Ожидаются столбцы: Наименование; Ед.; Цена; НДС; Артикул',
    );
  }
  const cell = (cells: string[], col: Column) => (cols[col] === undefined ? undefined : (cells[cols[col]!] ?? '').trim());

  const rows: { line: number; name: string; input: ProductInput }[] = [];
  for await (const { lineNo, cells } of csv.records) {
    if (rows.length >= MAX_PRODUCT_ROWS) {
      throw invalid({ file: `больше ${MAX_PRODUCT_ROWS.toLocaleString('ru-RU')} строк` }, `В файле больше ${MAX_PRODUCT_ROWS.toLocaleString('ru-RU')} строк: разбейте его на части`);
    }
    const vat = cell(cells, 'vat');
    rows.push({
      line: lineNo,
      name: cell(cells, 'name') ?? '',
      input: {
        name: cell(cells, 'name') ?? '',
        unit: cell(cells, 'unit'),
        price: cell(cells, 'price') ?? '',
        // an empty VAT cell (or no such column) is the general rate; «без НДС» is written out
        vatRate: vat ? vat : undefined,
        code: cell(cells, 'code'),
      },
    });
  }

  const result: ProductImportResult = { created: 0, updated: 0, rejected: [] };
  return inTransaction(ctx, async (tx) => {
    const existing = new Map<string, typeof products.$inferSelect>();
    for (const p of await tx.db.select().from(products)) existing.set(p.name.toLowerCase(), p);
    const toCreate = new Map<string, ReturnType<typeof fieldsOf> & { line: number }>();
    const audits: (typeof auditLog.$inferInsert)[] = [];
    const now = tx.clock.now();
    const who = { actorUserId: actorUserId(tx.actor), actorLabel: actorLabel(tx.actor), entityType: 'product' as const, at: now };

    for (const row of rows) {
      let fields: ReturnType<typeof fieldsOf>;
      try {
        fields = fieldsOf(parseProductInput(row.input));
      } catch (e) {
        if (!isServiceError(e)) throw e;
        result.rejected.push({ line: row.line, name: row.name, errors: [...new Set(Object.values(e.fields))] });
        continue;
      }
      const key = fields.name.toLowerCase();
      const before = existing.get(key);
      if (before) {
        // a product already in the book takes the file's values; its name keeps the book's spelling
        fields = { ...fields, name: before.name };
        const changes = diff(before, fields);
        if (Object.keys(changes).length) {
          const [after] = await tx.db
            .update(products)
            .set({ ...fields, archived: false, updatedAt: now })
            .where(eq(products.id, before.id))
            .returning();
          existing.set(key, after!);
          audits.push({ ...who, action: 'product.imported', entityId: before.id, changes });
        }
        result.updated++;
      } else if (toCreate.has(key)) {
        // the same name twice in the file: the later row wins, still one product
        toCreate.set(key, { ...fields, line: row.line });
      } else {
        toCreate.set(key, { ...fields, line: row.line });
        result.created++;
      }
    }
    const fresh = [...toCreate.values()];
    for (let i = 0; i < fresh.length; i += 500) {
      const batch = fresh.slice(i, i + 500);
      const inserted = await tx.db
        .insert(products)
        .values(batch.map(({ line: _line, ...f }) => ({ ...f, createdAt: now, updatedAt: now })))
        .returning({ id: products.id, name: products.name });
      for (const p of inserted) audits.push({ ...who, action: 'product.imported', entityId: p.id, changes: { name: { from: null, to: p.name } } });
    }
    for (let i = 0; i < audits.length; i += 1000) await tx.db.insert(auditLog).values(audits.slice(i, i + 1000));
    return result;
  });
}
