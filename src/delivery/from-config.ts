/** The delivery settings of a Config turned into sink and dispatcher options (for the daemon's wiring). */
import type { DispatcherOptions } from './dispatcher.js';
import { HttpSink } from './http-sink.js';

/** The HTTP sink's and the dispatchers' settings (config.ts's names: a Config is one). */
export interface DeliverySettings {
  deliveryUrl: string | undefined;
  deliverySecret: string | undefined;
  deliveryConcurrency: number;
  deliveryMaxAttempts: number;
  deliveryMaxAgeSeconds: number;
  deliveryTimeoutMs: number;
}

/** The HTTP sink DELIVERY_URL asks for, or undefined when it is unset. */
export function httpSinkFromConfig(c: DeliverySettings): HttpSink | undefined {
  if (c.deliveryUrl === undefined) return undefined;
  return new HttpSink({ url: c.deliveryUrl, secret: c.deliverySecret, timeoutMs: c.deliveryTimeoutMs, maxSockets: c.deliveryConcurrency });
}

/** The limits every dispatcher shares (add source, sink, deadLetters, logger). */
export function dispatcherLimits(c: DeliverySettings): Pick<DispatcherOptions, 'concurrency' | 'maxAttempts' | 'maxAgeMs'> {
  return { concurrency: c.deliveryConcurrency, maxAttempts: c.deliveryMaxAttempts, maxAgeMs: Math.round(c.deliveryMaxAgeSeconds * 1000) };
}
