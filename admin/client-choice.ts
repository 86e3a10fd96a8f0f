import type { ServiceContext } from '../core/context.js';
import { isServiceError } from '../core/errors.js';
import { getCounterparty, type Counterparty } from '../core/counterparties/counterparties.js';
import { getContact, listContacts, type Contact } from '../core/contacts/contacts.js';

/**
 * A linked record the actor may see, or null: a card still shows a deal or a ticket when its client is
 * out of the actor's reach, and a form says so instead of failing. Other errors are real and thrown.
 */
export async function visible<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (e) {
    if (isServiceError(e) && (e.code === 'forbidden' || e.code === 'not_found')) return null;
    throw e;
  }
}

/**
 * The client a deal or ticket form offers: the counterparty (given, or the contact's) and its contacts,
 * with the given contact kept in the list even when it belongs to no company; `error` names what is out of reach.
 */
export async function clientChoice(ctx: ServiceContext, counterpartyId: number | null, contactId: number | null) {
  let error = '';
  let contact: Contact | null = null;
  if (contactId) {
    contact = await visible(() => getContact(ctx, contactId));
    if (!contact) error = `Контакт №${contactId} не найден или вам недоступен`;
  }
  const cpId = counterpartyId ?? contact?.counterpartyId ?? null;
  let counterparty: Counterparty | null = null;
  if (cpId) {
    counterparty = await visible(() => getCounterparty(ctx, cpId));
    if (!counterparty) error = `Контрагент №${cpId} не найден или вам недоступен`;
  }
  const contacts = counterparty ? (await listContacts(ctx, { counterpartyId: counterparty.id }, { limit: 200 })).items : [];
  if (contact && !contacts.some((c) => c.id === contact.id)) contacts.unshift(contact);
  return { counterparty, contact, contacts, error };
}
