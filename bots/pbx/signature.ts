import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed request's X-CRM-Timestamp may be from our clock: a captured request replays for no longer. */
export const PBX_SIGNATURE_TOLERANCE_SEC = 300;

/**
 * The generic PBX webhook's signature: `sha256=` + hex HMAC-SHA256 with PBX_WEBHOOK_SECRET of the
 * timestamp (unix seconds, as sent in X-CRM-Timestamp), a dot and the raw body. The timestamp
 * inside the signed text is what makes a replay older than the tolerance useless.
 */
export function pbxSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export type PbxSignatureCheck = 'ok' | 'missing' | 'stale' | 'wrong';

/** Whether a request is signed by a PBX holding our secret, within the tolerance of `now`. */
export function checkPbxSignature(
  secret: string,
  raw: Buffer,
  headers: { timestamp?: string | string[] | undefined; signature?: string | string[] | undefined },
  now: Date,
): PbxSignatureCheck {
  const { timestamp, signature } = headers;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'wrong';
  const given = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
  const expected = Buffer.from(pbxSignature(secret, timestamp, raw).slice('sha256='.length), 'hex');
  const signed = given !== null && timingSafeEqual(expected, Buffer.from(given[1]!, 'hex'));
  if (!signed) return 'wrong';
  return Math.abs(now.getTime() / 1000 - Number(timestamp)) > PBX_SIGNATURE_TOLERANCE_SEC ? 'stale' : 'ok';
}
