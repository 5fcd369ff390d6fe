/**
 * The answer to one webhook request, decided before anything is written, and the statuses the
 * rejection reasons map to. Shared by the portable path (server.ts) and the native one
 * (native-path.ts), so both answer alike.
 */
import type { RejectReason } from './reject-reason.js';

export interface Reply {
  status: number;
  body: string | Uint8Array;
  /** Set for rejections: what the observer counts. */
  reason?: Exclude<RejectReason, 'aborted'>;
  /** The request body may still be arriving: ask the client to close, don't reset. */
  bodyUnread?: boolean;
  /** E.g. Retry-After on a 503. */
  headers?: Readonly<Record<string, string>>;
}

export const REJECT_STATUS: Record<Exclude<RejectReason, 'aborted'>, number> = {
  missing_signature: 403,
  bad_signature: 401,
  replayed: 401,
  body_too_large: 413,
  malformed_json: 400,
  invalid_event: 400,
  unavailable: 503,
  internal_error: 500,
};

export function rejection(reason: Exclude<RejectReason, 'aborted'>, message: string, field?: string, bodyUnread = false): Reply {
  const body = field === undefined ? { error: message } : { error: message, field };
  return { status: REJECT_STATUS[reason], body: JSON.stringify(body), reason, bodyUnread };
}

/** What the signature verdicts (signature.ts) are answered with. */
export interface SignatureMessages {
  /** "missing X-NICE-Signature header", naming the configured header. */
  missingSignature: string;
  /** "missing x-nice-timestamp header (signed timestamps are required)". */
  missingTimestamp: string;
}

export function signatureRejection(verdict: 'missing_signature' | 'bad_signature' | 'replayed' | 'missing_timestamp', m: SignatureMessages): Reply {
  switch (verdict) {
    case 'missing_signature':
      return rejection(verdict, m.missingSignature);
    case 'bad_signature':
      return rejection(verdict, 'invalid signature');
    case 'replayed':
      return rejection(verdict, 'timestamp outside the replay window');
    default:
      return rejection('replayed', m.missingTimestamp);
  }
}
