import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

/** «Товары и услуги»: the products book and its CSV import. */
export default async function productRoutes(app: FastifyInstance, deps: AdminDeps) {
  void app;
  void deps;
}
