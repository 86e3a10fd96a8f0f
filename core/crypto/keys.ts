import { hkdfSync } from 'node:crypto';

const cache = new Map<string, Buffer>();

/**
 * A 32-byte key for one purpose, derived from SECRET_KEY with HKDF-SHA256. Each use (stored
 * passwords, unsubscribe links…) gets its own key, so a key leaked or misused in one place
 * says nothing about the others, and SECRET_KEY itself is never used directly.
 */
export function deriveKey(secretKey: string, purpose: string): Buffer {
  const id = `${purpose}\u0000${secretKey}`;
  let key = cache.get(id);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), Buffer.from('chat-crm', 'utf8'), Buffer.from(purpose, 'utf8'), 32));
    cache.set(id, key);
  }
  return key;
}
