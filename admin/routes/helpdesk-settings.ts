import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

// CONTRACT stub — D2: /admin/helpdesk (calendar, SLA, queue).
export default async function helpdeskSettingsRoutes(app: FastifyInstance, deps: AdminDeps) {
  void [app, deps];
}
