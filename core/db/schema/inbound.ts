import { bigint, boolean, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { channelKind, contacts } from './contacts.js';
import { deals, leads } from './leads.js';
import { apiKeys, users } from './users.js';

export const webhookSourceKind = pgEnum('webhook_source_kind', ['tilda', 'form', 'vk']);

/**
 * A website form builder or social network that posts leads to `/webhooks/<kind>/<token>`.
 * The token is the per-source secret: shown once, kept only as its sha256. A `vk` source is one
 * VK community's Callback API server and also carries the community's own settings.
 */
export const webhookSources = pgTable('webhook_sources', {
  id: serial('id').primaryKey(),
  kind: webhookSourceKind('kind').notNull(),
  name: text('name').notNull(),
  /** a social network's name (vk, instagram…): its leads get source `social` */
  network: text('network'),
  tokenHash: text('token_hash').notNull().unique(),
  /** vk: the community (group_id) whose events are accepted */
  vkGroupId: bigint('vk_group_id', { mode: 'number' }),
  /** vk: the string VK shows in the community's settings; the `confirmation` event gets it back verbatim */
  vkConfirmation: text('vk_confirmation'),
  /** vk: sha256 of the Callback API secret key that every event carries in `secret` */
  vkSecretHash: text('vk_secret_hash'),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * A VK user who wrote to a community or filled its lead form: the contact their next messages join.
 * VK user ids are global, so one person writing to two communities is one contact.
 */
export const vkUsers = pgTable('vk_users', {
  vkUserId: bigint('vk_user_id', { mode: 'number' }).primaryKey(),
  contactId: integer('contact_id')
    .notNull()
    .references(() => contacts.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Community messages (`message_new`) taken in. VK repeats an event it got no `ok` for: the message id,
 * unique within the community, makes the repeat a no-op.
 */
export const vkMessages = pgTable(
  'vk_messages',
  {
    id: serial('id').primaryKey(),
    sourceId: integer('source_id')
      .notNull()
      .references(() => webhookSources.id),
    vkGroupId: bigint('vk_group_id', { mode: 'number' }).notNull(),
    vkMessageId: bigint('vk_message_id', { mode: 'number' }).notNull(),
    vkUserId: bigint('vk_user_id', { mode: 'number' }).notNull(),
    contactId: integer('contact_id')
      .notNull()
      .references(() => contacts.id),
    /** the lead it opened or continued, or else the open deal whose history it joined */
    leadId: integer('lead_id').references(() => leads.id, { onDelete: 'set null' }),
    dealId: integer('deal_id').references(() => deals.id, { onDelete: 'set null' }),
    text: text('text'),
    at: timestamp('at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('vk_messages_group_message_uq').on(t.vkGroupId, t.vkMessageId), index('vk_messages_lead_idx').on(t.leadId)],
);

/** `Idempotency-Key` of the website API: the same key and body from the same API key returns the first lead. */
export const apiIdempotencyKeys = pgTable(
  'api_idempotency_keys',
  {
    apiKeyId: integer('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** null only inside the transaction that creates the lead */
    leadId: integer('lead_id').references(() => leads.id, { onDelete: 'cascade' }),
    /** sha256 of the request's fields: the same key with another body is refused, not answered with this lead */
    requestHash: text('request_hash'),
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
