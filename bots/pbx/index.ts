import type { Services } from '../../core/services.js';
import type { TelephonyModule } from '../../core/telephony/types.js';

/** STUB (contract only): replaced by the provider's module. null: not configured. */
export function pbxWebhook(_services: Services): TelephonyModule | null {
  return null;
}
