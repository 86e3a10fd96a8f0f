import { desc, eq, inArray, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { contacts, conversations, documents } from '../db/schema/index.js';
import { invalid, needsFix } from '../errors.js';
import { getDeal, type Deal } from '../deals/deals.js';
import { lockDeal } from '../deals/lock.js';
import { composeEmail } from '../mail/compose.js';
import type { Email } from '../mail/emails.js';
import { replyInConversation, type Message } from '../conversations/conversations.js';
import { recordHistory } from '../shared/audit.js';
import { idField } from '../shared/fields.js';
import { parseInput } from '../shared/input.js';
import { channelLabel } from '../channels/types.js';
import { documentWithPair, filesOf } from './documents.js';
import type { DocumentRow } from './make.js';
import { moveOnDocumentEvent } from './stage-moves.js';

type Titled = DocumentRow & { title: string };

/** «Счёт № 5 от 02.12.2026 и Договор № 5 от 02.12.2026» */
const titlesOf = (docs: Titled[]) => docs.map((d) => d.title).join(' и ');

/** What sending tells the stage book: an invoice (with or without its contract) or a КП went to the client. */
const sentEvent = (docs: Titled[]) => (docs.some((d) => d.kind === 'invoice') ? 'invoice_sent' : 'proposal_sent');

async function markSent(tx: ServiceContext, deal: Deal, docs: Titled[], how: string): Promise<void> {
  await tx.db
    .update(documents)
    .set({ sentAt: tx.clock.now() })
    .where(inArray(documents.id, docs.map((d) => d.id)));
  await recordHistory(tx, 'deal', deal.id, 'documents_sent', `${titlesOf(docs)}: отправлено клиенту ${how}`, { documentIds: docs.map((d) => d.id) });
  await moveOnDocumentEvent(tx, deal, sentEvent(docs));
}

export const emailDocumentsInput = z.object({
  mailboxId: idField.nullish(),
  /** the client's address; the deal's contact's (or counterparty's) when empty */
  to: z.string().trim().max(1000).optional(),
  subject: z.string().trim().max(500).optional(),
  body: z.string().trim().max(200_000).optional(),
});

/**
 * Sends a document (an invoice goes with its contract) to the client by e-mail from the deal: the
 * letter is stored on the deal like any other and sent by the mail job; its files are the PDFs (and
 * the DOCX of a contract or КП, for the client's lawyer).
 */
export async function emailDocuments(
  ctx: ServiceContext,
  documentId: number,
  input: z.input<typeof emailDocumentsInput>,
  env: { dataDir: string },
): Promise<Email> {
  const data = parseInput(emailDocumentsInput, input);
  return inTransaction(ctx, async (tx) => {
    const docs = await documentWithPair(tx, documentId);
    const deal = await lockDeal(tx, docs[0]!.dealId);
    const files = await filesOf(tx, docs);
    const letter = await composeEmail(
      tx,
      {
        dealId: deal.id,
        mailboxId: data.mailboxId ?? null,
        to: data.to ?? '',
        subject: data.subject || `${titlesOf(docs)} — ${deal.title}`,
        body: data.body || defaultLetter(docs),
      },
      { files: files.map((f) => ({ name: f.name, mime: f.mime, content: f.data })), env },
    );
    await markSent(tx, deal, docs, `по e-mail (${letter.toAddresses.join(', ')})`);
    return letter;
  });
}

function defaultLetter(docs: Titled[]): string {
  const what = docs.some((d) => d.kind === 'proposal') ? 'коммерческое предложение' : docs.length > 1 ? 'счёт на оплату и договор' : 'документ';
  return `Здравствуйте!\n\nНаправляем ${what}: ${titlesOf(docs)}. Файлы во вложении.\n\nС уважением.`;
}

/** The client's messenger conversations a document can go to: those of the deal's contact, then of the counterparty's contacts. */
export async function clientConversations(ctx: ServiceContext, dealId: number) {
  const deal = await getDeal(ctx, dealId);
  const who = [
    deal.contactId ? eq(conversations.contactId, deal.contactId) : undefined,
    deal.counterpartyId ? sql`${conversations.contactId} IN (SELECT id FROM contacts WHERE counterparty_id = ${deal.counterpartyId})` : undefined,
  ].filter(Boolean);
  if (!who.length) return [];
  const rows = await ctx.db
    .select({ id: conversations.id, channel: conversations.channel, contactId: conversations.contactId, contactName: contacts.name, lastMessageAt: conversations.lastMessageAt })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(or(...who))
    .orderBy(sql`${conversations.contactId} = ${deal.contactId ?? 0} DESC`, desc(conversations.lastMessageAt), desc(conversations.id))
    .limit(20);
  return rows.map((r) => ({ ...r, label: `${r.contactName}, ${channelLabel[r.channel]}` }));
}

/**
 * Sends a document into the client's messenger conversation (the newest of the deal's contact when
 * none is chosen): a message from the manager with the files, sent by the channel's job; a channel
 * that cannot carry files tells the author, as any reply does.
 */
export async function messageDocuments(
  ctx: ServiceContext,
  documentId: number,
  opts: { conversationId?: number | null; text?: string },
  env: { attachmentsDir: string },
): Promise<Message> {
  return inTransaction(ctx, async (tx) => {
    const docs = await documentWithPair(tx, documentId);
    const deal = await lockDeal(tx, docs[0]!.dealId);
    const options = await clientConversations(tx, deal.id);
    const conversationId = opts.conversationId ?? options[0]?.id;
    if (!conversationId) {
      throw needsFix({ entity: 'deal', id: deal.id }, { conversationId: 'у клиента этой сделки нет переписки в мессенджерах: отправьте документы по e-mail' });
    }
    const chosen = options.find((o) => o.id === conversationId);
    if (!chosen) throw invalid({ conversationId: 'эта переписка не с клиентом сделки' });
    const files = await filesOf(tx, docs);
    const message = await replyInConversation(tx, conversationId, opts.text?.trim() || titlesOf(docs), {
      files: files.filter((f) => f.mime === 'application/pdf').map((f) => ({ name: f.name, mime: f.mime, data: f.data })),
      attachmentsDir: env.attachmentsDir,
    });
    await markSent(tx, deal, docs, `в ${channelLabel[chosen.channel]}`);
    return message;
  });
}
