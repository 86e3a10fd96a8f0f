import { Composer, InlineKeyboard, InputFile } from 'grammy';
import type { BotContext } from '../context.js';
import { money } from '../format.js';
import { documentTitle, makeInvoiceAndContract, makeProposal, type DocumentRow } from '../../../core/documents/make.js';
import { documentWithPair, readDocumentFile } from '../../../core/documents/documents.js';
import { clientConversations, emailDocuments, messageDocuments } from '../../../core/documents/send.js';
import { attachmentsDirFor } from '../../../core/channels/attachments.js';
import { getDeal, type Deal } from '../../../core/deals/deals.js';
import { getContact } from '../../../core/contacts/contacts.js';
import { getCounterparty } from '../../../core/counterparties/counterparties.js';
import { isServiceError } from '../../../core/errors.js';
import { fixHint } from '../fix-link.js';

export interface DealDocumentsDeps {
  dataDir: string;
  /** the panel's address, for «Заполните в панели: …» under an error that says where to fix it */
  publicUrl?: string | undefined;
}

const sendButton = (doc: DocumentRow, label = 'Отправить клиенту') => new InlineKeyboard().text(label, `ddoc:send:${doc.id}`);

/** The document's file as a Telegram document, named as it is stored («Счёт № 1 от 02.12.2026.pdf»). */
async function sendFile(ctx: BotContext, doc: DocumentRow, format: 'pdf' | 'docx', caption: string, keyboard?: InlineKeyboard) {
  const file = await readDocumentFile(ctx.crm, doc.id, format);
  await ctx.replyWithDocument(new InputFile(file.data, file.fileName), { caption, ...(keyboard ? { reply_markup: keyboard } : {}) });
}

/** A DOCX is there for a lawyer's edits; a document rendered without one simply has none. */
async function sendDocxIfAny(ctx: BotContext, doc: DocumentRow, caption: string) {
  await sendFile(ctx, doc, 'docx', caption).catch((e) => {
    if (!(isServiceError(e) && e.code === 'not_found')) throw e;
  });
}

/** The address a letter to the deal's client goes to: the contact's, else the counterparty's (as composing a letter picks it). */
async function clientEmail(ctx: BotContext, deal: Deal): Promise<string | null> {
  const contact = deal.contactId ? await getContact(ctx.crm, deal.contactId).catch(() => null) : null;
  if (contact?.emails[0]) return contact.emails[0];
  const cp = deal.counterpartyId ? await getCounterparty(ctx.crm, deal.counterpartyId).catch(() => null) : null;
  return cp?.emails[0] ?? null;
}

/**
 * R21/R22 from Telegram: the deal card's «КП» and «Счёт и договор» make the documents in core (as
 * the manager, so core's access rules apply) and hand the files to the manager; «Отправить клиенту»
 * sends them into one of the client's messenger conversations or by e-mail.
 */
export function dealDocuments(deps: DealDocumentsDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const attachmentsDir = attachmentsDirFor(deps.dataDir);

  composer.callbackQuery(/^ddoc:cp:(\d+)$/, async (ctx) => {
    // rendering takes a moment: the button stops spinning at once
    await ctx.answerCallbackQuery('Готовлю КП…');
    const doc = await makeProposal(ctx.crm, Number(ctx.match[1]));
    const deal = await getDeal(ctx.crm, doc.dealId);
    const title = documentTitle(doc);
    await sendFile(ctx, doc, 'pdf', `${title} на ${money(doc.totalKopecks)}\nСделка №${deal.id} «${deal.title.slice(0, 200)}»`, sendButton(doc));
    await sendDocxIfAny(ctx, doc, `${title}: DOCX для правок`);
  });

  composer.callbackQuery(/^ddoc:inv:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery('Готовлю счёт и договор…');
    const { invoice, contract } = await makeInvoiceAndContract(ctx.crm, Number(ctx.match[1]));
    const deal = await getDeal(ctx.crm, invoice.dealId);
    const invoiceTitle = documentTitle(invoice);
    const contractTitle = documentTitle(contract);
    await sendFile(
      ctx,
      invoice,
      'pdf',
      `${invoiceTitle} на ${money(invoice.totalKopecks)} к договору № ${contract.number}\nСделка №${deal.id} «${deal.title.slice(0, 200)}»`,
      sendButton(invoice, 'Отправить клиенту счёт и договор'),
    );
    await sendFile(ctx, contract, 'pdf', contractTitle);
    await sendDocxIfAny(ctx, contract, `${contractTitle}: DOCX для правок`);
  });

  composer.callbackQuery(/^ddoc:send:(\d+)$/, async (ctx) => {
    const docs = await documentWithPair(ctx.crm, Number(ctx.match[1]));
    const doc = docs[0]!;
    const deal = await getDeal(ctx.crm, doc.dealId);
    const [conversations, email] = await Promise.all([clientConversations(ctx.crm, deal.id), clientEmail(ctx, deal)]);
    await ctx.answerCallbackQuery();
    const what = docs.map((d) => d.title).join(' и ');
    if (!conversations.length && !email) {
      const fix = fixHint({ entity: 'deal', id: deal.id }, deps.publicUrl);
      return void (await ctx.reply(`Некуда отправить «${what}»: у клиента сделки №${deal.id} нет ни переписки в мессенджерах, ни e-mail. Добавьте e-mail контакту или контрагенту.${fix}`));
    }
    const kb = new InlineKeyboard();
    for (const c of conversations) kb.text(c.label, `ddoc:msg:${doc.id}:${c.id}`).row();
    if (email) kb.text(`По e-mail: ${email}`, `ddoc:mail:${doc.id}`).row();
    await ctx.reply(`Куда отправить клиенту «${what}»?`, { reply_markup: kb });
  });

  composer.callbackQuery(/^ddoc:msg:(\d+):(\d+)$/, async (ctx) => {
    const docId = Number(ctx.match[1]);
    const conversationId = Number(ctx.match[2]);
    const docs = await documentWithPair(ctx.crm, docId);
    const options = await clientConversations(ctx.crm, docs[0]!.dealId);
    await messageDocuments(ctx.crm, docId, { conversationId }, { attachmentsDir });
    await ctx.answerCallbackQuery('Отправлено');
    const to = options.find((o) => o.id === conversationId)?.label ?? 'в мессенджер';
    await ctx.reply(`Отправлено клиенту: ${docs.map((d) => d.title).join(' и ')} → ${to}. Если сообщение не дойдёт, я сообщу.`);
  });

  composer.callbackQuery(/^ddoc:mail:(\d+)$/, async (ctx) => {
    const docId = Number(ctx.match[1]);
    const docs = await documentWithPair(ctx.crm, docId);
    // no address given: core writes to the deal's client, as the offer named it
    const letter = await emailDocuments(ctx.crm, docId, {}, { dataDir: deps.dataDir });
    await ctx.answerCallbackQuery('Отправлено');
    await ctx.reply(`Отправлено клиенту: ${docs.map((d) => d.title).join(' и ')} → по e-mail на ${letter.toAddresses.join(', ')}. Если письмо не уйдёт, я сообщу.`);
  });

  return composer;
}
