import { bigint, bigserial, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { contacts } from './contacts.js';
import { emails } from './activity.js';
import { mailboxes, mailingTypes } from './mailing.js';
import { users } from './users.js';

/**
 * How far the import has read one IMAP folder of a mailbox. UIDs only mean something together
 * with the folder's UIDVALIDITY: when the server changes it, the import starts the folder over
 * (the unique Message-ID per mailbox keeps letters from being stored twice).
 */
export const mailFolderState = pgTable(
  'mail_folder_state',
  {
    mailboxId: integer('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    folder: text('folder').notNull(),
    uidValidity: bigint('uid_validity', { mode: 'number' }).notNull(),
    lastUid: bigint('last_uid', { mode: 'number' }).notNull().default(0),
    lastImportAt: timestamp('last_import_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.mailboxId, t.folder] })],
);

export const mailoutStatus = pgEnum('mailout_status', ['sending', 'done']);

/** A mail-out: one letter from a template to every contact of a mailing type. */
export const mailouts = pgTable('mailouts', {
  id: serial('id').primaryKey(),
  mailingTypeId: integer('mailing_type_id')
    .notNull()
    .references(() => mailingTypes.id, { onDelete: 'cascade' }),
  mailboxId: integer('mailbox_id').references(() => mailboxes.id, { onDelete: 'set null' }),
  subject: text('subject').notNull(),
  /** plain text with {{name}}, {{company}}, {{manager}} and optionally {{unsubscribe}} */
  body: text('body').notNull(),
  status: mailoutStatus('status').notNull().default('sending'),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});

export const mailoutRecipientStatus = pgEnum('mailout_recipient_status', ['queued', 'sent', 'failed', 'unsubscribed', 'no_email']);

export const mailoutRecipients = pgTable(
  'mailout_recipients',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    mailoutId: integer('mailout_id')
      .notNull()
      .references(() => mailouts.id, { onDelete: 'cascade' }),
    contactId: integer('contact_id').references(() => contacts.id, { onDelete: 'set null' }),
    /** lower-cased; null when the contact has no address */
    email: text('email'),
    status: mailoutRecipientStatus('status').notNull().default('queued'),
    error: text('error'),
    /** the letter as stored in the contact's history once sent */
    emailId: bigint('email_id', { mode: 'number' }).references(() => emails.id, { onDelete: 'set null' }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [unique('mailout_recipients_email_uq').on(t.mailoutId, t.email), index('mailout_recipients_status_idx').on(t.mailoutId, t.status)],
);
