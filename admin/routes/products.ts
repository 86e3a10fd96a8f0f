import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  archiveProduct,
  createProduct,
  getProduct,
  listProducts,
  restoreProduct,
  suggestedUnits,
  vatRateLabel,
  updateProduct,
  type Product,
} from '../../core/products/products.js';
import { importProductsCsv, MAX_PRODUCT_CSV_BYTES, MAX_PRODUCT_ROWS, type ProductImportResult } from '../../core/products/import.js';
import { vatRates } from '../../core/documents/money.js';
import { bool, body, idParam, query, str } from '../forms.js';
import { formAction, parseForm, userErrorText } from '../form-action.js';
import { PAGE_SIZE, pageOf } from '../lists.js';
import { ctxOf, hasRole, render, requireRoles, withQuery } from '../render.js';
import { smallUpload, uploadedFile, type UploadRequest } from '../uploads.js';
import type { AdminDeps } from '../types.js';

const LIST = '/admin/books/products';

const productForm = z.object({
  name: z.string('укажите наименование').trim().min(1, 'укажите наименование'),
  unit: z.string().optional(),
  price: z.string().optional().transform((s) => (s ?? '').trim() || '0'),
  // the select's «без НДС» is an explicit choice, not «not given»
  vatRate: z.string().optional().transform((s) => s ?? 'без НДС'),
  code: z.string().optional(),
});

/** «Товары и услуги» (documents): the products book and its CSV import. */
export default async function productRoutes(app: FastifyInstance, deps: AdminDeps) {
  const vatOptions = [...vatRates.map((r) => ({ value: String(r), label: vatRateLabel(r) })), { value: 'без НДС', label: vatRateLabel(null) }];

  const showList = async (req: FastifyRequest, reply: FastifyReply, imported: ProductImportResult | null = null, importError: string | null = null) => {
    const q = query(req);
    const page = pageOf(q);
    const filter = { q: str(q, 'q'), archived: bool(q, 'archived') ? '1' : '' };
    const rows = await listProducts(ctxOf(deps, req), { q: filter.q, includeArchived: !!filter.archived, limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE });
    return render(deps, req, reply, 'books/products', {
      title: 'Товары и услуги',
      products: rows.slice(0, PAGE_SIZE),
      filter,
      pager: { base: LIST, fq: filter, page, hasMore: rows.length > PAGE_SIZE, withQuery },
      canEdit: hasRole(req, 'admin', 'head'),
      units: suggestedUnits,
      vatOptions,
      vatRateLabel,
      imported,
      importError,
      limits: { mb: MAX_PRODUCT_CSV_BYTES / 1024 / 1024, rows: MAX_PRODUCT_ROWS.toLocaleString('ru-RU') },
    });
  };

  app.get('/books/products', async (req, reply) => showList(req, reply));

  app.post('/books/products', async (req, reply) =>
    formAction(deps, reply, LIST, () => createProduct(ctxOf(deps, req), parseForm(productForm, body(req))), (p) => ({ text: `«${p.name}» добавлен в справочник` }), 'Не добавлено: '),
  );

  app.get('/books/products/:id', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const product: Product = await getProduct(ctxOf(deps, req), idParam(req.params));
    return render(deps, req, reply, 'books/product', {
      title: product.name,
      product,
      vat: product.vatRate === null ? 'без НДС' : String(product.vatRate),
      units: suggestedUnits,
      vatOptions,
    });
  });

  app.post('/books/products/:id', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `${LIST}/${id}`, () => updateProduct(ctxOf(deps, req), id, parseForm(productForm, body(req))), (p) => ({ text: `«${p.name}» сохранён`, to: LIST }), 'Не сохранено: ');
  });

  for (const [action, run, done] of [
    ['archive', archiveProduct, 'в архиве: для новых строк сделок не предлагается'],
    ['restore', restoreProduct, 'снова предлагается'],
  ] as const) {
    app.post(`/books/products/:id/${action}`, async (req, reply) =>
      formAction(deps, reply, LIST, () => run(ctxOf(deps, req), idParam(req.params)), (p) => ({ text: `«${p.name}» ${done}` })),
    );
  }

  // the import answers with its result on the page itself: the rejected rows and their reasons are read there
  app.post('/books/products/import', { preValidation: smallUpload(MAX_PRODUCT_CSV_BYTES, 'файл') }, async (request, reply) => {
    const req = request as UploadRequest;
    try {
      const result = await importProductsCsv(ctxOf(deps, req), uploadedFile(req, 'file', 'выберите файл CSV').data);
      return showList(req, reply, result);
    } catch (e) {
      const message = userErrorText(e);
      if (message === null) throw e;
      return showList(req, reply, null, message);
    }
  });
}
