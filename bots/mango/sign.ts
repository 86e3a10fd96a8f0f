import { createHash, timingSafeEqual } from 'node:crypto';
import { sameText } from '../../core/crypto/same-text.js';

/**
 * Mango Office VPBX signs every request both ways (API v1.9 §2.4.3): sign = sha256 hex of
 * vpbx_api_key + json + vpbx_api_salt, where json is the exact string sent in the form. The salt
 * never travels; the key does, in the form's vpbx_api_key.
 */
export function mangoSign(apiKey: string, json: string, apiSalt: string): string {
  return createHash('sha256').update(apiKey + json + apiSalt, 'utf8').digest('hex');
}

/**
 * Whether a form Mango posted is ours: the key equals our key and the sign matches the json as
 * received. Both compared in constant time, so a forger learns nothing from how fast we refuse.
 */
export function validMangoSign(form: { vpbx_api_key?: unknown; sign?: unknown; json?: unknown }, apiKey: string, apiSalt: string): boolean {
  const { vpbx_api_key: key, sign, json } = form;
  if (typeof key !== 'string' || typeof sign !== 'string' || typeof json !== 'string') return false;
  const keyOk = sameText(key, apiKey);
  const expected = Buffer.from(mangoSign(apiKey, json, apiSalt), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(sign) ? Buffer.from(sign, 'hex') : null;
  const signOk = given !== null && timingSafeEqual(expected, given);
  return keyOk && signOk;
}

/** The three form fields of a request to Mango, signed; `json` is sent exactly as signed. */
export function mangoForm(apiKey: string, apiSalt: string, payload: unknown): URLSearchParams {
  const json = JSON.stringify(payload);
  return new URLSearchParams({ vpbx_api_key: apiKey, sign: mangoSign(apiKey, json, apiSalt), json });
}
