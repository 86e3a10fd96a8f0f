import type { Services } from '../../core/services.js';
import type { TelephonyModule } from '../../core/telephony/types.js';
import { MangoClient } from './client.js';
import { mangoRoutes } from './routes.js';

export { MangoClient } from './client.js';

/**
 * Mango Office VPBX when MANGO_API_KEY and MANGO_API_SALT are set (ЛК → Интеграции → API
 * коннектор): a client for click-to-call, routing and recordings, and the routes Mango posts its
 * events to (mounted by web processes).
 */
export function mangoTelephony(services: Services): TelephonyModule | null {
  const { MANGO_API_KEY: apiKey, MANGO_API_SALT: apiSalt, MANGO_API_ROOT: apiRoot } = services.config;
  if (!apiKey || !apiSalt) return null;
  const log = services.log.child({ telephony: 'mango' });
  return {
    provider: 'mango',
    client: new MangoClient({ apiKey, apiSalt, apiRoot, log }),
    routes: async (app) => void (await app.register(mangoRoutes, { services, apiKey, apiSalt })),
  };
}
