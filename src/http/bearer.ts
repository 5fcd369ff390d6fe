/**
 * `Authorization: Bearer <token>` checks for the read API (STATE_API_TOKEN). The presented token
 * and the configured one are both hashed, so the constant-time comparison also hides the length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer +(\S+) *$/i;

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** A check of raw `Authorization` header values ('' when absent) against `token`. */
export function bearerCheck(token: string): (authorization: string) => boolean {
  if (token.length === 0) throw new TypeError('bearer token is empty');
  const expected = digest(token);
  return (authorization) => {
    const m = BEARER.exec(authorization);
    // Hash something even for a malformed header, so its handling takes as long as a wrong token's.
    return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
  };
}
