import { bigint, bigserial, boolean, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { counterpartyKind } from './counterparties.js';
import { segments, users } from './users.js';

export const importStatus = pgEnum('import_status', ['staging', 'ready', 'working', 'failed']);
export const importRowStatus = pgEnum('import_row_status', ['pending', 'created', 'skipped', 'error']);

/** One uploaded CSV file (R6): how it was read, how its columns map to fields, and where its import stands. */
export const importBatches = pgTable('import_batches', {
  id: serial('id').primaryKey(),
  kind: counterpartyKind('kind').notNull(),
  fileName: text('file_name').notNull(),
  /** utf-8 or windows-1251, as detected */
  encoding: text('encoding').notNull(),
  delimiter: text('delimiter').notNull(),
  headers: text('headers').array().notNull().default([]),
  /** for each column: the counterparty field it fills, or null to ignore it */
  mapping: jsonb('mapping').$type<(string | null)[]>().notNull().default([]),
  /** given to every created counterparty */
  segmentId: integer('segment_id').references(() => segments.id),
  responsibleId: integer('responsible_id').references(() => users.id),
  status: importStatus('status').notNull().default('staging'),
  totalRows: integer('total_rows').notNull().default(0),
  problemRows: integer('problem_rows').notNull().default(0),
  duplicateRows: integer('duplicate_rows').notNull().default(0),
  createdRows: integer('created_rows').notNull().default(0),
  skippedRows: integer('skipped_rows').notNull().default(0),
  errorRows: integer('error_rows').notNull().default(0),
  /** progress of the running step, for the progress bar */
  progressLabel: text('progress_label'),
  progressDone: integer('progress_done').notNull().default(0),
  progressTotal: integer('progress_total').notNull().default(0),
  lastError: text('last_error'),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * «Список клиентов для загрузки»: one row of the file, as read (raw) and as the counterparty it
 * would become (typed columns), with its problems and duplicate marks. The links to counterparties
 * carry no foreign key: they are a record of what happened, and bulk updates stay cheap.
 */
export const importRows = pgTable(
  'import_rows',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: integer('batch_id')
      .notNull()
      .references(() => importBatches.id, { onDelete: 'cascade' }),
    /** the line of the file (the header is line 1) */
    rowNo: integer('row_no').notNull(),
    raw: text('raw').array().notNull(),
    name: text('name'),
    inn: text('inn'),
    kpp: text('kpp'),
    ogrn: text('ogrn'),
    address: text('address'),
    region: text('region'),
    industry: text('industry'),
    headcount: integer('headcount'),
    capitalKopecks: bigint('capital_kopecks', { mode: 'bigint' }),
    phones: text('phones').array().notNull().default([]),
    emails: text('emails').array().notNull().default([]),
    comment: text('comment'),
    contactName: text('contact_name'),
    contactPosition: text('contact_position'),
    /** field → problem, in Russian */
    problems: jsonb('problems').$type<Record<string, string>>().notNull().default({}),
    hasProblems: boolean('has_problems').notNull().default(false),
    /** an existing counterparty with the same INN, phone or e-mail */
    dupCounterpartyId: integer('dup_counterparty_id'),
    dupField: text('dup_field'),
    /** an earlier line of the same file with the same INN, phone or e-mail */
    dupRowNo: integer('dup_row_no'),
    status: importRowStatus('status').notNull().default('pending'),
    counterpartyId: integer('counterparty_id'),
    /** why the row was skipped or failed */
    message: text('message'),
  },
  (t) => [index('import_rows_batch_row_idx').on(t.batchId, t.rowNo), index('import_rows_batch_status_idx').on(t.batchId, t.status)],
);
