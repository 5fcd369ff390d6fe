/**
 * The webhook registration the daemon runs at start, in the background: the server keeps serving
 * webhooks while it retries. `status()` is a JSON-safe copy for /readyz.
 *
 *   disabled                      no CXONE_CLIENT_ID: skipped, one log line
 *   pending → retrying(n) → …     attempts in progress / waiting for the next one
 *   registered | already_registered | failed(reason)   terminal
 */
import { silentLogger, type Logger } from '../log.js';
import { TokenProvider } from './oauth.js';
import type { CxoneSettings, CxoneSettingsResult } from './settings.js';
import {
  registerWebhook,
  WebhookRegistrationError,
  DATA_ACTION_UPDATED,
  type RegisterWebhookOptions,
  type RegisterWebhookResult,
  type RetryInfo,
  type WebhookErrorCode,
} from './webhooks.js';

export type RegistrationState = 'disabled' | 'pending' | 'retrying' | 'registered' | 'already_registered' | 'failed';

export type RegistrationStatus =
  | { state: 'disabled'; reason: string }
  | { state: 'pending'; since: string; attempt: number }
  | { state: 'retrying'; attempt: number; maxAttempts: number; nextRetryAt: string; lastError: string; lastStatus?: number }
  | { state: 'registered'; at: string; attempts: number; webhookId?: string }
  | { state: 'already_registered'; at: string; attempts: number }
  | { state: 'failed'; at: string; reason: string; code: WebhookErrorCode | 'invalid_settings' | 'internal'; attempts: number };

export function isTerminal(status: RegistrationStatus): boolean {
  return status.state !== 'pending' && status.state !== 'retrying';
}

/** Hooks the registration loop reports progress through. */
export interface RegisterHooks {
  signal: AbortSignal;
  onAttempt: (attempt: number) => void;
  onRetry: (info: RetryInfo) => void;
}

/** Performs one registration (all its attempts). Replaceable in tests. */
export type Registrar = (hooks: RegisterHooks) => Promise<RegisterWebhookResult>;

/** The tunables of registerWebhook a registrar passes through (the rest come from the settings and hooks). */
export type RegistrarOptions = Pick<
  RegisterWebhookOptions,
  'events' | 'maxAttempts' | 'requestTimeoutMs' | 'backoff' | 'random' | 'sleep' | 'now' | 'fetch' | 'logger'
>;

/** The real registrar: a TokenProvider for the settings, then registerWebhook. */
export function createRegistrar(settings: CxoneSettings, options: RegistrarOptions = {}): Registrar {
  return (hooks) => {
    const tokenProvider = new TokenProvider({
      tokenUrl: settings.tokenUrl,
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      signal: hooks.signal,
      ...(options.requestTimeoutMs !== undefined && { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.fetch && { fetch: options.fetch }),
      ...(options.now && { now: options.now }),
      ...(options.logger && { logger: options.logger }),
    });
    return registerWebhook({
      apiBase: settings.apiBase,
      tokenProvider,
      url: settings.webhookUrl,
      secret: settings.webhookSecret,
      events: options.events ?? [DATA_ACTION_UPDATED],
      maxAttempts: options.maxAttempts,
      requestTimeoutMs: options.requestTimeoutMs,
      backoff: options.backoff,
      random: options.random,
      sleep: options.sleep,
      now: options.now,
      fetch: options.fetch,
      logger: options.logger,
      signal: hooks.signal,
      onAttempt: hooks.onAttempt,
      onRetry: hooks.onRetry,
    });
  };
}

export interface WebhookRegistrationOptions extends RegistrarOptions {
  /** From cxoneSettingsFromEnv(). */
  settings: CxoneSettingsResult;
  /** Overrides the real registrar (tests, the daemon-level test of serving during retries). */
  registrar?: Registrar;
  /** Called after every state change with the new status. */
  onChange?: (status: RegistrationStatus) => void;
}

export class WebhookRegistration {
  private current: RegistrationStatus;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly registrar: Registrar | undefined;
  private readonly onChange: ((status: RegistrationStatus) => void) | undefined;
  private readonly controller = new AbortController();
  private readonly settings: CxoneSettingsResult;
  private running: Promise<void> | null = null;
  private settledPromise: Promise<RegistrationStatus>;
  private resolveSettled!: (status: RegistrationStatus) => void;

  constructor(options: WebhookRegistrationOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'cxone-registration' });
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange;
    this.settings = options.settings;
    this.settledPromise = new Promise((resolve) => {
      this.resolveSettled = resolve;
    });
    const s = options.settings;
    if (s.kind === 'disabled') {
      this.current = { state: 'disabled', reason: s.reason };
      this.registrar = undefined;
    } else if (s.kind === 'invalid') {
      this.current = { state: 'failed', at: this.iso(), reason: `invalid CXone settings: ${s.errors.join('; ')}`, code: 'invalid_settings', attempts: 0 };
      this.registrar = undefined;
    } else {
      this.current = { state: 'pending', since: this.iso(), attempt: 0 };
      this.registrar = options.registrar ?? createRegistrar(s.settings, { ...options, logger: options.logger ?? silentLogger });
    }
    if (isTerminal(this.current)) this.resolveSettled(this.copyStatus());
  }

  /** Whether CXONE_CLIENT_ID was set (registration is attempted). */
  get enabled(): boolean {
    return this.settings.kind !== 'disabled';
  }

  /** A JSON-safe copy of the current state. */
  status(): RegistrationStatus {
    return this.copyStatus();
  }

  /** Resolves with the terminal status (never rejects). */
  settled(): Promise<RegistrationStatus> {
    return this.settledPromise;
  }

  /**
   * Starts the registration in the background and returns at once; calling it again does nothing.
   * Never throws and never rejects: every outcome becomes a state and a log line.
   */
  start(): void {
    if (this.running) return;
    if (this.settings.kind === 'disabled') {
      this.running = Promise.resolve();
      this.log.info('CXone webhook registration skipped: CXONE_CLIENT_ID is not set');
      return;
    }
    if (this.settings.kind === 'invalid' || !this.registrar) {
      this.running = Promise.resolve();
      this.log.error('CXone webhook registration not attempted: invalid settings', { errors: this.settings.kind === 'invalid' ? this.settings.errors : [] });
      return;
    }
    const registrar = this.registrar;
    this.log.info('CXone webhook registration started');
    this.running = this.run(registrar);
  }

  /** Aborts a registration in progress (shutdown) and waits until it has stopped. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('shutdown'));
    await this.running;
  }

  private async run(registrar: Registrar): Promise<void> {
    let attempts = 0;
    try {
      const result = await registrar({
        signal: this.controller.signal,
        onAttempt: (attempt) => {
          attempts = attempt;
          if (this.current.state !== 'pending' || this.current.attempt !== attempt) {
            this.set({ state: 'pending', since: this.iso(), attempt });
          }
        },
        onRetry: (info) => {
          this.log.warn('CXone webhook registration attempt failed, will retry', {
            attempt: info.attempt,
            maxAttempts: info.maxAttempts,
            delayMs: info.delayMs,
            reason: info.reason,
          });
          this.set({
            state: 'retrying',
            attempt: info.attempt,
            maxAttempts: info.maxAttempts,
            nextRetryAt: new Date(info.nextAttemptAt).toISOString(),
            lastError: info.reason,
            ...(info.status !== undefined && { lastStatus: info.status }),
          });
        },
      });
      if (result.outcome === 'created') {
        this.log.info('CXone webhook subscription created', { attempts: result.attempts, status: result.status });
        this.set({ state: 'registered', at: this.iso(), attempts: result.attempts, ...(result.webhookId !== undefined && { webhookId: result.webhookId }) });
      } else {
        this.log.info('CXone webhook subscription already exists; nothing to do', { attempts: result.attempts });
        this.set({ state: 'already_registered', at: this.iso(), attempts: result.attempts });
      }
    } catch (err) {
      const code = err instanceof WebhookRegistrationError ? err.code : 'internal';
      const reason = err instanceof Error ? err.message : String(err);
      const n = err instanceof WebhookRegistrationError ? err.attempts : attempts;
      if (code === 'aborted') this.log.info('CXone webhook registration stopped at shutdown', { attempts: n });
      else this.log.error('CXone webhook registration failed', { code, reason, attempts: n });
      this.set({ state: 'failed', at: this.iso(), reason, code, attempts: n });
    }
  }

  private set(next: RegistrationStatus): void {
    if (isTerminal(this.current)) return;
    this.current = next;
    const status = this.copyStatus();
    try {
      this.onChange?.(status);
    } catch (err) {
      this.log.warn('registration onChange listener threw', { error: err });
    }
    if (isTerminal(next)) this.resolveSettled(status);
  }

  private copyStatus(): RegistrationStatus {
    return { ...this.current };
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}
