import { and, desc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { deals, documentFiles, documents, organizations } from '../db/schema/index.js';
import { dealScope } from '../access/scope.js';
import { notFound } from '../errors.js';
import { getDeal } from '../deals/deals.js';
import { readRecord, type HistoryEntity } from '../history/links.js';
import { documentTitle, type DocumentRow } from './make.js';

export interface MadeDocument extends DocumentRow {
  title: string;
  organizationName: string;
  formats: ('pdf' | 'docx')[];
}

/**
 * Which documents belong to a record: a deal's own, a counterparty's (its deals'), a contact's and a
 * lead's deals' — only of deals the actor sees (R3): a contact's other-segment deals stay hidden.
 */
function documentsOf(ctx: ServiceContext, entity: HistoryEntity, id: number): SQL {
  const scope = dealScope(ctx);
  const own = ownDocuments(entity, id);
  return scope ? and(own, sql`${documents.dealId} IN (SELECT ${deals.id} FROM ${deals} WHERE ${scope})`)! : own;
}

function ownDocuments(entity: HistoryEntity, id: number): SQL {
  const dealsWhere = (col: SQL) => sql`${documents.dealId} IN (SELECT d.id FROM deals d WHERE ${col} = ${id})`;
  if (entity === 'deal') return eq(documents.dealId, id);
  if (entity === 'counterparty') return or(eq(documents.counterpartyId, id), dealsWhere(sql`d.counterparty_id`))!;
  if (entity === 'contact') return dealsWhere(sql`d.contact_id`);
  return dealsWhere(sql`d.lead_id`);
}

/** The «Документы» tab's made documents, newest first; reading them needs access to the record. */
export async function listMadeDocuments(ctx: ServiceContext, entity: HistoryEntity, id: number): Promise<MadeDocument[]> {
  const recordId = await readRecord(ctx, entity, id);
  const rows = await ctx.db
    .select({ d: documents, organizationName: sql<string>`coalesce(${organizations.shortName}, ${organizations.name})` })
    .from(documents)
    .innerJoin(organizations, eq(organizations.id, documents.organizationId))
    .where(documentsOf(ctx, entity, recordId))
    .orderBy(desc(documents.createdAt), desc(documents.id))
    .limit(500);
  const files = rows.length
    ? await ctx.db
        .select({ documentId: documentFiles.documentId, format: documentFiles.format })
        .from(documentFiles)
        .where(inArray(documentFiles.documentId, rows.map((r) => r.d.id)))
    : [];
  return rows.map((r) => ({
    ...r.d,
    title: documentTitle(r.d),
    organizationName: r.organizationName,
    formats: files.filter((f) => f.documentId === r.d.id).map((f) => f.format).sort() as ('pdf' | 'docx')[],
  }));
}

/** One document, if its deal is visible to the actor (not_found / forbidden as the deal). */
export async function getDocument(ctx: ServiceContext, id: number): Promise<DocumentRow & { title: string }> {
  const [doc] = await ctx.db.select().from(documents).where(eq(documents.id, id));
  if (!doc) throw notFound('Документ');
  await getDeal(ctx, doc.dealId);
  return { ...doc, title: documentTitle(doc) };
}

/** A document's PDF or DOCX for download or sending. */
export async function readDocumentFile(ctx: ServiceContext, id: number, format: 'pdf' | 'docx'): Promise<{ fileName: string; mime: string; data: Buffer }> {
  await getDocument(ctx, id);
  const [file] = await ctx.db
    .select()
    .from(documentFiles)
    .where(and(eq(documentFiles.documentId, id), eq(documentFiles.format, format)));
  if (!file) throw notFound('Файл документа');
  return { fileName: file.fileName, mime: mimeOf[format], data: file.data };
}

export const mimeOf = { pdf: 'application/pdf', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' } as const;

/** The document and the one made with it (an invoice's contract), for showing and sending together. */
export async function documentWithPair(ctx: ServiceContext, id: number): Promise<(DocumentRow & { title: string })[]> {
  const doc = await getDocument(ctx, id);
  if (!doc.pairedId) return [doc];
  const pair = await getDocument(ctx, doc.pairedId);
  return doc.kind === 'invoice' ? [doc, pair] : [pair, doc];
}

/** Every file of the documents, PDF first, for a letter or a messenger message. */
export async function filesOf(ctx: ServiceContext, docs: DocumentRow[]): Promise<{ name: string; mime: string; data: Buffer }[]> {
  if (!docs.length) return [];
  const rows = await ctx.db
    .select()
    .from(documentFiles)
    .where(inArray(documentFiles.documentId, docs.map((d) => d.id)));
  const order = new Map(docs.map((d, i) => [d.id, i]));
  return rows
    .sort((a, b) => order.get(a.documentId)! - order.get(b.documentId)! || Number(a.format !== 'pdf') - Number(b.format !== 'pdf'))
    .map((f) => ({ name: f.fileName, mime: mimeOf[f.format], data: f.data }));
}
