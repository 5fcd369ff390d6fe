/** Delivery downstream: dispatcher, sinks and the dead-letter file (see issue 10). */
export type { DeliveryRecord, NewDeliveryRecord, DeliverySource } from './types.js';
export type { DeliveryOutcome, DeliverySink } from './sink.js';
export {
  Dispatcher,
  DEFAULT_DELIVERY_BACKOFF,
  DEFAULT_DELIVERY_CONCURRENCY,
  DEFAULT_DELIVERY_MAX_AGE_MS,
  DEFAULT_DELIVERY_MAX_ATTEMPTS,
  type DispatcherOptions,
  type DispatcherStats,
  type DeliveryError,
  type StopResult,
} from './dispatcher.js';
export { HttpSink, DEFAULT_DELIVERY_TIMEOUT_MS, type HttpSinkOptions } from './http-sink.js';
export { InProcessSink, PermanentDeliveryError, DEFAULT_IN_PROCESS_TIMEOUT_MS, type DeliveryMeta, type OnEvent, type InProcessSinkOptions } from './in-process-sink.js';
export {
  DeadLetterFile,
  DEAD_LETTER_FILE_NAME,
  defaultDeadLetterPath,
  formatDeadLetter,
  deadLetterBody,
  type DeadLetter,
  type DeadLetterLine,
  type DeadLetterWriter,
} from './dead-letter.js';
export { httpSinkFromConfig, dispatcherLimits, type DeliverySettings } from './from-config.js';
export { headerSafe } from './http-sink.js';
