import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

/** «Наши организации»: the sellers, their bank accounts and images. */
export default async function organizationRoutes(app: FastifyInstance, deps: AdminDeps) {
  void app;
  void deps;
}
