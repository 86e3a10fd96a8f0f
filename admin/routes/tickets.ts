import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

// CONTRACT stub — D1: /admin/tickets list, card, actions, report.
export default async function ticketRoutes(app: FastifyInstance, deps: AdminDeps) {
  void [app, deps];
}
