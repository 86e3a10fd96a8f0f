import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ServiceContext } from '../../core/context.js';
import { addDealLine, listDealLines, moveDealLine, productChoices, removeDealLine, updateDealLine } from '../../core/deals/lines.js';
import { getDeal } from '../../core/deals/deals.js';
import { formatPercent, formatQuantity, hasDiscount, parseQuantity, taxModeLabels, vatRates } from '../../core/documents/money.js';
import { body, idParam } from '../forms.js';
import { ctxOf, render } from '../render.js';
import { formAction, parseForm } from '../form-action.js';
import type { AdminDeps } from '../types.js';

const text = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim());

/** The line form: the verb checks every value again and says what is wrong in Russian. */
const lineForm = z.object({
  productId: text,
  name: text,
  quantity: z
    .string('Количество — число больше нуля, например 1,5')
    .trim()
    .min(1, 'Количество — число больше нуля, например 1,5'),
  unit: text,
  price: text,
  discount: text,
  vatRate: text,
  back: text,
});
const moveForm = z.object({ back: text });

/** «22 %», «без НДС»: the VAT choices of the form, value as the verb takes it. */
export const vatChoices: [string, string][] = [...vatRates.map((r): [string, string] => [String(r), `${r} %`]), ['none', 'без НДС']];
const vatValue = (rate: number | null) => (rate === null ? 'none' : String(rate));

/** Where a line form returns: the deal's card or its lines page, nothing else. */
const backTo = (s: string, dealId: number) => (new RegExp(`^/admin/deals/${dealId}(?:/lines)?(?:#lines)?$`).test(s) ? s : `/admin/deals/${dealId}#lines`);

/**
 * The data of the «Товары и услуги» block (partials/deal-lines.eta) on a deal's card:
 * `dealLines: await dealLinesBlock(ctx, deal.id, `/admin/deals/${deal.id}#lines`)` in the card's route,
 * `<%~ include('/partials/deal-lines', { block: it.dealLines, dealId: d.id }) %>` in the card.
 */
export async function dealLinesBlock(ctx: ServiceContext, dealId: number, back: string) {
  const [list, choices] = await Promise.all([listDealLines(ctx, dealId), productChoices(ctx)]);
  return {
    dealId: list.dealId,
    closed: list.closed,
    back,
    taxModeLabel: taxModeLabels[list.taxMode],
    rows: list.lines.map((l) => ({
      id: l.id,
      no: l.no,
      name: l.name,
      quantity: formatQuantity(parseQuantity(l.quantity)!),
      unit: l.unit,
      priceKopecks: l.priceKopecks,
      // the form's value («12,5», empty without a discount) and what the row prints («−12,5%»)
      discount: hasDiscount(l.discountPercent) ? formatPercent(l.discountPercent).slice(0, -1) : '',
      discountText: hasDiscount(l.discountPercent) ? `−${formatPercent(l.discountPercent)}` : '',
      amountKopecks: l.sums.amountKopecks,
      vat: l.sums.vatRate === null ? 'без НДС' : `${l.sums.vatRate} %`,
      withVat: l.sums.vatRate !== null,
      vatKopecks: l.sums.vatKopecks,
      vatValue: vatValue(l.vatRate),
      first: l.no === 1,
      last: l.no === list.lines.length,
    })),
    totals: list.totals,
    products: choices,
    vatChoices,
  };
}
export type DealLinesBlock = Awaited<ReturnType<typeof dealLinesBlock>>;

/** A deal's line items, edited on the deal's card (and on a page of their own, /admin/deals/:id/lines). */
export default async function dealLineRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/deals/:id/lines', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const deal = await getDeal(ctx, idParam(req.params));
    const back = `/admin/deals/${deal.id}/lines`;
    return render(deps, req, reply, 'partials/deal-lines', { title: `Товары и услуги — ${deal.title}`, page: true, deal, dealId: deal.id, block: await dealLinesBlock(ctx, deal.id, back) });
  });

  app.post('/deals/:id/lines', async (req, reply) => {
    const dealId = idParam(req.params);
    const form = body(req);
    const back = backTo(typeof form.back === 'string' ? form.back : '', dealId);
    return formAction(
      deps,
      reply,
      back,
      async () => {
        const data = parseForm(lineForm, form);
        return addDealLine(ctxOf(deps, req), dealId, {
          productId: data.productId,
          name: data.name,
          quantity: data.quantity,
          unit: data.unit,
          price: data.price,
          discount: data.discount,
          vatRate: data.vatRate,
        });
      },
      (l) => ({ text: `Позиция «${l.name}» добавлена` }),
      'Позиция не добавлена: ',
    );
  });

  app.post('/deals/:id/lines/:lineId', async (req, reply) => {
    const dealId = idParam(req.params);
    const form = body(req);
    const back = backTo(typeof form.back === 'string' ? form.back : '', dealId);
    return formAction(
      deps,
      reply,
      back,
      async () => {
        const data = parseForm(lineForm, form);
        return updateDealLine(ctxOf(deps, req), idParam(req.params, 'lineId'), {
          name: data.name,
          quantity: data.quantity,
          unit: data.unit,
          price: data.price,
          discount: data.discount || '0',
          vatRate: data.vatRate,
        });
      },
      (l) => ({ text: `Позиция «${l.name}» сохранена` }),
      'Позиция не сохранена: ',
    );
  });

  app.post('/deals/:id/lines/:lineId/delete', async (req, reply) => {
    const dealId = idParam(req.params);
    const back = backTo(parseForm(moveForm, body(req)).back, dealId);
    return formAction(
      deps,
      reply,
      back,
      () => removeDealLine(ctxOf(deps, req), idParam(req.params, 'lineId')),
      () => ({ text: 'Позиция удалена' }),
    );
  });

  for (const direction of ['up', 'down'] as const) {
    app.post(`/deals/:id/lines/:lineId/${direction}`, async (req, reply) => {
      const dealId = idParam(req.params);
      const back = backTo(parseForm(moveForm, body(req)).back, dealId);
      return formAction(
        deps,
        reply,
        back,
        () => moveDealLine(ctxOf(deps, req), idParam(req.params, 'lineId'), direction),
        () => ({ text: direction === 'up' ? 'Позиция перемещена выше' : 'Позиция перемещена ниже' }),
      );
    });
  }
}
