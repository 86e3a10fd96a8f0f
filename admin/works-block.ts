import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../core/context.js';
import { listWorks } from '../core/works/works.js';

/** The record a works block belongs to: exactly one is set. */
export type WorkLink = { leadId?: number; dealId?: number; contactId?: number; counterpartyId?: number };

/**
 * The data of the «Работы» block on a record's card: its works and the form that plans one more on
 * the same record. Rendered by partials/works-block.eta; `back` is where its forms return.
 * (Groundwork: the full block is built by the works part of the selling day.)
 */
export async function worksBlock(ctx: ServiceContext, _req: FastifyRequest, link: WorkLink, back: string) {
  const items = await listWorks(ctx, link, { limit: 200 });
  return { items, link, back };
}
