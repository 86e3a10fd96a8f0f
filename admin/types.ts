import type { Services } from '../core/services.js';
import type { TelephonyClients } from '../core/telephony/types.js';
import type { User } from '../core/users/users.js';
import type { LoginThrottle } from './login-throttle.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the signed-in user of the admin panel, set by the session hook */
    adminUser: User | null;
    adminToken: string | null;
  }
  interface FastifyContextConfig {
    /** reachable without signing in (the sign-in page itself) */
    adminPublic?: boolean;
  }
}

export interface AdminOptions {
  services: Services;
  /** failed sign-ins allowed per address and e-mail, and per address alone, within the window */
  loginRateLimit?: { max: number; timeWindowMs: number; maxPerAddress?: number };
  /** an import step on more rows than this runs as a job */
  inlineImportRows?: number;
  /** an uploaded file bigger than this is read into its list by the worker */
  inlineImportBytes?: number;
  /** largest CSV accepted, in bytes */
  maxUploadBytes?: number;
  /** R20: the telephony providers that can place calls (click-to-call, «Принять») */
  telephony?: TelephonyClients;
}

export interface AdminDeps {
  services: Services;
  inlineImportRows: number;
  inlineImportBytes: number;
  maxUploadBytes: number;
  loginRateLimit: { max: number; timeWindowMs: number; maxPerAddress: number };
  loginThrottle: LoginThrottle;
  telephony: TelephonyClients;
  /** Secure cookies: always behind an https PUBLIC_URL, otherwise when the request came over https */
  secureCookies: true | 'auto';
}
