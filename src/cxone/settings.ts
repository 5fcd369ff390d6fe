/**
 * CXone connection settings from the environment. Reading them never throws: the daemon must
 * keep serving webhooks even when the CXone side is misconfigured, so problems come back as data.
 */

/** The API host used when CXONE_REGION is unset. */
export const DEFAULT_REGION = 'api-us-1.cxone.com';

/**
 * CXone's documented OAuth issuer is global: `https://cxone.niceincontact.com/.well-known/openid-configuration`
 * names this token endpoint for every area, so the region does not change it.
 */
export const DEFAULT_TOKEN_URL = 'https://cxone.niceincontact.com/auth/token';

/** Version path appended to `https://<region>` to form the default API base. */
export const API_VERSION_PATH = '/v1';

export const CXONE_ENV_VARS = [
  'CXONE_CLIENT_ID',
  'CXONE_CLIENT_SECRET',
  'CXONE_REGION',
  'CXONE_TOKEN_URL',
  'CXONE_API_BASE',
  'CXONE_WEBHOOK_URL',
  'CXONE_WEBHOOK_SECRET',
] as const;

export interface CxoneEndpoints {
  region: string;
  /** POST target for client-credentials tokens. */
  tokenUrl: string;
  /** Base of the REST API, without a trailing slash; webhooks live at `${apiBase}/webhooks`. */
  apiBase: string;
}

export interface CxoneSettings extends CxoneEndpoints {
  clientId: string;
  /** Never log. */
  clientSecret: string;
  /** The public HTTPS URL CXone should deliver events to. */
  webhookUrl: string;
  /** Shared HMAC secret for X-NICE-Signature; never log. */
  webhookSecret: string;
}

export type CxoneSettingsResult =
  | { kind: 'disabled'; reason: string }
  | { kind: 'invalid'; errors: string[] }
  | { kind: 'ok'; settings: CxoneSettings };

type Env = Record<string, string | undefined>;

/** The raw settings, as the environment or the daemon's Config carries them (undefined = unset). */
export interface CxoneSettingsInput {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  region?: string | undefined;
  tokenUrl?: string | undefined;
  apiBase?: string | undefined;
  webhookUrl?: string | undefined;
  webhookSecret?: string | undefined;
}

const HOST = /^(?=.{1,253}(?::\d{1,5})?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$/;

function trimmed(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

function httpUrl(raw: string, name: string, errors: string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    errors.push(`${name} is not a valid absolute URL`);
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    errors.push(`${name} must be an http(s) URL, got ${u.protocol}`);
    return undefined;
  }
  if (u.username || u.password) {
    errors.push(`${name} must not contain credentials`);
    return undefined;
  }
  return u.toString();
}

/** Token URL and API base from region / token URL / API base (errors name the env vars). */
export function resolveCxoneEndpoints(input: Pick<CxoneSettingsInput, 'region' | 'tokenUrl' | 'apiBase'>, errors: string[] = []): CxoneEndpoints | undefined {
  const before = errors.length;
  const region = trimmed(input.region) ?? DEFAULT_REGION;
  if (!HOST.test(region)) errors.push(`CXONE_REGION must be a host name such as ${DEFAULT_REGION} (no scheme or path)`);
  const tokenRaw = trimmed(input.tokenUrl);
  const tokenUrl = tokenRaw ? httpUrl(tokenRaw, 'CXONE_TOKEN_URL', errors) : DEFAULT_TOKEN_URL;
  const apiRaw = trimmed(input.apiBase);
  const apiBase = apiRaw ? httpUrl(apiRaw, 'CXONE_API_BASE', errors) : `https://${region}${API_VERSION_PATH}`;
  if (errors.length > before || !tokenUrl || !apiBase) return undefined;
  return { region, tokenUrl, apiBase: apiBase.replace(/\/+$/, '') };
}

/**
 * Disabled when the client id is unset (registration is skipped); invalid, listing every
 * problem, when it is set but something else is missing or malformed. Secrets are taken as
 * given (not trimmed).
 */
export function resolveCxoneSettings(input: CxoneSettingsInput): CxoneSettingsResult {
  const clientId = trimmed(input.clientId);
  if (!clientId) return { kind: 'disabled', reason: 'CXONE_CLIENT_ID is not set' };
  const errors: string[] = [];
  const clientSecret = input.clientSecret ?? '';
  if (!clientSecret) errors.push('CXONE_CLIENT_SECRET is not set');
  const endpoints = resolveCxoneEndpoints(input, errors);
  const webhookRaw = trimmed(input.webhookUrl);
  const webhookUrl = webhookRaw ? httpUrl(webhookRaw, 'CXONE_WEBHOOK_URL', errors) : undefined;
  if (!webhookRaw) errors.push('CXONE_WEBHOOK_URL is not set (the public HTTPS URL CXone should call)');
  const webhookSecret = input.webhookSecret ?? '';
  if (!webhookSecret) errors.push('CXONE_WEBHOOK_SECRET is not set');
  if (errors.length > 0 || !endpoints || !webhookUrl) return { kind: 'invalid', errors };
  return { kind: 'ok', settings: { ...endpoints, clientId, clientSecret, webhookUrl, webhookSecret } };
}

/** resolveCxoneSettings over the CXONE_* environment variables. */
export function cxoneSettingsFromEnv(env: Env = process.env): CxoneSettingsResult {
  return resolveCxoneSettings({
    clientId: env.CXONE_CLIENT_ID,
    clientSecret: env.CXONE_CLIENT_SECRET,
    region: env.CXONE_REGION,
    tokenUrl: env.CXONE_TOKEN_URL,
    apiBase: env.CXONE_API_BASE,
    webhookUrl: env.CXONE_WEBHOOK_URL,
    webhookSecret: env.CXONE_WEBHOOK_SECRET,
  });
}
