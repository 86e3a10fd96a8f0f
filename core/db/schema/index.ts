export * from './users.js';
export * from './counterparties.js';
export * from './contacts.js';
export * from './leads.js';
export * from './works.js';
export * from './activity.js';
export * from './jobs.js';
export * from './mailing.js';
