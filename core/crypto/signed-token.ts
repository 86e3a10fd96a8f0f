import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from './keys.js';

/**
 * A compact signed token for links sent to the outside (e.g. unsubscribe): the payload as
 * base64url JSON, a dot, and an HMAC-SHA256 of it with a key derived for `purpose`, cut to
 * 128 bits so links stay short. Not encrypted: the payload must hold nothing secret.
 */
export function signToken(secretKey: string, purpose: string, payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${mac(secretKey, purpose, body).toString('base64url')}`;
}

/** The payload, or null when the token is malformed or its signature does not match. */
export function verifyToken<T = unknown>(secretKey: string, purpose: string, token: string): T | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 2000) return null;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(secretKey, purpose, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  } catch {
    return null;
  }
}

function mac(secretKey: string, purpose: string, body: string): Buffer {
  return createHmac('sha256', deriveKey(secretKey, purpose)).update(body).digest().subarray(0, 16);
}
