import { and, desc, eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { notes, users } from '../db/schema/index.js';
import { forbidden, invalid, notFound } from '../errors.js';
import { audit, recordHistory } from '../shared/audit.js';
import { requireUser } from '../access/scope.js';
import { cleanText } from '../validation/text.js';
import { readRecord, type HistoryEntity } from '../history/links.js';
import { getTicket } from '../helpdesk/tickets.js';

/** «Заметка»: a free-text comment on a counterparty, contact, lead, deal or ticket (R23), by its author (R12). */
export type Note = typeof notes.$inferSelect;
export type NoteEntity = HistoryEntity | 'ticket';
/** A note as a card lists it: with its author's name. */
export type NoteView = Note & { authorName: string | null };

export const noteEntities = ['counterparty', 'contact', 'lead', 'deal', 'ticket'] as const satisfies readonly NoteEntity[];
export const NOTE_MAX = 4000;

const entityWord: Record<NoteEntity, string> = { counterparty: 'контрагента', contact: 'контакта', lead: 'лида', deal: 'сделки', ticket: 'обращения' };

function noteText(text: unknown): string {
  const t = typeof text === 'string' ? cleanText(text).trim() : '';
  if (!t) throw invalid({ text: 'напишите заметку' });
  if (t.length > NOTE_MAX) throw invalid({ text: `заметка длиннее ${NOTE_MAX} знаков: сократите её` });
  return t;
}

function noteEntity(entity: unknown): NoteEntity {
  if (!(noteEntities as readonly unknown[]).includes(entity)) throw invalid({ entity: 'заметку можно оставить у контрагента, контакта, лида, сделки или обращения' });
  return entity as NoteEntity;
}

const isRecordId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** The record read through its getX verb (access rules, a merged-away id resolved); a ticket by getTicket. */
const readNoted = async (ctx: ServiceContext, entity: NoteEntity, id: number): Promise<number> =>
  entity === 'ticket' ? (await getTicket(ctx, id)).id : readRecord(ctx, entity, id);

/** A short quote of a note for a history line. */
const quote = (t: string) => `«${t.length > 200 ? `${t.slice(0, 199)}…` : t}»`;

/**
 * Adds a note to a record the actor can see (read through its getX verb: a manager cannot note
 * another segment's client). The author is the acting user.
 */
export async function addNote(ctx: ServiceContext, entity: NoteEntity, id: number, text: string): Promise<Note> {
  const user = requireUser(ctx);
  const kind = noteEntity(entity);
  if (!isRecordId(id)) throw notFound('Запись');
  const recordId = await readNoted(ctx, kind, id);
  const clean = noteText(text);
  const [note] = await ctx.db
    .insert(notes)
    .values({ entityType: kind, entityId: recordId, text: clean, authorUserId: user.userId, createdAt: ctx.clock.now() })
    .returning();
  await audit(ctx, 'note_add', kind, recordId, { note: { from: null, to: { id: note!.id, text: clean } } });
  return note!;
}

/** The record's own notes, newest first, with their authors. */
export async function listNotes(ctx: ServiceContext, entity: NoteEntity, id: number): Promise<NoteView[]> {
  const kind = noteEntity(entity);
  if (!isRecordId(id)) throw notFound('Запись');
  const recordId = await readNoted(ctx, kind, id);
  const rows = await ctx.db
    .select({ note: notes, authorName: users.name })
    .from(notes)
    .leftJoin(users, eq(users.id, notes.authorUserId))
    .where(and(eq(notes.entityType, kind), eq(notes.entityId, recordId)))
    .orderBy(desc(notes.createdAt), desc(notes.id));
  return rows.map((r) => ({ ...r.note, authorName: r.authorName }));
}

/**
 * A note the actor may change: its record must still be visible to them, and they must be its
 * author, or the head or an admin.
 */
async function ownNote(ctx: ServiceContext, noteId: number): Promise<Note> {
  const user = requireUser(ctx);
  const [note] = isRecordId(noteId) ? await ctx.db.select().from(notes).where(eq(notes.id, noteId)) : [];
  if (!note) throw notFound('Заметка');
  await readNoted(ctx, note.entityType as NoteEntity, note.entityId);
  if (note.authorUserId !== user.userId && user.role === 'manager') throw forbidden('Изменить или удалить заметку может только её автор');
  return note;
}

export async function updateNote(ctx: ServiceContext, noteId: number, text: string): Promise<Note> {
  const note = await ownNote(ctx, noteId);
  const clean = noteText(text);
  if (clean === note.text) return note;
  const [after] = await ctx.db.update(notes).set({ text: clean, updatedAt: ctx.clock.now() }).where(eq(notes.id, note.id)).returning();
  const kind = note.entityType as NoteEntity;
  await audit(ctx, 'note_edit', kind, note.entityId, { note: { from: { id: note.id, text: note.text }, to: { id: note.id, text: clean } } });
  await recordHistory(ctx, kind, note.entityId, 'note_edited', `Заметка ${entityWord[kind]} изменена: ${quote(note.text)} → ${quote(clean)}`, { noteId: note.id });
  return after!;
}

export async function deleteNote(ctx: ServiceContext, noteId: number): Promise<void> {
  const note = await ownNote(ctx, noteId);
  await ctx.db.delete(notes).where(eq(notes.id, note.id));
  const kind = note.entityType as NoteEntity;
  await audit(ctx, 'note_delete', kind, note.entityId, { note: { from: { id: note.id, text: note.text }, to: null } });
  await recordHistory(ctx, kind, note.entityId, 'note_deleted', `Заметка ${entityWord[kind]} удалена: ${quote(note.text)}`, { noteId: note.id });
}
