import { isIP } from 'node:net';
import { z } from 'zod';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const optionalUrl = z.url().optional();

/**
 * Which peers may say who the client is (X-Forwarded-For, -Proto, -Host), as Fastify's trustProxy:
 * `true` (every peer) or addresses and CIDR ranges separated by commas (also `loopback`,
 * `linklocal`, `uniquelocal`). `false`, the default, trusts nobody: otherwise a client could pick
 * its own address and step around per-address sign-in limits.
 */
const trustProxy = z.string().transform((v, c): boolean | string[] => {
  if (v === 'true') return true;
  if (v === 'false') return false;
  const list = v.split(/[\s,]+/).filter(Boolean);
  const bad = list.find((x) => !isProxyAddress(x));
  if (bad !== undefined) c.addIssue({ code: 'custom', message: `not an address or CIDR range: ${bad} (use true, or addresses like 127.0.0.1,10.0.0.0/8)` });
  return list;
});

function isProxyAddress(value: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(value)) return true;
  const [address, prefix, ...more] = value.split('/');
  const family = isIP(address ?? '');
  if (!family || more.length) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** The one description of the environment the CRM reads (ARCHITECTURE.md, "Config contract"). */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: optionalUrl,
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  TIME_ZONE: z.string().default('Europe/Moscow'),
  /** local hour at which each manager gets the day's works in Telegram */
  WORK_DIGEST_HOUR: z.coerce.number().int().min(0).max(23).default(9),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[\w-]+$/, 'must look like 123456:ABC-def').optional(),
  TELEGRAM_API_ROOT: z.url().default('https://api.telegram.org'),
  TELEGRAM_MODE: z.enum(['polling', 'webhook']).default('polling'),
  TELEGRAM_WEBHOOK_SECRET: z.string().regex(/^[\w-]{1,256}$/, 'use 1-256 of A-Z a-z 0-9 _ -').optional(),
  VIBER_AUTH_TOKEN: z.string().optional(),
  VIBER_BOT_NAME: z.string().optional(),
  VIBER_API_ROOT: z.url().default('https://chatapi.viber.com/pa'),
  WHATSAPP_ENABLED: bool.default(false),
  WHATSAPP_SESSION_DIR: z.string().optional(),
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
  MANGO_API_KEY: z.string().optional(),
  MANGO_API_SALT: z.string().optional(),
  MANGO_API_ROOT: z.url().default('https://app.mango-office.ru/vpbx'),
  /** Zebra Telecom (a Kazoo platform): its API gateway, the cabinet's login, password and realm (NNNNN.ztpbx.ru); the secret in our webhook URLs */
  ZEBRA_API_ROOT: z.url().default('https://api.zebratelecom.ru/v1/kazoos'),
  ZEBRA_LOGIN: z.string().optional(),
  ZEBRA_PASSWORD: z.string().optional(),
  ZEBRA_REALM: z.string().optional(),
  ZEBRA_WEBHOOK_SECRET: z.string().min(16, 'не короче 16 символов').optional(),
  /** any other PBX: the HMAC-SHA256 key its call events are signed with */
  PBX_WEBHOOK_SECRET: z.string().min(16, 'не короче 16 символов').optional(),
  /** mail servers on loopback or a private network may be checked and used (a mail server in the office LAN) */
  MAIL_ALLOW_PRIVATE_HOSTS: bool.default(false),
  TRUST_PROXY: trustProxy.default(false),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/**
 * Pure: reads only the given env. Empty strings count as unset so that a blank line in .env
 * does not turn into a bad value. The first problem is reported as one line naming the variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'config');
    throw new ConfigError(`Invalid ${name}: ${issue.message}`);
  }
  return parsed.data;
}
