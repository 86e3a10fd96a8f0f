import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PizZip from 'pizzip';
import { and, eq, sql } from 'drizzle-orm';
import { Document, Packer, Paragraph, TextRun } from 'docx';
import { fixedClock, randomInn } from './helpers/world.js';
import { makeSeller, SBER, SBER_ACCOUNTS } from './helpers/seller.js';
import { openAdminApp, type AdminApp } from './helpers/browser.js';
import { PanelClient, pageText } from './helpers/http-client.js';
import { pdfQrCodes, pdfText } from './helpers/pdf.js';
import type { User } from '../core/users/users.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createDeal, getDeal, listDealStages } from '../core/deals/deals.js';
import { updateDealStage } from '../core/deals/stages.js';
import { createOrganization, updateOrganization } from '../core/organizations/organizations.js';
import { makeInvoiceAndContract, makeProposal } from '../core/documents/make.js';
import { listMadeDocuments, readDocumentFile } from '../core/documents/documents.js';
import { emailDocuments, messageDocuments } from '../core/documents/send.js';
import { setProposalTexts, uploadTemplate } from '../core/documents/templates-book.js';
import { getHistory } from '../core/history/history.js';
import { conversations, dealLines, documentCounters, documents, emails, mailboxes, messages } from '../core/db/schema/index.js';
import { ServiceError } from '../core/errors.js';

/**
 * R21/R22: a КП from a template, and «Счёт и договор» from a deal in one action — numbered per
 * organisation and year without gaps or doubles, read back from the real PDFs and DOCX, sent to the
 * client by e-mail or into a messenger, and refused with what to fill in when something is missing.
 */
const clock = fixedClock('2026-12-02T09:00:00Z');
const flat = (s: string) => s.replace(/\s+/g, ' ');
const docxText = (docx: Buffer) =>
  flat(
    new PizZip(docx)
      .file('word/document.xml')!
      .asText()
      .replace(/<w:tab\/>|<\/w:p>/g, ' ')
      .replace(/<[^>]+>/g, ''),
  );
const invalidField = (field: string, message?: RegExp) => (e: unknown) =>
  e instanceof ServiceError && e.code === 'invalid' && field in e.fields && (!message || message.test(e.fields[field]!));


let a: AdminApp;
let admin: User, petrov: User, stranger: User;
let orgId: number, org2Id: number, cpId: number, contactId: number;
const sellerInn = randomInn('legal_entity');
const buyerInn = randomInn('legal_entity');
const ipInn = randomInn('sole_proprietor');

async function dealWith(lines: { name: string; quantity: string; unit: string; price: string; vat: number | null; discount?: string }[], extra: { counterpartyId?: number | null; title?: string } = {}) {
  const sys = a.world.system;
  const deal = await createDeal(sys, {
    title: extra.title ?? 'Остекление офиса',
    counterpartyId: extra.counterpartyId === undefined ? cpId : extra.counterpartyId,
    contactId: extra.counterpartyId === undefined ? contactId : null,
    responsibleId: petrov.id,
  });
  let position = 0;
  for (const l of lines) {
    const [rub, kop = '0'] = l.price.split(',');
    await sys.db.insert(dealLines).values({
      dealId: deal.id,
      position: ++position,
      name: l.name,
      quantity: l.quantity.replace(',', '.'),
      unit: l.unit,
      priceKopecks: BigInt(rub!) * 100n + BigInt(kop.padEnd(2, '0')),
      discountPercent: l.discount ?? '0',
      vatRate: l.vat,
    });
  }
  return deal.id;
}

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  (a.world.clock as unknown as { now: () => Date }).now = () => clock.now();
  const seg = await a.world.segment('Окна');
  const other = await a.world.segment('Другое');
  admin = await a.world.user('admin', { name: 'Админ' });
  petrov = await a.world.user('manager', { name: 'Пётр Петров', segments: [seg] });
  stranger = await a.world.user('manager', { name: 'Чужой', segments: [other] });
  const sys = a.world.system;
  const as = a.world.as(admin);
  orgId = (
    await makeSeller(as, {
      name: 'Общество с ограниченной ответственностью «Светлые окна»',
      shortName: 'ООО «Светлые окна»',
      inn: sellerInn,
      kpp: '771001001',
      legalAddress: '115035, г. Москва, ул. Садовническая, д. 5',
      city: 'г. Москва',
      directorName: 'Соколов Андрей Викторович',
      accountantName: 'Белова Ирина Сергеевна',
    })
  ).id;
  org2Id = (
    await makeSeller(
      as,
      { kind: 'sole_proprietor', name: 'Индивидуальный предприниматель Орлов Олег Олегович', shortName: 'ИП Орлов О. О.', inn: ipInn, kpp: null, ogrn: null, taxMode: 'usn_vat5' },
      SBER_ACCOUNTS.soleProprietor,
    )
  ).id;
  cpId = (await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Покупатель»', inn: buyerInn, kpp: '772801001', address: 'г. Москва, ул. Профсоюзная, д. 1', segmentId: seg, emails: ['buy@buyer.example'] })).id;
  contactId = (await createContact(sys, { name: 'Анна Закупкина', counterpartyId: cpId, emails: ['anna@buyer.example'] })).id;
});
after(() => a.close());

describe('«Счёт и договор»', () => {
  test('one action makes the invoice and the contract: numbers, parties, lines, VAT 22%, totals and words in the PDFs, the QR payment payload, the DOCX; history and the stage', async () => {
    const dealId = await dealWith([
      { name: 'Монтаж оконных блоков ПВХ', quantity: '3', unit: 'шт', price: '400000', vat: 22 },
      { name: 'Доставка', quantity: '1', unit: 'усл.', price: '0,50', vat: 22 },
    ]);
    const { invoice, contract } = await makeInvoiceAndContract(a.world.as(petrov), dealId);
    assert.equal(invoice.number, 1);
    assert.equal(contract.number, 1);
    assert.equal(invoice.totalKopecks, 120000050n);
    // 1 200 000,00 × 22/122 = 216 393,44 and 0,50 × 22/122 = 0,09, by hand
    assert.equal(invoice.vatKopecks, 21639353n);

    const pdf = flat(await pdfText((await readDocumentFile(a.world.as(petrov), invoice.id, 'pdf')).data));
    assert.match(pdf, /Счёт на оплату № 1 от 2 декабря 2026 г\./);
    assert.match(pdf, /«Светлые окна»/);
    assert.ok(pdf.includes(sellerInn) && pdf.includes(buyerInn), 'both INNs printed');
    assert.match(pdf, /ООО «Покупатель»/);
    assert.match(pdf, /Монтаж оконных блоков ПВХ/);
    assert.match(pdf, /Доставка/);
    assert.match(pdf, /1 200 000,00/);
    assert.match(pdf, /НДС 22%/);
    assert.match(pdf, /216 393,53/);
    assert.match(pdf, /1 200 000,50/);
    assert.match(pdf, /Всего наименований 2, на сумму 1 200 000,50/);
    assert.match(pdf, /Один миллион двести тысяч рублей 50 копеек/);
    assert.match(pdf, /Основание: Договор № 1 от 2 декабря 2026 г\./, 'the invoice names its contract');
    assert.match(pdf, /044525225/);
    assert.match(pdf, new RegExp(SBER.account));

    const [qr] = await pdfQrCodes((await readDocumentFile(a.world.as(petrov), invoice.id, 'pdf')).data);
    assert.ok(qr, 'a payment QR code on the invoice');
    assert.ok(qr.startsWith('ST00012|'), qr);
    const fields = Object.fromEntries(qr.split('|').slice(1).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
    assert.equal(fields.PersonalAcc, SBER.account);
    assert.equal(fields.BIC, '044525225');
    assert.equal(fields.CorrespAcc, '30101810400000000225');
    assert.equal(fields.PayeeINN, sellerInn);
    assert.equal(fields.Sum, '120000050');
    assert.match(fields.Purpose ?? '', /счёту № 1/);

    const contractPdf = flat(await pdfText((await readDocumentFile(a.world.as(petrov), contract.id, 'pdf')).data));
    const contractDocx = docxText((await readDocumentFile(a.world.as(petrov), contract.id, 'docx')).data);
    for (const text of [contractPdf, contractDocx]) {
      assert.match(text, /Договор № 1/i);
      assert.match(text, /г\. Москва/);
      assert.doesNotMatch(text, /г\. г\./);
      assert.ok(text.includes(sellerInn) && text.includes(buyerInn), 'both parties\' requisites');
      assert.match(text, /ООО «Покупатель»/);
      assert.match(text, /Монтаж оконных блоков ПВХ/);
      assert.match(text, /Один миллион двести тысяч рублей 50 копеек/);
      assert.ok(!text.includes('{{'), 'no placeholder left');
    }

    const history = await getHistory(a.world.as(petrov), 'deal', dealId);
    assert.ok(history.some((h) => /Выставлен счёт № 1 .*договор № 1/.test(h.title + ' ' + (h.text ?? ''))), 'the deal\'s history says what was made');
    const stages = await listDealStages(a.world.system);
    const deal = await getDeal(a.world.system, dealId);
    assert.equal(stages.find((s) => s.id === deal.stageId)?.name, 'Счёт выставлен', 'the stage book moves the deal');

    const made = await listMadeDocuments(a.world.as(petrov), 'counterparty', cpId);
    assert.ok(made.some((d) => d.id === invoice.id && d.formats.includes('pdf')) && made.some((d) => d.id === contract.id && d.formats.includes('docx')));
  });

  test('numbers go on per organisation and start again each year; УСН 5% and 7%, «без НДС», a 0% line, and 21,01 ₽ in words', async () => {
    const petrovCtx = a.world.as(petrov);
    const second = await makeInvoiceAndContract(petrovCtx, await dealWith([{ name: 'Замер', quantity: '1', unit: 'усл.', price: '21,01', vat: 22 }]), { organizationId: orgId });
    assert.equal(second.invoice.number, 2);
    const ip = await makeInvoiceAndContract(petrovCtx, await dealWith([{ name: 'Замер', quantity: '1', unit: 'усл.', price: '21,01', vat: 22 }]), { organizationId: org2Id });
    assert.equal(ip.invoice.number, 1, 'another seller numbers its own');
    const ipPdf = flat(await pdfText((await readDocumentFile(petrovCtx, ip.invoice.id, 'pdf')).data));
    // УСН 5%: 21,01 × 5/105 = 1,00
    assert.match(ipPdf, /НДС 5%/);
    assert.match(ipPdf, /1,00/);
    assert.match(ipPdf, /Двадцать один рубль 01 копейка/);
    assert.ok(!/КПП/.test(ipPdf.split('Покупатель')[0]!.split('Поставщик')[1] ?? ''), 'an ИП prints no KPP of its own');

    await updateOrganization(a.world.as(admin), org2Id, { kind: 'sole_proprietor', name: 'Индивидуальный предприниматель Орлов Олег Олегович', shortName: 'ИП Орлов О. О.', inn: ipInn, taxMode: 'usn_vat7' });
    const seven = await makeInvoiceAndContract(petrovCtx, await dealWith([{ name: 'Замер', quantity: '1', unit: 'усл.', price: '21,01', vat: 22 }]), { organizationId: org2Id });
    assert.equal(seven.invoice.vatKopecks, 137n, '21,01 × 7/107 = 1,37');
    assert.match(flat(await pdfText((await readDocumentFile(petrovCtx, seven.invoice.id, 'pdf')).data)), /НДС 7%.*1,37/);

    const zero = await makeInvoiceAndContract(petrovCtx, await dealWith([{ name: 'Экспортная поставка', quantity: '2', unit: 'шт', price: '1000', vat: 0 }]), { organizationId: orgId });
    assert.equal(zero.invoice.vatKopecks, 0n);
    assert.match(flat(await pdfText((await readDocumentFile(petrovCtx, zero.invoice.id, 'pdf')).data)), /НДС 0%/);

    clock.set('2027-01-11T09:00:00Z');
    try {
      const nextYear = await makeInvoiceAndContract(petrovCtx, await dealWith([{ name: 'Замер', quantity: '1', unit: 'усл.', price: '100', vat: null }]), { organizationId: orgId });
      assert.equal(nextYear.invoice.number, 1, 'a new year starts from 1');
      assert.equal(nextYear.invoice.year, 2027);
      assert.match(flat(await pdfText((await readDocumentFile(petrovCtx, nextYear.invoice.id, 'pdf')).data)), /Без налога \(НДС\)/);
    } finally {
      clock.set('2026-12-02T09:00:00Z');
    }
  });

  test('two managers pressing at once get different numbers with no gap', async () => {
    const deals = await Promise.all(Array.from({ length: 6 }, (_, i) => dealWith([{ name: `Окно ${i}`, quantity: '1', unit: 'шт', price: '5000', vat: 22 }])));
    const before = await counter(orgId, 'invoice', 2026);
    const made = await Promise.all(deals.map((id) => makeInvoiceAndContract(a.world.as(petrov), id, { organizationId: orgId })));
    const numbers = made.map((m) => m.invoice.number!).sort((x, y) => x - y);
    assert.deepEqual(numbers, Array.from({ length: 6 }, (_, i) => before + 1 + i));
  });

  test('what is missing is named, with where to fix it, and nothing is numbered', async () => {
    const before = await counter(orgId, 'invoice', 2026);
    const documentsBefore = await countDocuments();
    const noClient = await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '100', vat: 22 }], { counterpartyId: null, title: 'Лид из мессенджера' });
    await assert.rejects(makeInvoiceAndContract(a.world.as(petrov), noClient), (e: unknown) => invalidField('counterpartyId', /нет контрагента/)(e) && (e as ServiceError).fix?.entity === 'deal');
    const noInn = (await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО «Без ИНН»', responsibleId: petrov.id })).id;
    await assert.rejects(makeInvoiceAndContract(a.world.as(petrov), await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '100', vat: 22 }], { counterpartyId: noInn })), invalidField('inn', /ИНН/));
    const noLines = await dealWith([]);
    await assert.rejects(makeInvoiceAndContract(a.world.as(petrov), noLines), invalidField('lines'));
    const bare = (await createOrganization(a.world.as(admin), { kind: 'legal_entity', name: 'ООО «Без счёта»', inn: randomInn('legal_entity'), kpp: '771001001' })).id;
    await assert.rejects(
      makeInvoiceAndContract(a.world.as(petrov), await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '100', vat: 22 }]), { organizationId: bare }),
      (e: unknown) => e instanceof ServiceError && e.code === 'invalid' && /расчётного счёта/.test(Object.values(e.fields).join()) && e.fix?.entity === 'organizations',
    );
    assert.equal(await counter(orgId, 'invoice', 2026), before, 'no number used');
    assert.equal(await countDocuments(), documentsBefore, 'nothing half-made');
    // a manager outside the client's segment does not see the deal, nor its documents
    const [anyDoc] = await a.world.system.db.select().from(documents).limit(1);
    await assert.rejects(makeInvoiceAndContract(a.world.as(stranger), anyDoc!.dealId), (e: unknown) => e instanceof ServiceError && ['forbidden', 'not_found'].includes(e.code));
    await assert.rejects(readDocumentFile(a.world.as(stranger), anyDoc!.id, 'pdf'), (e: unknown) => e instanceof ServiceError && ['forbidden', 'not_found'].includes(e.code));
  });
});

describe('commercial proposals', () => {
  test('versions from the template with the manager\'s own texts, the validity date and contacts; the admin\'s own .docx template is used, a bad placeholder refused', async () => {
    const dealId = await dealWith([
      { name: 'Окно двустворчатое', quantity: '2', unit: 'шт', price: '25000', vat: 22, discount: '10' },
      { name: 'Монтаж', quantity: '1,5', unit: 'час', price: '2000', vat: 22 },
    ]);
    await setProposalTexts(a.world.as(admin), { intro: 'Спасибо за запрос, вот наше предложение.', terms: 'Оплата по счёту в течение 5 дней.' });
    const v1 = await makeProposal(a.world.as(petrov), dealId, { validUntil: '2026-12-16' });
    const v2 = await makeProposal(a.world.as(petrov), dealId, { intro: 'Для ООО «Покупатель» — особые условия.', validUntil: '2026-12-20' });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    // 2 × 25 000,00 − 10% = 45 000,00; 1,5 × 2 000,00 = 3 000,00
    assert.equal(v2.totalKopecks, 4800000n);
    const pdf = flat(await pdfText((await readDocumentFile(a.world.as(petrov), v2.id, 'pdf')).data));
    const docx = docxText((await readDocumentFile(a.world.as(petrov), v2.id, 'docx')).data);
    for (const text of [pdf, docx]) {
      assert.match(text, /Коммерческое предложение/i);
      assert.match(text, new RegExp(`№ ${dealId}-2`), 'the КП is numbered by the deal and its version');
      assert.match(text, /особые условия/);
      assert.match(text, /Оплата по счёту в течение 5 дней/);
      assert.match(text, /20 декабря 2026|20\.12\.2026/);
      assert.match(text, /Пётр Петров/);
      assert.match(text, /Окно двустворчатое/);
      assert.match(text, /48 000,00/);
    }
    assert.match(flat(await pdfText((await readDocumentFile(a.world.as(petrov), v1.id, 'pdf')).data)), /Спасибо за запрос/, 'the template\'s default text when the manager wrote none');
    const deal = await getDeal(a.world.system, dealId);
    const stages = await listDealStages(a.world.system);
    assert.equal(stages.find((s) => s.id === deal.stageId)?.name, 'Новая', 'a КП made but not sent does not move the deal');

    const own = await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun('Наше КП для {{покупатель.наименование}} на {{итого}}')] })] }] }));
    await uploadTemplate(a.world.as(admin), 'proposal', { fileName: 'kp.docx', data: own });
    const v3 = await makeProposal(a.world.as(petrov), dealId, {});
    assert.match(docxText((await readDocumentFile(a.world.as(petrov), v3.id, 'docx')).data), /Наше КП для ООО «Покупатель» на 48 000,00/);
    assert.match(flat(await pdfText((await readDocumentFile(a.world.as(petrov), v3.id, 'pdf')).data)), /Наше КП для ООО «Покупатель»/);
    const bad = await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun('Для {{покупатель.имя_несуществующее}}')] })] }] }));
    await assert.rejects(uploadTemplate(a.world.as(admin), 'proposal', { fileName: 'bad.docx', data: bad }), invalidField('template', /покупатель\.имя_несуществующее/));
    await assert.rejects(uploadTemplate(a.world.as(admin), 'proposal', { fileName: 'x.docx', data: Buffer.from('not a docx') }), invalidField('template'));
    await a.world.system.db.execute(sql`DELETE FROM document_templates WHERE kind = 'proposal'`);
  });
});

describe('the stage book', () => {
  test('«Сама, когда…»: one stage per event, set on the stage book; a made КП moves an open deal forward only', async () => {
    const stages = await listDealStages(a.world.system);
    const byName = (n: string) => stages.find((s) => s.name === n)!;
    const talks = byName('Переговоры');
    await updateDealStage(a.world.as(admin), talks.id, { name: talks.name, sortOrder: talks.sortOrder, enterOn: 'proposal_made' });
    await assert.rejects(updateDealStage(a.world.as(admin), byName('Оплачена').id, { name: 'Оплачена', sortOrder: 50, isWon: true, enterOn: 'invoice_made' }), invalidField('enterOn'));
    const dealId = await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '1000', vat: 22 }]);
    await makeProposal(a.world.as(petrov), dealId, {});
    assert.equal((await getDeal(a.world.system, dealId)).stageId, talks.id, 'a made КП moves the deal to «Переговоры»');
    // the event moves to another stage: the first one loses it
    const sent = byName('КП отправлено');
    await updateDealStage(a.world.as(admin), sent.id, { name: sent.name, sortOrder: sent.sortOrder, enterOn: 'proposal_made' });
    assert.equal((await listDealStages(a.world.system)).find((s) => s.id === talks.id)!.enterOn, null);
    await updateDealStage(a.world.as(admin), sent.id, { name: sent.name, sortOrder: sent.sortOrder, enterOn: 'proposal_sent' });
  });
});

describe('sending to the client', () => {
  test('by e-mail from the deal (the letter with the PDFs is in the deal\'s history) and into the client\'s messenger; the stage moves on «КП отправлено»', async () => {
    const dealId = await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '10000', vat: 22 }]);
    await a.world.system.db.insert(mailboxes).values({
      name: 'Продажи',
      login: 'sales@light.example',
      email: 'sales@light.example',
      passwordEncrypted: 'x',
      imapHost: '127.0.0.1',
      imapPort: 1,
      smtpHost: '127.0.0.1',
      smtpPort: 1,
    } as typeof mailboxes.$inferInsert);
    const kp = await makeProposal(a.world.as(petrov), dealId, {});
    const letter = await emailDocuments(a.world.as(petrov), kp.id, {}, { dataDir: a.services.config.DATA_DIR });
    assert.deepEqual(letter.toAddresses, ['anna@buyer.example']);
    const [stored] = await a.world.system.db.select().from(emails).where(eq(emails.id, letter.id));
    assert.equal(stored!.dealId, dealId);
    const names = (stored!.attachments as { name: string }[]).map((f) => f.name);
    assert.ok(names.some((n) => n.endsWith('.pdf')) && names.some((n) => n.endsWith('.docx')), names.join());
    const deal = await getDeal(a.world.system, dealId);
    const stages = await listDealStages(a.world.system);
    assert.equal(stages.find((s) => s.id === deal.stageId)?.name, 'КП отправлено');

    const [conv] = await a.world.system.db.insert(conversations).values({ channel: 'telegram', contactId, externalChatId: `doc-${Date.now()}` }).returning();
    const { invoice } = await makeInvoiceAndContract(a.world.as(petrov), dealId);
    const message = await messageDocuments(a.world.as(petrov), invoice.id, {}, { attachmentsDir: `${a.services.config.DATA_DIR}/attachments` });
    assert.equal(message.conversationId, conv!.id);
    const [out] = await a.world.system.db.select().from(messages).where(eq(messages.id, message.id));
    const sent = (out!.attachments as { name: string }[]).map((f) => f.name);
    assert.ok(sent.some((n) => /^Счёт № \d+/.test(n)) && sent.some((n) => /^Договор № \d+/.test(n)), sent.join());
    assert.ok((await getHistory(a.world.as(petrov), 'deal', dealId)).some((h) => /отправлено клиенту в Telegram/.test(h.title + ' ' + (h.text ?? ''))));
  });
});

describe('the panel', () => {
  test('the deal\'s «Документы» tab makes the invoice and the contract, lists them and downloads the PDF; a deal without a client gets the reason with a link', async () => {
    const dealId = await dealWith([{ name: 'Подоконник', quantity: '4', unit: 'шт', price: '1500', vat: 22 }]);
    const panel = new PanelClient(a.app);
    await panel.signIn(petrov.email);
    const card = await panel.get(`/admin/deals/${dealId}?tab=documents`);
    assert.equal(card.statusCode, 200);
    assert.match(pageText(card.body), /Счёт и договор/);
    const after = await panel.submit(`/admin/deals/${dealId}/invoice`, {});
    const text = pageText(after.body);
    assert.match(text, /Готовы счёт № \d+ и договор № \d+/);
    const link = /href="(\/admin\/documents\/(\d+)\/pdf)"[^>]*>Счёт №/.exec(after.body);
    assert.ok(link, 'the invoice is listed with its PDF');
    const file = await panel.get(link[1]!);
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'application/pdf');
    assert.match(flat(await pdfText(file.rawPayload)), /Подоконник/);

    const noClient = await dealWith([{ name: 'Окно', quantity: '1', unit: 'шт', price: '100', vat: 22 }], { counterpartyId: null, title: 'Без клиента' });
    await a.world.system.db.execute(sql`UPDATE deals SET responsible_id = ${petrov.id} WHERE id = ${noClient}`);
    const refused = await panel.submit(`/admin/deals/${noClient}/invoice`, {});
    assert.match(pageText(refused.body), /нет контрагента/);
    assert.match(refused.body, new RegExp(`href="/admin/deals/${noClient}">Открыть сделку`));

    const stranger2 = new PanelClient(a.app);
    await stranger2.signIn(stranger.email);
    assert.ok([403, 404].includes((await stranger2.get(link[1]!)).statusCode), 'another segment\'s manager cannot download it');
  });

  test('«Шаблоны документов» lists the placeholders and hands out the built-in template; a bad upload is refused with its placeholder named', async () => {
    const panel = new PanelClient(a.app);
    await panel.signIn(admin.email);
    const page = await panel.get('/admin/books/document-templates');
    assert.equal(page.statusCode, 200);
    assert.match(pageText(page.body), /\{\{покупатель\.наименование\}\}/);
    const builtIn = await panel.get('/admin/books/document-templates/contract.docx');
    assert.equal(builtIn.statusCode, 200);
    assert.match(docxText(builtIn.rawPayload), /\{\{номер\}\}/);
    const bad = await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun('{{продавец.неизвестно}}')] })] }] }));
    const res = await panel.postMultipart('/admin/books/document-templates/contract', {}, [{ field: 'template', name: 'bad.docx', type: 'application/octet-stream', data: bad }]);
    assert.equal(res.statusCode, 303);
    const back = await panel.get(res.headers.location as string);
    assert.match(pageText(back.body), /продавец\.неизвестно/);
    assert.match(pageText(back.body), /Сейчас: встроенный шаблон/);
  });
});

async function counter(organizationId: number, kind: 'invoice' | 'contract', year: number): Promise<number> {
  const [row] = await a.world.system.db
    .select({ n: documentCounters.lastNumber })
    .from(documentCounters)
    .where(and(eq(documentCounters.organizationId, organizationId), eq(documentCounters.kind, kind), eq(documentCounters.year, year)));
  return row?.n ?? 0;
}

async function countDocuments(): Promise<number> {
  const [row] = await a.world.system.db.select({ n: sql<number>`count(*)::int` }).from(documents);
  return Number(row!.n);
}
