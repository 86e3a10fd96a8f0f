import { sql } from 'drizzle-orm';
import { index, jsonb, integer, pgEnum, pgTable, serial, text, timestamp, unique, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { counterparties } from './counterparties.js';

export const channelKind = pgEnum('channel_kind', ['telegram', 'whatsapp', 'viber']);

export const contacts = pgTable(
  'contacts',
  {
    id: serial('id').primaryKey(),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    name: text('name').notNull(),
    position: text('position'),
    /** E.164 */
    phones: text('phones').array().notNull().default(sql`'{}'::text[]`),
    /** «доб. 12»: an extension per E.164 number, kept apart so the number stays searchable */
    phoneExtensions: jsonb('phone_extensions').$type<Record<string, string>>().notNull().default({}),
    /** lower-cased */
    emails: text('emails').array().notNull().default(sql`'{}'::text[]`),
    comment: text('comment'),
    mergedIntoId: integer('merged_into_id').references((): AnyPgColumn => contacts.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('contacts_name_trgm_idx').using('gin', sql`${t.name} gin_trgm_ops`),
    index('contacts_phones_idx').using('gin', t.phones),
    index('contacts_emails_idx').using('gin', t.emails),
    index('contacts_counterparty_idx').on(t.counterpartyId),
  ],
);

/** A contact's account on a messenger: one external id belongs to one contact. */
export const contactIdentities = pgTable(
  'contact_identities',
  {
    id: serial('id').primaryKey(),
    contactId: integer('contact_id').notNull().references(() => contacts.id),
    channel: channelKind('channel').notNull(),
    externalId: text('external_id').notNull(),
    displayName: text('display_name'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('contact_identities_channel_external_uq').on(t.channel, t.externalId), index('contact_identities_contact_idx').on(t.contactId)],
);
