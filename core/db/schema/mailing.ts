import { boolean, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { contacts } from './contacts.js';
import { users } from './users.js';

/** «Тип рассылки»: a named mailing list (R19). */
export const mailingTypes = pgTable('mailing_types', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Contacts assigned to a mailing type in bulk. */
export const contactMailingTypes = pgTable(
  'contact_mailing_types',
  {
    contactId: integer('contact_id').notNull().references(() => contacts.id, { onDelete: 'cascade' }),
    mailingTypeId: integer('mailing_type_id').notNull().references(() => mailingTypes.id, { onDelete: 'cascade' }),
    assignedAt: timestamp('assigned_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.contactId, t.mailingTypeId] }), index('contact_mailing_types_type_idx').on(t.mailingTypeId, t.contactId)],
);

/** An address that asked not to get a mailing type's mail-outs (or any, when mailingTypeId is null). */
export const unsubscribes = pgTable(
  'unsubscribes',
  {
    id: serial('id').primaryKey(),
    email: text('email').notNull(),
    mailingTypeId: integer('mailing_type_id').references(() => mailingTypes.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('unsubscribes_email_type_uq').on(t.email, t.mailingTypeId).nullsNotDistinct()],
);

export const mailEncryption = pgEnum('mail_encryption', ['ssl', 'starttls', 'none']);

/** «Почтовый ящик» (R17). The password is encrypted with SECRET_KEY (AES-256-GCM) and never shown again. */
export const mailboxes = pgTable('mailboxes', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  /** preset: yandex, mailru, gmail, other */
  service: text('service').notNull().default('other'),
  login: text('login').notNull(),
  /** the address letters are sent from */
  email: text('email').notNull(),
  passwordEncrypted: text('password_encrypted').notNull(),
  imapHost: text('imap_host').notNull(),
  imapPort: integer('imap_port').notNull(),
  imapEncryption: mailEncryption('imap_encryption').notNull().default('ssl'),
  smtpHost: text('smtp_host').notNull(),
  smtpPort: integer('smtp_port').notNull(),
  smtpEncryption: mailEncryption('smtp_encryption').notNull().default('ssl'),
  ownerId: integer('owner_id').references(() => users.id),
  /** a letter from an unknown address opens a lead (source `email`) */
  createsLeads: boolean('creates_leads').notNull().default(false),
  /** R23: a support mailbox: every incoming letter is a ticket (joins its thread's ticket) */
  createsTickets: boolean('creates_tickets').notNull().default(false),
  active: boolean('active').notNull().default(true),
  lastCheckAt: timestamp('last_check_at', { withTimezone: true }),
  lastError: text('last_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
