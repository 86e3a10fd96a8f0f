import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from './keys.js';

const VERSION = 'v1';

/**
 * Authenticated encryption (AES-256-GCM) of a short secret, such as a mailbox password, with a
 * key derived from SECRET_KEY for `purpose`. The result is text: `v1.<iv>.<tag>.<ciphertext>`
 * in base64url. The purpose is also bound as associated data, so a value cannot be moved to
 * another use.
 */
export function encryptSecret(secretKey: string, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secretKey, purpose), iv);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
}

export class SecretDecryptError extends Error {}

/** Throws SecretDecryptError when the value was tampered with or SECRET_KEY has changed. */
export function decryptSecret(secretKey: string, purpose: string, sealed: string): string {
  const [version, iv, tag, data] = sealed.split('.');
  if (version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
    throw new SecretDecryptError('unknown format of an encrypted value');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(secretKey, purpose), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError('an encrypted value cannot be decrypted: wrong SECRET_KEY or damaged data');
  }
}
