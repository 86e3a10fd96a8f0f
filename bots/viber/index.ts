import type { FastifyInstance } from 'fastify';
import type { Services } from '../../core/services.js';
import { ViberAdapter } from './adapter.js';
import { viberWebhook } from './webhook.js';

export { ViberAdapter } from './adapter.js';

/** The Viber adapter when VIBER_AUTH_TOKEN is set (light: an HTTP client, usable in every role). */
export function setupViber(services: Pick<Services, 'config' | 'log'>): ViberAdapter | undefined {
  const { config } = services;
  if (!config.VIBER_AUTH_TOKEN) return undefined;
  return new ViberAdapter({
    authToken: config.VIBER_AUTH_TOKEN,
    botName: config.VIBER_BOT_NAME ?? 'CRM',
    apiRoot: config.VIBER_API_ROOT,
    log: services.log.child({ channel: 'viber' }),
  });
}

/** Mounts POST /webhooks/viber; once the server listens, tells Viber the URL (needs PUBLIC_URL, https). */
export async function mountViberWebhook(app: FastifyInstance, services: Services, adapter: ViberAdapter): Promise<{ announce(): Promise<void> }> {
  await app.register(viberWebhook, { adapter, services });
  return {
    async announce() {
      const base = services.config.PUBLIC_URL;
      if (!base) return services.log.warn('viber: PUBLIC_URL is not set, so the webhook is not registered with Viber');
      try {
        await adapter.setWebhook(new URL('/webhooks/viber', base).toString());
        services.log.info('viber: webhook registered');
      } catch (err) {
        services.log.error({ err }, 'viber: registering the webhook failed');
      }
    },
  };
}
