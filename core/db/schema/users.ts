import { bigint, boolean, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';

export const userRole = pgEnum('user_role', ['admin', 'head', 'manager']);

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  role: userRole('role').notNull(),
  passwordHash: text('password_hash'),
  telegramId: bigint('telegram_id', { mode: 'number' }).unique(),
  timeZone: text('time_zone').notNull().default('Europe/Moscow'),
  active: boolean('active').notNull().default(true),
  /** managers on duty take round-robin leads that no segment claims */
  onDuty: boolean('on_duty').notNull().default(true),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One-time codes that link a CRM user to a Telegram account; stored hashed. */
export const linkCodes = pgTable('link_codes', {
  codeHash: text('code_hash').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
});

/**
 * What an API key may do. `website`: create leads and read back only the leads it created.
 * `read_all`: also read every lead (a trusted integration such as a BI export); only an admin makes one.
 */
export const apiKeyScope = pgEnum('api_key_scope', ['website', 'read_all']);

export const apiKeys = pgTable('api_keys', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  scope: apiKeyScope('scope').notNull().default('website'),
  /** sha256 of the key; the key itself is shown once and never stored */
  keyHash: text('key_hash').notNull().unique(),
  prefix: text('prefix').notNull(),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

export const segments = pgTable('segments', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** «Менеджер по работе с клиентами»: which segments a user works. */
export const userSegments = pgTable(
  'user_segments',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    segmentId: integer('segment_id').notNull().references(() => segments.id),
  },
  (t) => [primaryKey({ columns: [t.userId, t.segmentId] }), index('user_segments_segment_idx').on(t.segmentId)],
);
