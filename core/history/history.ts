import { sql, type SQL } from 'drizzle-orm';
import { callStatusLabels } from '../telephony/labels.js';
import { formatPhone } from '../validation/phone.js';
import type { ServiceContext } from '../context.js';
import { recordLinks, type TimelineEntity } from './links.js';
import { channelLabel, type AttachmentKind } from '../channels/types.js';
import { kindOfStored } from '../channels/attachments.js';
import { messageChanges, type MessageChange } from './marks.js';

export type { HistoryEntity, TimelineEntity } from './links.js';

export interface HistoryItem {
  at: Date;
  kind: 'event' | 'work' | 'message' | 'call' | 'email' | 'note';
  id: number;
  title: string;
  text: string | null;
  /** who did it: the author of a note or message, who completed a work, the user who sent a letter */
  actor: string | null;
  /** files of a message or letter, in their stored order (opened by index) */
  files: { name: string; size: number; mime: string; kind: AttachmentKind }[];
  /** a messenger message's side (null for everything else): who a deletion mark names */
  direction: 'in' | 'out' | null;
  /** a message changed or deleted in the chat after it was stored (Telegram Business): its text is what it says now */
  editedAt: Date | null;
  deletedAt: Date | null;
  /** those two as the screens word them («изменено», «удалено клиентом» / «удалено менеджером»), with when */
  changes: MessageChange[];
}

/** A CASE turning a code column into its Russian label (labels are constants of ours, never input). */
function labelCase(column: string, labels: Record<string, string>): SQL {
  const whens = Object.entries(labels).map(([code, label]) => `WHEN '${code.replaceAll("'", "''")}' THEN '${label.replaceAll("'", "''")}'`);
  return sql.raw(`(CASE ${column}::text ${whens.join(' ')} ELSE ${column}::text END)`);
}

/**
 * R12: one timeline per record: its own events, and the works, messenger messages, calls,
 * e-mails and notes that belong to it, newest first. Reading it needs access to the record.
 */
export async function getHistory(ctx: ServiceContext, entity: TimelineEntity, id: number, opts: { limit?: number; before?: Date } = {}): Promise<HistoryItem[]> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const parts: SQL[] = [];
  const events = (type: string, ids: SQL) =>
    sql`SELECT e.at, 'event' AS kind, e.id::int AS id, e.summary AS title, NULL::text AS text, e.actor_label AS actor, '[]'::jsonb AS files, NULL::text AS direction, NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at
        FROM history_events e WHERE e.entity_type = ${type} AND e.entity_id IN ${ids}`;
  // a done or cancelled work names who pressed the button (it still counts for the responsible,
  // who is named beside the comment when it was someone else)
  const worksWhere = (cond: SQL) =>
    sql`SELECT coalesce(w.completed_at, w.created_at) AS at, 'work' AS kind, w.id,
          a.name || CASE w.status WHEN 'done' THEN ' — выполнено: ' || coalesce(r.name, '') WHEN 'cancelled' THEN ' — отменено' || coalesce(': ' || nullif(w.cancel_reason, ''), '') ELSE ' — запланировано' END AS title,
          nullif(concat_ws(' · ', coalesce(w.result_comment, w.comment), CASE WHEN w.completed_by IS NOT NULL AND w.completed_by <> w.responsible_id THEN 'ответственный: ' || u.name END), '') AS text,
          coalesce(cb.name, u.name) AS actor, '[]'::jsonb AS files, NULL::text AS direction, NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at
        FROM works w JOIN actions a ON a.id = w.action_id LEFT JOIN results r ON r.id = w.actual_result_id
          LEFT JOIN users u ON u.id = w.responsible_id LEFT JOIN users cb ON cb.id = w.completed_by
        WHERE ${cond}`;
  const messagesWhere = (cond: SQL) =>
    sql`SELECT m.at, 'message' AS kind, m.id::int AS id, CASE m.direction WHEN 'in' THEN 'Сообщение от клиента (' ELSE 'Сообщение клиенту (' END || ${labelCase('m.channel', channelLabel)} || ')' AS title,
          m.text, u.name AS actor, m.attachments AS files, m.direction::text AS direction, m.edited_at, m.deleted_at
        FROM messages m JOIN conversations cv ON cv.id = m.conversation_id LEFT JOIN users u ON u.id = m.author_user_id
        WHERE ${cond}`;
  // the client's number and the line it came to or went from; the result with the talk time (м:сс)
  const callsWhere = (cond: SQL) =>
    sql`SELECT c.at, 'call' AS kind, c.id,
          CASE c.direction WHEN 'in' THEN 'Входящий звонок с ' || coalesce(c.client_number, c.from_number) ELSE 'Исходящий звонок на ' || coalesce(c.client_number, c.to_number) END
            || coalesce(' (линия «' || pl.name || '»)', '') AS title,
          ${labelCase('c.status', callStatusLabels)} || CASE WHEN c.duration_sec > 0 THEN ', ' || (c.duration_sec / 60) || ':' || lpad((c.duration_sec % 60)::text, 2, '0') ELSE '' END AS text,
          u.name AS actor, '[]'::jsonb AS files, NULL::text AS direction, NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at
        FROM calls c LEFT JOIN users u ON u.id = c.user_id LEFT JOIN phone_lines pl ON pl.id = c.line_id WHERE ${cond}`;
  // a letter sent is by the user who wrote it; the mailbox address is no person (an imported or
  // system letter without an author keeps the address)
  const emailsWhere = (cond: SQL) =>
    sql`SELECT em.at, 'email' AS kind, em.id::int AS id, CASE em.direction WHEN 'incoming' THEN 'Входящее: ' ELSE 'Исходящее: ' END || em.subject AS title,
          left(em.body_text, 500) AS text, CASE em.direction WHEN 'outgoing' THEN coalesce(eu.name, em.from_address) ELSE em.from_address END AS actor, em.attachments AS files, NULL::text AS direction, NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at
        FROM emails em LEFT JOIN users eu ON eu.id = em.author_user_id WHERE ${cond}`;
  // a note rolled up from another record says which one
  const notesWhere = (cond: SQL, recordId: number) =>
    sql`SELECT n.created_at AS at, 'note' AS kind, n.id, CASE WHEN n.entity_type = ${entity}::entity_type AND n.entity_id = ${recordId} THEN 'Заметка' ELSE 'Заметка (' || CASE n.entity_type WHEN 'counterparty' THEN 'контрагент' WHEN 'contact' THEN 'контакт' WHEN 'lead' THEN 'лид' ELSE 'сделка' END || ' №' || n.entity_id || ')' END AS title,
          n.text, nu.name AS actor, '[]'::jsonb AS files, NULL::text AS direction, NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at
        FROM notes n LEFT JOIN users nu ON nu.id = n.author_user_id WHERE ${cond}`;

  const links = await recordLinks(ctx, entity, id);
  parts.push(events(entity, sql`(${links.id})`), worksWhere(links.works), callsWhere(links.calls), emailsWhere(links.emails), notesWhere(links.notes, links.id));
  if (links.messages) parts.push(messagesWhere(links.messages));
  const before = opts.before ? sql`WHERE h.at < ${opts.before.toISOString()}::timestamptz` : sql``;
  const rows = await ctx.db.execute(
    sql`SELECT * FROM (${sql.join(parts, sql` UNION ALL `)}) h ${before} ORDER BY h.at DESC, h.kind, h.id DESC LIMIT ${limit}`,
  );
  const list = (Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows) as Record<string, unknown>[];
  return list.map((r) => {
    const direction = r.direction === 'in' || r.direction === 'out' ? r.direction : null;
    const editedAt = r.edited_at ? new Date(r.edited_at as string) : null;
    const deletedAt = r.deleted_at ? new Date(r.deleted_at as string) : null;
    return {
      at: new Date(r.at as string),
      kind: r.kind as HistoryItem['kind'],
      id: Number(r.id),
      // a call names the client's number as people write it
      title: r.kind === 'call' ? String(r.title ?? '').replace(/\+\d{10,15}/g, (n) => formatPhone(n)) : String(r.title ?? ''),
      text: (r.text as string | null) ?? null,
      actor: (r.actor as string | null) ?? null,
      files: ((typeof r.files === 'string' ? JSON.parse(r.files) : (r.files ?? [])) as { name?: string; size?: number; mime?: string; kind?: AttachmentKind }[]).map((f) => {
        const mime = String(f.mime ?? 'application/octet-stream');
        return { name: String(f.name ?? 'file'), size: Number(f.size ?? 0), mime, kind: kindOfStored({ mime, kind: f.kind }) };
      }),
      direction,
      editedAt,
      deletedAt,
      changes: messageChanges({ direction, editedAt, deletedAt }),
    };
  });
}
