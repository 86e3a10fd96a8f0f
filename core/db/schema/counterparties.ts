import { sql } from 'drizzle-orm';
import { bigint, boolean, index, jsonb, integer, pgEnum, pgTable, serial, text, timestamp, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { segments, users } from './users.js';

export const counterpartyKind = pgEnum('counterparty_kind', ['legal_entity', 'individual', 'sole_proprietor']);

export const counterparties = pgTable(
  'counterparties',
  {
    id: serial('id').primaryKey(),
    kind: counterpartyKind('kind').notNull(),
    name: text('name').notNull(),
    inn: text('inn'),
    kpp: text('kpp'),
    ogrn: text('ogrn'),
    address: text('address'),
    region: text('region'),
    industry: text('industry'),
    headcount: integer('headcount'),
    /** authorised capital in kopecks */
    capitalKopecks: bigint('capital_kopecks', { mode: 'bigint' }),
    /** E.164 */
    phones: text('phones').array().notNull().default(sql`'{}'::text[]`),
    /** «доб. 12»: an extension per E.164 number, kept apart so the number stays searchable */
    phoneExtensions: jsonb('phone_extensions').$type<Record<string, string>>().notNull().default({}),
    /** lower-cased */
    emails: text('emails').array().notNull().default(sql`'{}'::text[]`),
    segmentId: integer('segment_id').references(() => segments.id),
    responsibleId: integer('responsible_id').references(() => users.id),
    isActiveClient: boolean('is_active_client').notNull().default(false),
    comment: text('comment'),
    /** set when merged into another counterparty; such rows are hidden everywhere */
    mergedIntoId: integer('merged_into_id').references((): AnyPgColumn => counterparties.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('counterparties_name_trgm_idx').using('gin', sql`${t.name} gin_trgm_ops`),
    index('counterparties_inn_idx').on(t.inn),
    index('counterparties_phones_idx').using('gin', t.phones),
    index('counterparties_emails_idx').using('gin', t.emails),
    index('counterparties_segment_idx').on(t.segmentId, t.id),
    index('counterparties_responsible_idx').on(t.responsibleId, t.id),
    index('counterparties_region_idx').on(t.region, t.id),
    index('counterparties_industry_idx').on(t.industry, t.id),
    index('counterparties_headcount_idx').on(t.headcount, t.id),
    index('counterparties_capital_idx').on(t.capitalKopecks, t.id),
    index('counterparties_kind_idx').on(t.kind, t.id),
  ],
);
