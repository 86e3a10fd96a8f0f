import { boolean, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { channelKind } from './contacts.js';
import { leads } from './leads.js';
import { apiKeys, users } from './users.js';

export const webhookSourceKind = pgEnum('webhook_source_kind', ['tilda', 'form']);

/**
 * A website form builder or social network that posts leads to `/webhooks/<kind>/<token>`.
 * The token is the per-source secret: shown once, kept only as its sha256.
 */
export const webhookSources = pgTable('webhook_sources', {
  id: serial('id').primaryKey(),
  kind: webhookSourceKind('kind').notNull(),
  name: text('name').notNull(),
  /** a social network's name (vk, instagram…): its leads get source `social` */
  network: text('network'),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** `Idempotency-Key` of the website API: the same key from the same API key returns the first lead. */
export const apiIdempotencyKeys = pgTable(
  'api_idempotency_keys',
  {
    apiKeyId: integer('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** null only inside the transaction that creates the lead */
    leadId: integer('lead_id').references(() => leads.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.key] })],
);

/**
 * The last known state of each messenger adapter. Flipping a row to `down` is what sends the one
 * notice to admins, so several processes watching the same adapter report it once.
 */
export const channelStates = pgTable('channel_states', {
  channel: channelKind('channel').primaryKey(),
  ok: boolean('ok').notNull().default(true),
  detail: text('detail'),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  /** WhatsApp's pairing code while a QR scan is needed, for the admin panel of any web process */
  pairingCode: text('pairing_code'),
  pairingCodeAt: timestamp('pairing_code_at', { withTimezone: true }),
});
