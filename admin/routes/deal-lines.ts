import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

/** A deal's line items, edited on the deal's card. */
export default async function dealLineRoutes(app: FastifyInstance, deps: AdminDeps) {
  void app;
  void deps;
}
