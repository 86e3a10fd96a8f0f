/**
 * `npm run bench:documents`: makes 1,000 invoices and prints the time, the median per document and
 * the process's RSS. Each is «Счёт и договор» on a deal of 5 lines, as a manager presses it: the
 * invoice PDF (with its QR code), the contract's DOCX and PDF, numbering and storage in one
 * transaction. For comparison in the same run, the invoice PDF alone (no database) is timed too.
 * The database is an in-memory PGlite, or PostgreSQL when TEST_DATABASE_URL is set.
 *   BENCH_DOCUMENTS=200 npm run bench:documents    (a smaller run)
 */
import pino from 'pino';
import { systemActor, systemClock, type ServiceContext } from '../../core/context.js';
import { EmbeddedQueue } from '../../core/jobs/embedded-queue.js';
import { createCounterparty } from '../../core/counterparties/counterparties.js';
import { createDeal, getDeal } from '../../core/deals/deals.js';
import { sellerFor } from '../../core/organizations/seller.js';
import { buyerOf, linesOf, managerOf } from '../../core/documents/snapshot.js';
import { makeInvoiceAndContract } from '../../core/documents/make.js';
import { renderInvoicePdf } from '../../core/documents/render/invoice-pdf.js';
import { dealLines } from '../../core/db/schema/index.js';
import { createUser, userActor } from '../../core/users/users.js';
import { createTestDatabase, testEngine } from '../helpers/db.js';
import { randomInn } from '../helpers/world.js';
import { makeSeller } from '../helpers/seller.js';

const TOTAL = Number(process.env.BENCH_DOCUMENTS ?? 1000);
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const jobs = new EmbeddedQueue(database);
  const log = pino({ level: 'silent' });
  const ctx = (actor = systemActor('bench')): ServiceContext => ({ db: database.db, actor, clock: systemClock, jobs, log, timeZone: 'Europe/Moscow' });
  try {
    const admin = await createUser(ctx(), { email: 'bench-admin@crm.test', name: 'Админ', role: 'admin', password: 'password123' });
    const as = ctx(userActor(admin));
    const org = await makeSeller(as, { name: 'Общество с ограниченной ответственностью «Бенчмарк»', shortName: 'ООО «Бенчмарк»', accountantName: 'Петрова Мария Ивановна' });
    const cp = await createCounterparty(ctx(), { kind: 'legal_entity', name: 'ООО «Покупатель»', inn: randomInn('legal_entity'), kpp: '772801001', address: 'г. Москва' });

    process.stdout.write(`seeding ${TOTAL} deals of 5 lines… `);
    const dealIds: number[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const deal = await createDeal(ctx(), { title: `Сделка ${i}`, counterpartyId: cp.id, responsibleId: admin.id });
      await ctx().db.insert(dealLines).values(
        Array.from({ length: 5 }, (_, n) => ({
          dealId: deal.id,
          position: n + 1,
          name: `Товар или услуга № ${n + 1} для сделки ${i}`,
          quantity: String(n + 1),
          unit: 'шт',
          priceKopecks: BigInt(100_000 + i * 7 + n * 1_234),
          vatRate: 22,
        })),
      );
      dealIds.push(deal.id);
    }
    console.log('done');

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const each: number[] = [];
    const started = performance.now();
    for (const id of dealIds) {
      const t = performance.now();
      await makeInvoiceAndContract(as, id);
      each.push(performance.now() - t);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    const total = (performance.now() - started) / 1000;

    // the invoice PDF alone, without the database or the contract
    const pdfOnly: number[] = [];
    const deal = await getDeal(as, dealIds[0]!);
    const { seller } = await sellerFor(as, org.id);
    const { lines, totals } = await linesOf(as, deal, seller.taxMode);
    const { buyer } = await buyerOf(as, deal, { needsInn: true });
    const manager = await managerOf(as, deal);
    for (let i = 0; i < Math.min(200, TOTAL); i++) {
      const t = performance.now();
      await renderInvoicePdf({ date: '2026-12-02', seller, buyer, lines, totals, dealTitle: deal.title, manager, number: i + 1, purpose: `Оплата по счёту № ${i + 1}`, contract: null, payWithinDays: 5 });
      pdfOnly.push(performance.now() - t);
    }

    console.log(`\nengine: ${testEngine}`);
    console.log(`«Счёт и договор» × ${TOTAL}: ${total.toFixed(1)} s, ${(TOTAL / total).toFixed(1)} pairs/s`);
    console.log(`  per pair (invoice PDF + contract DOCX and PDF, numbered and stored): median ${median(each).toFixed(1)} ms, p95 ${p95(each).toFixed(1)} ms`);
    console.log(`  invoice PDF alone: median ${median(pdfOnly).toFixed(1)} ms`);
    console.log(`  RSS before ${mb(rssBefore)}, peak ${mb(rssPeak)}, after ${mb(process.memoryUsage().rss)}`);
  } finally {
    await database.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
