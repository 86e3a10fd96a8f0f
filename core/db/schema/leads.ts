import { sql } from 'drizzle-orm';
import { bigint, boolean, char, date, index, integer, jsonb, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { contacts } from './contacts.js';
import { counterparties } from './counterparties.js';
import { apiKeys, users } from './users.js';

export const leadSource = pgEnum('lead_source', ['manual', 'website', 'telegram', 'whatsapp', 'viber', 'social', 'phone', 'email', 'import']);
export const leadStatus = pgEnum('lead_status', ['new', 'in_progress', 'converted', 'closed']);

/** An ad campaign, identified by its UTM tags. */
export const campaigns = pgTable(
  'campaigns',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    utmSource: text('utm_source').notNull().default(''),
    utmMedium: text('utm_medium').notNull().default(''),
    utmCampaign: text('utm_campaign').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('campaigns_utm_uq').on(t.utmSource, t.utmMedium, t.utmCampaign)],
);

export type LeadTracking = {
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_content?: string;
  utm_term?: string;
  yclid?: string;
  gclid?: string;
  fbclid?: string;
  page_url?: string;
  network?: string;
};

export const leads = pgTable(
  'leads',
  {
    id: serial('id').primaryKey(),
    title: text('title').notNull(),
    source: leadSource('source').notNull(),
    campaignId: integer('campaign_id').references(() => campaigns.id),
    /** UTM tags, click ids, page URL, social network name */
    tracking: jsonb('tracking').$type<LeadTracking>().notNull().default({}),
    status: leadStatus('status').notNull().default('new'),
    responsibleId: integer('responsible_id').references(() => users.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    contactId: integer('contact_id').references(() => contacts.id),
    comment: text('comment'),
    /** why the lead was closed without a deal */
    lossReasonId: integer('loss_reason_id').references((): AnyPgColumn => lossReasons.id),
    closeComment: text('close_comment'),
    /**
     * The sender's own id, unique across the CRM because each sender has its own prefix:
     * `tilda:<source>:<tranid>`, `form:<source>:<id>`, `vk:<source>:<lead>`, `api:<api key>:<external_id>`.
     */
    externalId: text('external_id').unique(),
    /** the website API key that created the lead: a `website` key reads back only these */
    apiKeyId: integer('api_key_id').references(() => apiKeys.id),
    createdBy: integer('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [
    index('leads_responsible_idx').on(t.responsibleId, t.status),
    index('leads_counterparty_idx').on(t.counterpartyId),
    index('leads_contact_idx').on(t.contactId),
    index('leads_status_idx').on(t.status, t.id),
    index('leads_api_key_idx').on(t.apiKeyId),
  ],
);

/** «Участники»: extra users who get access to one lead. */
export const leadParticipants = pgTable(
  'lead_participants',
  {
    leadId: integer('lead_id').notNull().references(() => leads.id, { onDelete: 'cascade' }),
    userId: integer('user_id').notNull().references(() => users.id),
  },
  (t) => [primaryKey({ columns: [t.leadId, t.userId] }), index('lead_participants_user_idx').on(t.userId)],
);

/** «Причины отказа»: why a deal was lost or a lead closed (a reference book, so reports can group by it). */
export const lossReasons = pgTable('loss_reasons', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  sortOrder: integer('sort_order').notNull().default(100),
  /** an archived reason stays on old deals but is no longer offered */
  archived: boolean('archived').notNull().default(false),
});

/**
 * A deal stage can be entered by itself when a document is made or sent («КП отправлено» on
 * 'proposal_sent', «Счёт выставлен» on 'invoice_made'): the setting on the stage book.
 */
export const stageDocumentEvent = pgEnum('stage_document_event', ['proposal_made', 'proposal_sent', 'invoice_made', 'invoice_sent']);

export const dealStages = pgTable('deal_stages', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  sortOrder: integer('sort_order').notNull().default(0),
  isWon: boolean('is_won').notNull().default(false),
  isLost: boolean('is_lost').notNull().default(false),
  /** a deal at an earlier open stage moves here when this happens to one of its documents */
  enterOn: stageDocumentEvent('enter_on').unique(),
});

export const deals = pgTable(
  'deals',
  {
    id: serial('id').primaryKey(),
    title: text('title').notNull(),
    amountKopecks: bigint('amount_kopecks', { mode: 'bigint' }).notNull().default(sql`0`),
    currency: char('currency', { length: 3 }).notNull().default('RUB'),
    stageId: integer('stage_id').notNull().references(() => dealStages.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    contactId: integer('contact_id').references(() => contacts.id),
    /** a lead converts to at most one deal */
    leadId: integer('lead_id').unique().references(() => leads.id),
    responsibleId: integer('responsible_id').references(() => users.id),
    comment: text('comment'),
    createdBy: integer('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** set when the deal reaches a won or lost stage */
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** «Оплачена»: the day the money came; plan vs actual counts won deals by it */
    paidOn: date('paid_on', { mode: 'string' }),
    /** «Проиграна»: the reason from the book and the manager's words */
    lossReasonId: integer('loss_reason_id').references(() => lossReasons.id),
    lossComment: text('loss_comment'),
  },
  (t) => [
    index('deals_responsible_idx').on(t.responsibleId),
    index('deals_counterparty_idx').on(t.counterpartyId),
    index('deals_contact_idx').on(t.contactId),
  ],
);
