import { sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { recordLinks, type HistoryEntity } from './links.js';

/** A file exchanged with the client: an attachment of a messenger message or of a letter. */
export interface ClientDocument {
  at: Date;
  /** where it came with: open it through that record (`/messages/:id/attachments/:n` or the letter's) */
  source: 'message' | 'email';
  sourceId: number;
  /** its position among the record's attachments */
  index: number;
  name: string;
  mime: string;
  size: number;
  direction: 'in' | 'out';
  /** the channel, or the letter's subject */
  about: string;
}

/**
 * The «Документы» tab: every file the client and the company exchanged, newest first, from the
 * messages and letters of the record (for a counterparty: of its contacts too). Reading it needs
 * access to the record, as the history does.
 */
export async function listDocuments(ctx: ServiceContext, entity: HistoryEntity, id: number, opts: { limit?: number } = {}): Promise<ClientDocument[]> {
  const limit = Math.min(Math.max(opts.limit ?? 200, 1), 1000);
  const links = await recordLinks(ctx, entity, id);
  const r = await ctx.db.execute(sql`
    SELECT * FROM (
      SELECT m.at, 'message' AS source, m.id::int AS source_id, (f.n - 1)::int AS idx, f.a AS file, m.direction::text AS direction, m.channel::text AS about
      FROM messages m JOIN conversations cv ON cv.id = m.conversation_id, jsonb_array_elements(m.attachments) WITH ORDINALITY AS f(a, n)
      WHERE jsonb_array_length(m.attachments) > 0 AND (${links.messages ?? sql`false`})
      UNION ALL
      SELECT em.at, 'email', em.id::int, (f.n - 1)::int, f.a, CASE em.direction WHEN 'incoming' THEN 'in' ELSE 'out' END, em.subject
      FROM emails em, jsonb_array_elements(em.attachments) WITH ORDINALITY AS f(a, n)
      WHERE jsonb_array_length(em.attachments) > 0 AND (${links.emails})
    ) d ORDER BY d.at DESC, d.source_id DESC, d.idx LIMIT ${limit}`);
  const rows = (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as Record<string, unknown>[];
  return rows.map((x) => {
    const file = (typeof x.file === 'string' ? JSON.parse(x.file) : x.file) as { name?: string; mime?: string; size?: number };
    return {
      at: new Date(x.at as string),
      source: x.source as ClientDocument['source'],
      sourceId: Number(x.source_id),
      index: Number(x.idx),
      name: String(file.name ?? 'file'),
      mime: String(file.mime ?? 'application/octet-stream'),
      size: Number(file.size ?? 0),
      direction: x.direction === 'in' ? 'in' : 'out',
      about: String(x.about ?? ''),
    };
  });
}
