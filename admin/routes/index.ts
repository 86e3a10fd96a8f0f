import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';
import authRoutes from './auth.js';
import dashboardRoutes from './dashboard.js';
import counterpartyRoutes from './counterparties.js';
import counterpartyCardRoutes from './counterparty-card.js';
import mailingRoutes from './mailing.js';
import importRoutes from './imports.js';
import leadRoutes from './leads.js';
import leadCardRoutes from './lead-card.js';
import dealRoutes from './deals.js';
import workRoutes from './works.js';
import userRoutes from './users.js';
import bookRoutes from './books.js';
import planRoutes from './plans.js';
import mailRoutes from './mail.js';
import fileRoutes from './files.js';
import contactRoutes from './contacts.js';
import integrationRoutes from './integrations.js';
import duplicateRoutes from './duplicates.js';
import lossReasonRoutes from './loss-reasons.js';
import noteRoutes from './notes.js';
import organizationRoutes from './organizations.js';
import productRoutes from './products.js';
import dealLineRoutes from './deal-lines.js';
import documentRoutes from './documents.js';
import documentTemplateRoutes from './document-templates.js';
import phoneLineRoutes from './phone-lines.js';
import callRuleRoutes from './call-rules.js';
import callRoutes from './calls.js';
import ticketRoutes from './tickets.js';
import answerTemplateRoutes from './answer-templates.js';
import helpdeskSettingsRoutes from './helpdesk-settings.js';

/**
 * Every section of the panel is one routes file. A new section (e.g. the mailboxes of the e-mail
 * feature) adds its file here and a line to nav.ts; its templates use `<% layout('/layout') %>`.
 */
export const adminRoutes: ((app: FastifyInstance, deps: AdminDeps) => Promise<void>)[] = [
  authRoutes,
  dashboardRoutes,
  counterpartyRoutes,
  counterpartyCardRoutes,
  mailingRoutes,
  importRoutes,
  leadRoutes,
  leadCardRoutes,
  dealRoutes,
  lossReasonRoutes,
  workRoutes,
  userRoutes,
  bookRoutes,
  planRoutes,
  mailRoutes,
  fileRoutes,
  contactRoutes,
  integrationRoutes,
  duplicateRoutes,
  noteRoutes,
  organizationRoutes,
  productRoutes,
  dealLineRoutes,
  documentRoutes,
  documentTemplateRoutes,
  phoneLineRoutes,
  callRuleRoutes,
  callRoutes,
  ticketRoutes,
  answerTemplateRoutes,
  helpdeskSettingsRoutes,
];
