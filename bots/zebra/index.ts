import type { Services } from '../../core/services.js';
import type { TelephonyModule } from '../../core/telephony/types.js';
import { ZebraClient } from './client.js';
import { zebraRoutes } from './routes.js';

export { ZebraClient } from './client.js';

/**
 * Zebra Telecom (a Kazoo platform) when its cabinet login, password and realm and our webhook
 * secret are set: a client for click-to-call and recordings, and the hook URLs
 * /webhooks/zebra/<ZEBRA_WEBHOOK_SECRET>/channel_create|channel_answer|channel_destroy.
 */
export function zebraTelephony(services: Services): TelephonyModule | null {
  const { config, log } = services;
  const { ZEBRA_LOGIN: login, ZEBRA_PASSWORD: password, ZEBRA_REALM: realm, ZEBRA_WEBHOOK_SECRET: secret } = config;
  if (!login || !password || !realm || !secret) return null;
  const client = new ZebraClient({ apiRoot: config.ZEBRA_API_ROOT, login, password, realm, log: log.child({ telephony: 'zebra' }) });
  return {
    provider: 'zebra',
    client,
    routes: async (app) => void (await app.register(zebraRoutes, { services, secret })),
  };
}
