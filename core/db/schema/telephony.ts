import { boolean, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { users } from './users.js';

/**
 * R20 telephony. The providers a call can come from: Mango Office (VPBX API), Zebra Telecom (a
 * Kazoo platform) and any other PBX reporting over our signed generic webhook.
 */
export const phoneProvider = pgEnum('phone_provider', ['mango', 'zebra', 'generic']);

/** «Линии»: the company's numbers at a provider, with the names managers know them by. */
export const phoneLines = pgTable(
  'phone_lines',
  {
    id: serial('id').primaryKey(),
    provider: phoneProvider('provider').notNull(),
    /** E.164 */
    number: text('number').notNull(),
    name: text('name').notNull(),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('phone_lines_provider_number_uq').on(t.provider, t.number)],
);

/** A user's extension (внутренний номер) at each provider: where their calls ring and start. */
export const userExtensions = pgTable(
  'user_extensions',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: phoneProvider('provider').notNull(),
    extension: text('extension').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.provider] }), unique('user_extensions_provider_extension_uq').on(t.provider, t.extension)],
);

/**
 * Whom a rule gives an incoming call: the client's responsible, a manager of the client's segment,
 * a named user, a queue taken in turn, or the managers on duty in turn (the fallback).
 */
export const callRuleTarget = pgEnum('call_rule_target', ['responsible', 'segment', 'user', 'queue', 'duty']);

/** «Прием звонков IP»: ordered rules, tried by position; the first that yields an active user wins. */
export const callRules = pgTable(
  'call_rules',
  {
    id: serial('id').primaryKey(),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    /** only calls to this line; null: any line */
    lineId: integer('line_id').references(() => phoneLines.id, { onDelete: 'cascade' }),
    /** 'HH:MM' in the team's time zone; both null: any time; from > to spans midnight */
    timeFrom: text('time_from'),
    timeTo: text('time_to'),
    target: callRuleTarget('target').notNull(),
    /** target 'user' */
    targetUserId: integer('target_user_id').references(() => users.id, { onDelete: 'cascade' }),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('call_rules_position_idx').on(t.position)],
);

/** The users of a 'queue' rule, called in turn (the one whose last call is oldest first). */
export const callRuleMembers = pgTable(
  'call_rule_members',
  {
    ruleId: integer('rule_id').notNull().references(() => callRules.id, { onDelete: 'cascade' }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.userId] })],
);
