import type { Services } from '../../core/services.js';
import type { TelephonyModule } from '../../core/telephony/types.js';
import { pbxRoutes } from './routes.js';

/**
 * Any other PBX reporting its calls to POST /webhooks/pbx/calls, signed with PBX_WEBHOOK_SECRET.
 * Report-only: the CRM cannot place calls or fetch recordings through it (client null), so
 * click-to-call and recordings need Mango or Zebra.
 */
export function pbxWebhook(services: Services): TelephonyModule | null {
  const secret = services.config.PBX_WEBHOOK_SECRET;
  if (!secret) return null;
  return {
    provider: 'generic',
    client: null,
    routes: async (app) => void (await app.register(pbxRoutes, { services, secret })),
  };
}
