import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  char,
  customType,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { counterparties } from './counterparties.js';
import { deals } from './leads.js';
import { users } from './users.js';

/** Files kept in the database, so every process of a scaled-out CRM reads the same ones. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  // postgres.js gives a Buffer, PGlite a Uint8Array
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

/**
 * The seller's tax mode decides the VAT on its documents: ОСН charges VAT at the line's rate (22% by
 * default from 1 January 2026), УСН either none or the reduced 5% / 7% on every line.
 */
export const taxMode = pgEnum('tax_mode', ['osn', 'usn_no_vat', 'usn_vat5', 'usn_vat7']);

/** «Наши организации»: the companies (ООО) and sole proprietors (ИП) the team sells from. */
export const organizations = pgTable(
  'organizations',
  {
    id: serial('id').primaryKey(),
    /** 'legal_entity' (ООО, АО…) or 'sole_proprietor' (ИП) */
    kind: text('kind').$type<'legal_entity' | 'sole_proprietor'>().notNull(),
    /** full name as in the register: «Общество с ограниченной ответственностью «Ромашка»» */
    name: text('name').notNull(),
    /** as printed in headers: «ООО «Ромашка»» */
    shortName: text('short_name'),
    inn: text('inn').notNull(),
    kpp: text('kpp'),
    /** ОГРН or ОГРНИП */
    ogrn: text('ogrn'),
    legalAddress: text('legal_address'),
    postalAddress: text('postal_address'),
    phone: text('phone'),
    email: text('email'),
    /** the city contracts are signed in («г. Москва») */
    city: text('city'),
    directorName: text('director_name'),
    directorPosition: text('director_position'),
    /** «на основании Устава» / «на основании ОГРНИП …» */
    directorBasis: text('director_basis'),
    /** «в лице кого» for a contract's preamble, in the genitive: «Генерального директора Соколова Андрея Викторовича» */
    signerGenitive: text('signer_genitive'),
    accountantName: text('accountant_name'),
    accountantPosition: text('accountant_position'),
    taxMode: taxMode('tax_mode').notNull().default('osn'),
    isDefault: boolean('is_default').notNull().default(false),
    archived: boolean('archived').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('organizations_one_default_idx').on(t.isDefault).where(sql`${t.isDefault}`)],
);

/** A seller's settlement account; the account and correspondent account are checked against the BIK. */
export const organizationBankAccounts = pgTable(
  'organization_bank_accounts',
  {
    id: serial('id').primaryKey(),
    organizationId: integer('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    bankName: text('bank_name').notNull(),
    bik: char('bik', { length: 9 }).notNull(),
    corrAccount: char('corr_account', { length: 20 }).notNull(),
    account: char('account', { length: 20 }).notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('organization_bank_accounts_org_idx').on(t.organizationId)],
);

/** Logo, signature and stamp images printed on documents (PNG or JPEG). */
export const organizationImages = pgTable(
  'organization_images',
  {
    organizationId: integer('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** 'logo' | 'director_signature' | 'accountant_signature' | 'stamp' */
    kind: text('kind').$type<OrganizationImageKind>().notNull(),
    mime: text('mime').notNull(),
    data: bytea('data').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.kind] })],
);

export const organizationImageKinds = ['logo', 'director_signature', 'accountant_signature', 'stamp'] as const;
export type OrganizationImageKind = (typeof organizationImageKinds)[number];

/** «Товары и услуги». Prices include VAT, as Russian price lists do. */
export const products = pgTable(
  'products',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    /** «шт», «час», «усл.», «м²», … */
    unit: text('unit').notNull().default('шт'),
    priceKopecks: bigint('price_kopecks', { mode: 'bigint' }).notNull().default(sql`0`),
    /** 22, 10, 0; null: «без НДС». Applies under ОСН; УСН sellers print their own mode's rate. */
    vatRate: smallint('vat_rate'),
    /** article / SKU, optional */
    code: text('code'),
    archived: boolean('archived').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('products_name_idx').on(sql`lower(${t.name})`)],
);

/** A deal's line items; the deal's amount is their sum while there are any. */
export const dealLines = pgTable(
  'deal_lines',
  {
    id: serial('id').primaryKey(),
    dealId: integer('deal_id')
      .notNull()
      .references(() => deals.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    productId: integer('product_id').references(() => products.id),
    name: text('name').notNull(),
    /** up to three decimals: 1.5 часа, 12.375 м² */
    quantity: numeric('quantity', { precision: 14, scale: 3 }).notNull(),
    unit: text('unit').notNull(),
    /** price per unit, VAT included */
    priceKopecks: bigint('price_kopecks', { mode: 'bigint' }).notNull(),
    /** percent, two decimals */
    discountPercent: numeric('discount_percent', { precision: 5, scale: 2 }).notNull().default('0'),
    /** the rate the line was given (from the product); the seller's tax mode decides what is printed */
    vatRate: smallint('vat_rate'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('deal_lines_deal_idx').on(t.dealId, t.position)],
);

export const documentKind = pgEnum('document_kind', ['invoice', 'contract', 'proposal']);

/** An admin's own .docx for the contract or the КП, and the КП's default texts. */
export const documentTemplates = pgTable('document_templates', {
  kind: documentKind('kind').primaryKey(),
  fileName: text('file_name'),
  /** null: the built-in template */
  docx: bytea('docx'),
  /** КП: the default introduction and terms a new proposal starts from */
  introText: text('intro_text'),
  termsText: text('terms_text'),
  updatedBy: integer('updated_by').references(() => users.id),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A document made from a deal. Invoices and contracts are numbered per organisation, kind and year
 * (`document_counters`); proposals are versions per deal. `data` is the snapshot the files were made
 * from, so a document never changes when the deal or the requisites do later.
 */
export const documents = pgTable(
  'documents',
  {
    id: serial('id').primaryKey(),
    kind: documentKind('kind').notNull(),
    dealId: integer('deal_id')
      .notNull()
      .references(() => deals.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    organizationId: integer('organization_id')
      .notNull()
      .references(() => organizations.id),
    /** invoices and contracts: № within the organisation and year */
    number: integer('number'),
    year: integer('year').notNull(),
    /** proposals: 1, 2, 3… within the deal */
    version: integer('version'),
    docDate: date('doc_date', { mode: 'string' }).notNull(),
    totalKopecks: bigint('total_kopecks', { mode: 'bigint' }).notNull(),
    vatKopecks: bigint('vat_kopecks', { mode: 'bigint' }).notNull(),
    /** the invoice and contract made by one action point at each other */
    pairedId: integer('paired_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdBy: integer('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** when it was last sent to the client (e-mail or messenger) */
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('documents_number_idx').on(t.organizationId, t.kind, t.year, t.number).where(sql`${t.number} IS NOT NULL`),
    uniqueIndex('documents_version_idx').on(t.dealId, t.kind, t.version).where(sql`${t.version} IS NOT NULL`),
    index('documents_deal_idx').on(t.dealId, t.createdAt),
    index('documents_counterparty_idx').on(t.counterpartyId, t.createdAt),
  ],
);

export const documentFiles = pgTable(
  'document_files',
  {
    documentId: integer('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    format: text('format').$type<'pdf' | 'docx'>().notNull(),
    fileName: text('file_name').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.documentId, t.format] })],
);

/** The last number given per organisation, kind and year: taken under a row lock, so no gaps and no doubles. */
export const documentCounters = pgTable(
  'document_counters',
  {
    organizationId: integer('organization_id')
      .notNull()
      .references(() => organizations.id),
    kind: documentKind('kind').notNull(),
    year: integer('year').notNull(),
    lastNumber: integer('last_number').notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.kind, t.year] })],
);
