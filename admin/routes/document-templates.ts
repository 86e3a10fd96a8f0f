import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

/** «Шаблоны документов»: an admin's own .docx for the contract and the КП, and the КП's default texts. */
export default async function documentTemplateRoutes(app: FastifyInstance, deps: AdminDeps) {
  void app;
  void deps;
}
