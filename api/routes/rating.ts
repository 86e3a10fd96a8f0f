import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../core/services.js';

// CONTRACT stub (helper C owns this file): the public rating page of e-mail tickets, GET/POST /rate/:token.
export const ratingRoutes: FastifyPluginAsync<{ services: Services }> = async (app, opts) => {
  void [app, opts];
};
