import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../types.js';

// CONTRACT stub — D2: /admin/books/answer-templates.
export default async function answerTemplateRoutes(app: FastifyInstance, deps: AdminDeps) {
  void [app, deps];
}
