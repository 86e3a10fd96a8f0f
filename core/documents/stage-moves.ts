import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { dealStages } from '../db/schema/index.js';
import { setDealStage, type Deal } from '../deals/deals.js';

export type DocumentEvent = 'proposal_made' | 'proposal_sent' | 'invoice_made' | 'invoice_sent';

export const documentEventLabels: Record<DocumentEvent, string> = {
  proposal_made: 'КП сделано',
  proposal_sent: 'КП отправлено клиенту',
  invoice_made: 'Счёт выставлен',
  invoice_sent: 'Счёт отправлен клиенту',
};

/**
 * The stage book says which stage a document event moves a deal to («КП отправлено», «Счёт
 * выставлен»). Only forward, and only an open deal: a deal already further on or closed stays put.
 */
export async function moveOnDocumentEvent(tx: ServiceContext, deal: Deal, event: DocumentEvent): Promise<void> {
  const [target] = await tx.db.select().from(dealStages).where(eq(dealStages.enterOn, event));
  if (!target || target.isWon || target.isLost || deal.closedAt || target.id === deal.stageId) return;
  const [current] = await tx.db.select().from(dealStages).where(eq(dealStages.id, deal.stageId));
  if (current && (current.isWon || current.isLost || current.sortOrder >= target.sortOrder)) return;
  await setDealStage(tx, deal.id, target.id);
}
