import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

/** A deal's documents: КП, «Счёт и договор», downloads and sending to the client. */
export default async function documentRoutes(app: FastifyInstance, deps: AdminDeps) {
  void app;
  void deps;
}
