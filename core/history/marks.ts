/** The words of a change the chat made to a message after the CRM stored it (Telegram Business edits and deletions). */
export const messageChangeLabels = {
  edited: 'изменено',
  // whoever deleted it in the chat: the client's own message, or the manager's from their Telegram
  deleted: { in: 'удалено клиентом', out: 'удалено менеджером' },
} as const;

export interface MessageChange {
  kind: 'edited' | 'deleted';
  label: string;
  at: Date;
}

/**
 * The marks a message carries on every screen that shows it (the panel's cards and history, the
 * bot's chats): «изменено» when its text was changed, «удалено клиентом» / «удалено менеджером»
 * by the side that wrote it when it was deleted. None for a message nobody touched.
 */
export function messageChanges(m: { direction: 'in' | 'out' | null; editedAt?: Date | null; deletedAt?: Date | null }): MessageChange[] {
  const marks: MessageChange[] = [];
  if (m.editedAt) marks.push({ kind: 'edited', label: messageChangeLabels.edited, at: m.editedAt });
  if (m.deletedAt) marks.push({ kind: 'deleted', label: messageChangeLabels.deleted[m.direction === 'out' ? 'out' : 'in'], at: m.deletedAt });
  return marks;
}
