import type { ImapFlow } from 'imapflow';

const SENT_NAMES = /^(?:inbox[./])?(?:sent|sent items|sent messages|sent mail|отправленные|отправленные письма)$/i;

/** The folder where a mailbox keeps what it sent: the one marked \Sent, else a well-known name. */
export async function findSentFolder(client: ImapFlow): Promise<string | null> {
  const list = await client.list();
  const selectable = list.filter((m) => !m.flags?.has('\\Noselect') && !m.flags?.has('\\NonExistent'));
  return (selectable.find((m) => m.specialUse === '\\Sent') ?? selectable.find((m) => SENT_NAMES.test(m.path)))?.path ?? null;
}
