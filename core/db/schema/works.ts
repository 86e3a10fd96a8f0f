import { sql } from 'drizzle-orm';
import { date, index, integer, bigint, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { contacts } from './contacts.js';
import { counterparties } from './counterparties.js';
import { deals, leads } from './leads.js';
import { users } from './users.js';

/** «Действие» reference book, e.g. Позвонить, Отправить, Встреча. */
export const actions = pgTable('actions', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
});

/** «Результат» reference book, e.g. Договор, Счёт, Коммерческое предложение. */
export const results = pgTable('results', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
});

/** Which results an action allows. */
export const actionResults = pgTable(
  'action_results',
  {
    actionId: integer('action_id').notNull().references(() => actions.id, { onDelete: 'cascade' }),
    resultId: integer('result_id').notNull().references(() => results.id),
  },
  (t) => [primaryKey({ columns: [t.actionId, t.resultId] })],
);

export const workStatus = pgEnum('work_status', ['planned', 'done', 'cancelled']);

/** «Работа с контрагентом». */
export const works = pgTable(
  'works',
  {
    id: serial('id').primaryKey(),
    actionId: integer('action_id').notNull().references(() => actions.id),
    plannedResultId: integer('planned_result_id').references(() => results.id),
    actualResultId: integer('actual_result_id').references(() => results.id),
    deadline: timestamp('deadline', { withTimezone: true }).notNull(),
    status: workStatus('status').notNull().default('planned'),
    comment: text('comment'),
    resultComment: text('result_comment'),
    responsibleId: integer('responsible_id').notNull().references(() => users.id),
    /** null for a work on a messenger lead that has no counterparty yet */
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    contactId: integer('contact_id').references(() => contacts.id),
    leadId: integer('lead_id').references(() => leads.id),
    dealId: integer('deal_id').references(() => deals.id),
    /** «Работа на основании текущей»: the work this one was copied from */
    basedOnId: integer('based_on_id').references((): AnyPgColumn => works.id),
    createdBy: integer('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /** who pressed «Выполнить» or «Отменить»: the work still counts for the responsible, history shows the real actor */
    completedBy: integer('completed_by').references(() => users.id),
    cancelReason: text('cancel_reason'),
  },
  (t) => [
    index('works_responsible_idx').on(t.responsibleId, t.status, t.deadline),
    index('works_counterparty_idx').on(t.counterpartyId),
    index('works_lead_idx').on(t.leadId),
    index('works_deal_idx').on(t.dealId),
    index('works_contact_idx').on(t.contactId),
  ],
);

/** The head's targets for one manager for one period (inclusive dates). */
export const plans = pgTable(
  'plans',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id').notNull().references(() => users.id),
    periodStart: date('period_start').notNull(),
    periodEnd: date('period_end').notNull(),
    dealAmountKopecks: bigint('deal_amount_kopecks', { mode: 'bigint' }).notNull().default(sql`0`),
    dealCount: integer('deal_count').notNull().default(0),
    worksCount: integer('works_count').notNull().default(0),
    /** answered calls, either way (R4) */
    callsCount: integer('calls_count').notNull().default(0),
    createdBy: integer('created_by').references(() => users.id),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('plans_user_period_uq').on(t.userId, t.periodStart, t.periodEnd)],
);
