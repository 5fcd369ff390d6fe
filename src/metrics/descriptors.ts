/**
 * Every number the daemon reports, described once: where it sits in `GET /stats`, its Prometheus
 * family in `GET /metrics`, its InfluxDB field on interval points, what kind and unit it is, and
 * where its value comes from. stats-json.ts, prometheus.ts and influx-points.ts render this table
 * and know nothing of the metrics themselves, so a new metric is one row here.
 *
 * The rows are in /stats order (the document people read); Prometheus families follow the same
 * order. A row whose `read` gives undefined is absent from every output (a section the report does
 * not carry, e.g. persistence outside the daemon or the last snapshot before the first).
 */
import type { CompactionRecord, GenerationStats } from '../dedup/stats.js';
import { REJECT_REASONS } from '../http/reject-reason.js';
import type { LatencySummary } from './latency.js';
import type { MetricsSource } from './reading.js';

/**
 * counter / gauge: a number (or a yes/no), in every output that names it.
 * info: text or a small object, /stats only; with a Prometheus name it becomes an info gauge
 *   (value 1, the text in the label `infoLabel`).
 * section: a /stats object that may be null: `read` gives null (so is the section) or an object
 *   (the rows below it fill it in).
 * histogram: the request-duration histogram, Prometheus only.
 */
export type MetricKind = 'counter' | 'gauge' | 'info' | 'section' | 'histogram';

/**
 * What a value measures, which also says how each output writes it: Prometheus wants seconds
 * (milliseconds and microseconds are converted, an ISO time becomes Unix seconds, yes/no 1/0);
 * InfluxDB takes ratios and seconds as floats and everything else as integers.
 */
export type MetricUnit = 'count' | 'bytes' | 'bits' | 'ratio' | 'seconds' | 'milliseconds' | 'microseconds' | 'timestamp' | 'boolean' | 'text';

export type MetricValue = number | boolean | string | null | object;

export interface MetricDescriptor {
  kind: MetricKind;
  unit: MetricUnit;
  /** Prometheus HELP text; rows of one family share it. */
  help: string;
  /** Dotted path in the /stats document; absent: not in /stats. */
  stats?: string;
  /** Prometheus family name after the `cxone_dedup_` prefix; absent: not in /metrics. */
  prometheus?: string;
  /** Labels of this row's Prometheus sample. */
  labels?: Readonly<Record<string, string>>;
  /** For an info row: the Prometheus label that carries its text. */
  infoLabel?: string;
  /** Field on InfluxDB interval points; absent: not exported. */
  influx?: string;
  /** Where the value comes from; undefined: absent. */
  read(source: MetricsSource): MetricValue | undefined;
}

/** The sinks delivery can have (only configured ones report anything). */
const DELIVERY_SINKS = ['http', 'in-process', 'redis-stream'] as const;

/** The filter's two generations, as /stats, Prometheus labels and InfluxDB fields name them. */
const GENERATIONS = ['active', 'previous'] as const;
type Generation = (typeof GENERATIONS)[number];

/** One row per generation of a per-generation gauge; `influx` names the field of each, if any. */
function perGeneration(
  key: keyof GenerationStats,
  prometheus: string,
  unit: MetricUnit,
  help: string,
  influx: Partial<Record<Generation, string>>,
): MetricDescriptor[] {
  return GENERATIONS.map((generation) => ({
    kind: 'gauge',
    unit,
    help,
    stats: `filter.generations.${generation}.${key}`,
    prometheus,
    labels: { generation },
    ...(influx[generation] !== undefined && { influx: influx[generation] }),
    read: (s) => s.engine.filter[generation][key],
  }));
}

/** The recent-window quantiles: Prometheus label, /stats key, InfluxDB field. */
const QUANTILES: ReadonlyArray<readonly [string, keyof LatencySummary, string]> = [
  ['0.5', 'p50Us', 'latency_p50_us'],
  ['0.9', 'p90Us', 'latency_p90_us'],
  ['0.99', 'p99Us', 'latency_p99_us'],
  ['0.999', 'p999Us', 'latency_p999_us'],
  ['1', 'maxUs', 'latency_max_us'],
];

export const METRICS: readonly MetricDescriptor[] = [
  // ── requests and events ──
  { kind: 'counter', unit: 'count', help: 'Requests received on the webhook path.', stats: 'eventsReceived', prometheus: 'requests_received_total', influx: 'events_received', read: (s) => s.counters.received },
  { kind: 'counter', unit: 'count', help: 'Events accepted as new and processed.', stats: 'eventsProcessed', prometheus: 'events_processed_total', influx: 'events_processed', read: (s) => s.engine.eventsProcessed },
  { kind: 'counter', unit: 'count', help: 'Events rejected as duplicates.', stats: 'eventsDeduplicated', prometheus: 'events_deduplicated_total', influx: 'events_deduplicated', read: (s) => s.engine.eventsDeduplicated },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Events a Bloom filter flagged in a generation whose fingerprint table is inexact (overflowed, or restored from a format-1 snapshot), decided by UNCONFIRMED_POLICY (counted inside processed or deduplicated).',
    stats: 'eventsUnconfirmed',
    prometheus: 'events_unconfirmed_total',
    influx: 'events_unconfirmed',
    read: (s) => s.engine.eventsUnconfirmed,
  },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Events decided on this replica\'s local window because Redis could not answer (DEDUP_STORE=redis, REDIS_FAILURE_POLICY=local); counted inside processed or deduplicated.',
    stats: 'eventsDecidedLocally',
    prometheus: 'events_decided_locally_total',
    influx: 'events_decided_locally',
    read: (s) => (s.store?.kind === 'redis' ? s.store.decidedLocally : undefined),
  },
  { kind: 'counter', unit: 'count', help: 'Webhook requests rejected, all reasons.', stats: 'eventsRejected', influx: 'events_rejected', read: (s) => s.counters.rejected },
  ...REJECT_REASONS.map(
    (reason): MetricDescriptor => ({
      kind: 'counter',
      unit: 'count',
      help: 'Webhook requests rejected, by reason.',
      stats: `rejectedByReason.${reason}`,
      prometheus: 'requests_rejected_total',
      labels: { reason },
      influx: `events_rejected_${reason}`,
      read: (s) => s.counters.rejectedByReason[reason] ?? 0,
    }),
  ),
  { kind: 'counter', unit: 'count', help: 'Bloom filter generation swaps.', stats: 'compactions', prometheus: 'compactions_total', influx: 'compaction_count', read: (s) => s.engine.compactions },

  // ── the Bloom filter ──
  { kind: 'info', unit: 'text', help: 'Bloom filter implementation in use (value is always 1).', stats: 'filter.kind', prometheus: 'filter_info', infoLabel: 'kind', read: (s) => s.engine.filter.kind },
  { kind: 'gauge', unit: 'count', help: 'Keys each Bloom generation is sized for.', stats: 'filter.capacity', prometheus: 'filter_capacity', read: (s) => s.engine.filter.capacity },
  { kind: 'gauge', unit: 'ratio', help: 'False-positive rate each generation is sized for at capacity.', stats: 'filter.errorRate', prometheus: 'filter_target_error_rate', read: (s) => s.engine.filter.errorRate },
  { kind: 'gauge', unit: 'bits', help: 'Bits per Bloom generation.', stats: 'filter.bitCount', prometheus: 'filter_bits', read: (s) => s.engine.filter.bitCount },
  { kind: 'gauge', unit: 'count', help: 'Hash functions per key.', stats: 'filter.hashCount', prometheus: 'filter_hash_functions', read: (s) => s.engine.filter.hashCount },
  {
    kind: 'gauge',
    unit: 'count',
    help: 'Keys added to the active generation since it was cleared.',
    stats: 'filter.activeInsertions',
    prometheus: 'filter_active_insertions',
    influx: 'filter_active_insertions',
    read: (s) => s.engine.filter.activeInsertions,
  },
  ...perGeneration('fillRatio', 'filter_fill_ratio', 'ratio', 'Fraction of bits set, per generation.', { active: 'filter_fill_ratio', previous: 'filter_previous_fill_ratio' }),
  ...perGeneration('estimatedFalsePositiveRate', 'filter_estimated_false_positive_rate', 'ratio', 'Estimated false-positive rate (fill ratio ^ hash functions), per generation.', {
    active: 'filter_estimated_fpr',
    previous: 'filter_previous_estimated_fpr',
  }),
  ...perGeneration('estimatedCardinality', 'filter_estimated_cardinality', 'count', 'Estimated distinct keys, per generation.', {}),
  ...perGeneration('ageSeconds', 'filter_generation_age_seconds', 'seconds', 'Seconds since the generation was last cleared.', { active: 'filter_age_seconds' }),
  { kind: 'gauge', unit: 'count', help: 'Slots of each generation\'s fingerprint table.', stats: 'filter.tableSlots', prometheus: 'fingerprint_table_slots', read: (s) => s.engine.filter.tableSlots },
  ...perGeneration('tableLength', 'fingerprint_table_keys', 'count', 'Key fingerprints in each generation\'s table.', { active: 'fingerprint_table_keys' }),
  ...perGeneration('exact', 'fingerprint_table_exact', 'boolean', 'The generation\'s table holds every key recorded in it (0 after an overflow).', {}),
  {
    kind: 'counter',
    unit: 'count',
    help: 'Bloom "maybe" answers the fingerprint tables settled as new: fresh events no longer dropped as false positives.',
    stats: 'filter.falsePositivesCaught',
    prometheus: 'filter_false_positives_caught_total',
    influx: 'filter_false_positives_caught',
    read: (s) => s.engine.filter.falsePositivesCaught,
  },
  { kind: 'counter', unit: 'count', help: 'Keys a full fingerprint table could not take (its generation became inexact).', stats: 'filter.tableOverflows', prometheus: 'fingerprint_table_overflows_total', influx: 'fingerprint_table_overflows', read: (s) => s.engine.filter.tableOverflows },

  // ── the latest-state cache ──
  { kind: 'gauge', unit: 'count', help: 'Interactions in the latest-state cache.', stats: 'stateCache.size', prometheus: 'state_cache_entries', influx: 'state_cache_size', read: (s) => s.engine.stateCache.size },
  { kind: 'gauge', unit: 'count', help: 'Maximum interactions in the latest-state cache.', stats: 'stateCache.capacity', prometheus: 'state_cache_capacity', influx: 'state_cache_capacity', read: (s) => s.engine.stateCache.capacity },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Least-recently-used evictions from the state cache.',
    stats: 'stateCache.evictions',
    prometheus: 'state_cache_evictions_total',
    influx: 'state_evictions',
    read: (s) => s.engine.stateCache.evictions,
  },
  { kind: 'gauge', unit: 'bytes', help: 'Body bytes of the states in the latest-state cache.', stats: 'stateCache.bytes', prometheus: 'state_cache_bytes', influx: 'state_cache_bytes', read: (s) => s.engine.stateCache.bytes },
  { kind: 'gauge', unit: 'bytes', help: 'Bound on the body bytes of the cached states; null when unbounded.', stats: 'stateCache.maxBytes', read: (s) => s.engine.stateCache.maxBytes },

  // ── the dedup store (DEDUP_STORE) ──
  { kind: 'info', unit: 'text', help: 'Where the dedup window and the latest states live: memory or redis (value is always 1).', stats: 'store.kind', prometheus: 'dedup_store_info', infoLabel: 'kind', read: (s) => s.store?.kind },
  { kind: 'info', unit: 'text', help: 'REDIS_FAILURE_POLICY: reject or local.', stats: 'store.failurePolicy', read: (s) => (s.store?.kind === 'redis' ? s.store.failurePolicy : undefined) },
  {
    kind: 'gauge',
    unit: 'boolean',
    help: '1 while Redis is reachable (standalone: connected; Cluster: the last command succeeded).',
    stats: 'store.redisReachable',
    prometheus: 'redis_reachable',
    read: (s) => (s.store?.kind === 'redis' ? s.store.redisReachable : undefined),
  },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Store operations that failed for want of Redis (each a 503, or a local decision with REDIS_FAILURE_POLICY=local).',
    stats: 'store.redisFailures',
    prometheus: 'redis_failures_total',
    influx: 'redis_failures',
    read: (s) => (s.store?.kind === 'redis' ? s.store.redisFailures : undefined),
  },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Times a decision found its key or interaction held by another replica (its event being made durable) and waited.',
    stats: 'store.claimWaits',
    prometheus: 'redis_claim_waits_total',
    influx: 'redis_claim_waits',
    read: (s) => (s.store?.kind === 'redis' ? s.store.claimWaits : undefined),
  },

  // ── request latency ──
  { kind: 'histogram', unit: 'seconds', help: 'Webhook request duration since start.', prometheus: 'request_duration_seconds', read: (s) => s.latencyHistogram },
  { kind: 'counter', unit: 'count', help: 'Requests in the recent latency window.', stats: 'latency.count', influx: 'latency_count', read: (s) => s.latency.count },
  ...QUANTILES.map(
    ([quantile, key, influx]): MetricDescriptor => ({
      kind: 'gauge',
      unit: 'microseconds',
      help: 'Webhook request duration quantiles over the recent window (30-60 s by default).',
      stats: `latency.${key}`,
      prometheus: 'request_duration_recent_seconds',
      labels: { quantile },
      influx,
      read: (s) => s.latency[key],
    }),
  ),

  { kind: 'gauge', unit: 'seconds', help: 'Seconds since the daemon started.', stats: 'uptimeSeconds', prometheus: 'uptime_seconds', read: (s) => s.uptimeSeconds },

  // ── the InfluxDB exporter ──
  { kind: 'gauge', unit: 'boolean', help: '1 when metrics are exported to InfluxDB.', stats: 'exporter.enabled', prometheus: 'influx_export_enabled', read: (s) => s.exporter?.enabled },
  { kind: 'info', unit: 'text', help: 'Write target without credentials; null when disabled.', stats: 'exporter.target', read: (s) => s.exporter?.target },
  { kind: 'counter', unit: 'count', help: 'Points InfluxDB acknowledged.', stats: 'exporter.pointsWritten', prometheus: 'influx_points_written_total', read: (s) => s.exporter?.pointsWritten },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Points dropped because the export buffer was full or the exporter closed.',
    stats: 'exporter.pointsDropped',
    prometheus: 'influx_points_dropped_total',
    influx: 'exporter_points_dropped',
    read: (s) => s.exporter?.pointsDropped,
  },
  { kind: 'counter', unit: 'count', help: 'Points InfluxDB refused for good (400/413/422).', stats: 'exporter.pointsRejected', prometheus: 'influx_points_rejected_total', read: (s) => s.exporter?.pointsRejected },
  { kind: 'gauge', unit: 'count', help: 'Points waiting for delivery to InfluxDB.', stats: 'exporter.pointsBuffered', prometheus: 'influx_points_buffered', read: (s) => s.exporter?.pointsBuffered },
  { kind: 'gauge', unit: 'count', help: 'Capacity of the export buffer.', stats: 'exporter.maxBufferLines', prometheus: 'influx_buffer_capacity_points', read: (s) => s.exporter?.maxBufferLines },
  { kind: 'counter', unit: 'count', help: 'Failed write requests to InfluxDB.', stats: 'exporter.writeFailures', prometheus: 'influx_write_failures_total', read: (s) => s.exporter?.writeFailures },
  { kind: 'gauge', unit: 'count', help: 'Failed writes since the last success.', stats: 'exporter.consecutiveFailures', read: (s) => s.exporter?.consecutiveFailures },
  { kind: 'info', unit: 'text', help: 'The last write error, if any.', stats: 'exporter.lastError', read: (s) => s.exporter && (s.exporter.lastError ? { ...s.exporter.lastError } : null) },
  { kind: 'info', unit: 'text', help: 'When InfluxDB last acknowledged a write.', stats: 'exporter.lastSuccessAt', read: (s) => s.exporter?.lastSuccessAt },

  { kind: 'gauge', unit: 'count', help: 'Webhook requests whose response is not written yet (daemon only).', stats: 'inFlight', read: (s) => s.inFlight },
  { kind: 'gauge', unit: 'count', help: 'Worker threads serving the port (WORKERS); absent with one thread.', prometheus: 'worker_threads', read: (s) => s.workers?.length },
  { kind: 'info', unit: 'text', help: 'Per worker thread (WORKERS > 1): its requests, decisions and requests in flight; the totals above are their sums.', stats: 'workers', read: (s) => s.workers },

  // ── delivery downstream (with a sink configured) ──
  { kind: 'info', unit: 'text', help: 'What is delivered: processed or updates.', stats: 'delivery.deliver', read: (s) => s.delivery?.deliver },
  { kind: 'info', unit: 'text', help: 'OUTBOX_DIR.', stats: 'delivery.outbox.dir', read: (s) => s.delivery?.outbox?.dir },
  { kind: 'gauge', unit: 'boolean', help: '1 while the outbox is full (OUTBOX_MAX_BYTES): events to deliver get 503.', stats: 'delivery.outbox.full', prometheus: 'outbox_full', influx: 'outbox_full', read: (s) => s.delivery?.outbox?.full },
  { kind: 'gauge', unit: 'bytes', help: 'Bytes of the outbox segments on disk.', stats: 'delivery.outbox.bytesOnDisk', prometheus: 'outbox_bytes', influx: 'outbox_bytes', read: (s) => s.delivery?.outbox?.bytesOnDisk },
  { kind: 'gauge', unit: 'bytes', help: 'OUTBOX_MAX_BYTES.', stats: 'delivery.outbox.maxBytes', prometheus: 'outbox_max_bytes', read: (s) => s.delivery?.outbox?.maxBytes },
  { kind: 'gauge', unit: 'count', help: 'Outbox segment files.', stats: 'delivery.outbox.segments', read: (s) => s.delivery?.outbox?.segments },
  { kind: 'counter', unit: 'count', help: 'Events written to the outbox.', stats: 'delivery.outbox.appends', prometheus: 'outbox_appends_total', influx: 'outbox_appends', read: (s) => s.delivery?.outbox?.appends },
  { kind: 'counter', unit: 'count', help: 'Outbox group commits (one write and one fdatasync each).', stats: 'delivery.outbox.commits', prometheus: 'outbox_commits_total', influx: 'outbox_commits', read: (s) => s.delivery?.outbox?.commits },
  ...(['last', 'max', 'mean'] as const).map(
    (stat): MetricDescriptor => ({
      kind: 'gauge',
      unit: 'milliseconds',
      help: 'Outbox group-commit latency (write to end of fdatasync): the last, the largest and the mean since start.',
      stats: `delivery.outbox.commitLatencyMs.${stat}`,
      prometheus: 'outbox_commit_latency_seconds',
      labels: { stat },
      influx: `outbox_commit_latency_${stat}_ms`,
      read: (s) => s.delivery?.outbox?.commitLatencyMs[stat],
    }),
  ),
  { kind: 'gauge', unit: 'count', help: 'Mean events per outbox group commit.', stats: 'delivery.outbox.batchRecordsMean', read: (s) => s.delivery?.outbox?.batchRecordsMean },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Webhooks answered 503 because their event could not be made durable (also in requests_rejected_total{reason="unavailable"}).',
    stats: 'delivery.rejectedForDurability',
    prometheus: 'delivery_rejected_for_durability_total',
    influx: 'delivery_rejected_for_durability',
    read: (s) => s.delivery?.rejectedForDurability,
  },
  ...DELIVERY_SINKS.flatMap((sink): MetricDescriptor[] => {
    const field = (name: string) => `delivery_${sink.replace(/-/g, '_')}_${name}`;
    const read = (s: MetricsSource) => s.delivery?.sinks[sink];
    return [
      { kind: 'gauge', unit: 'count', help: 'Events accepted and not yet delivered, per sink.', stats: `delivery.sinks.${sink}.queuedRecords`, prometheus: 'delivery_queue_records', labels: { sink }, influx: field('queue_records'), read: (s) => read(s)?.queuedRecords },
      { kind: 'gauge', unit: 'bytes', help: 'Bytes of the events accepted and not yet delivered, per sink.', stats: `delivery.sinks.${sink}.queuedBytes`, prometheus: 'delivery_queue_bytes', labels: { sink }, influx: field('queue_bytes'), read: (s) => read(s)?.queuedBytes },
      {
        kind: 'gauge',
        unit: 'milliseconds',
        help: 'Age of the oldest undelivered event, per sink: the delivery lag.',
        stats: `delivery.sinks.${sink}.oldestUndeliveredAgeMs`,
        prometheus: 'delivery_lag_seconds',
        labels: { sink },
        influx: field('lag_ms'),
        read: (s) => read(s)?.oldestUndeliveredAgeMs,
      },
      { kind: 'counter', unit: 'count', help: 'Events delivered, per sink.', stats: `delivery.sinks.${sink}.delivered`, prometheus: 'delivery_delivered_total', labels: { sink }, influx: field('delivered'), read: (s) => read(s)?.delivered },
      { kind: 'counter', unit: 'count', help: 'Failed delivery attempts that will be retried, per sink.', stats: `delivery.sinks.${sink}.retried`, prometheus: 'delivery_retries_total', labels: { sink }, influx: field('retried'), read: (s) => read(s)?.retried },
      { kind: 'counter', unit: 'count', help: 'Events given up on and written to the dead-letter file, per sink.', stats: `delivery.sinks.${sink}.deadLettered`, prometheus: 'delivery_dead_lettered_total', labels: { sink }, influx: field('dead_lettered'), read: (s) => read(s)?.deadLettered },
      { kind: 'gauge', unit: 'count', help: 'Delivery attempts in progress, per sink.', stats: `delivery.sinks.${sink}.inFlight`, prometheus: 'delivery_in_flight', labels: { sink }, read: (s) => read(s)?.inFlight },
      { kind: 'info', unit: 'text', help: 'The last delivery error, per sink.', stats: `delivery.sinks.${sink}.lastError`, read: (s) => read(s)?.lastError },
      // The stream is appended to before the 200 (nothing queued or retried): a failed append is a 503.
      ...(sink === 'redis-stream'
        ? [{ kind: 'counter', unit: 'count', help: 'Appends to the Redis stream that failed (each webhook answered 503, nothing recorded).', stats: `delivery.sinks.${sink}.failures`, prometheus: 'delivery_redis_stream_failures_total', influx: field('failures'), read: (s: MetricsSource) => read(s)?.failures } satisfies MetricDescriptor]
        : []),
    ];
  }),

  // ── persistence (daemon only) ──
  { kind: 'gauge', unit: 'boolean', help: '1 when snapshots are written (SNAPSHOT_PATH is set).', stats: 'snapshot.enabled', prometheus: 'snapshot_enabled', read: (s) => s.snapshots?.enabled },
  { kind: 'info', unit: 'text', help: 'SNAPSHOT_PATH.', stats: 'snapshot.path', read: (s) => s.snapshots?.path },
  { kind: 'gauge', unit: 'seconds', help: 'Seconds between snapshots.', stats: 'snapshot.intervalSeconds', read: (s) => s.snapshots?.intervalSeconds },
  { kind: 'gauge', unit: 'boolean', help: '1 while a snapshot is being written.', stats: 'snapshot.inProgress', prometheus: 'snapshot_in_progress', read: (s) => s.snapshots?.inProgress },
  { kind: 'counter', unit: 'count', help: 'Snapshots written since start.', stats: 'snapshot.written', prometheus: 'snapshots_written_total', read: (s) => s.snapshots?.written },
  {
    kind: 'counter',
    unit: 'count',
    help: 'Snapshot writes that failed or were abandoned (the previous file stayed).',
    stats: 'snapshot.failed',
    prometheus: 'snapshots_failed_total',
    read: (s) => s.snapshots?.failed,
  },
  { kind: 'counter', unit: 'count', help: 'Interval ticks with nothing new to write.', stats: 'snapshot.unchanged', read: (s) => s.snapshots?.unchanged },
  { kind: 'counter', unit: 'count', help: 'Interval ticks that found the previous snapshot still being written.', stats: 'snapshot.skippedBusy', read: (s) => s.snapshots?.skippedBusy },
  {
    kind: 'info',
    unit: 'text',
    help: 'What was restored at start, if anything.',
    stats: 'snapshot.restored',
    read: (s) => s.snapshots && (s.snapshots.restored && { interactions: s.snapshots.restored.interactions, bytes: s.snapshots.restored.bytes, createdAt: s.snapshots.restored.createdAt }),
  },
  { kind: 'section', unit: 'text', help: 'The last snapshot written; null before the first.', stats: 'snapshot.last', read: (s) => s.snapshots?.last },
  // Alert on `time() - cxone_dedup_snapshot_last_success_timestamp_seconds` growing.
  { kind: 'gauge', unit: 'timestamp', help: 'Unix time of the last snapshot written.', stats: 'snapshot.last.at', prometheus: 'snapshot_last_success_timestamp_seconds', read: (s) => s.snapshots?.last?.at },
  { kind: 'info', unit: 'text', help: 'Why the last snapshot was written.', stats: 'snapshot.last.reason', read: (s) => s.snapshots?.last?.reason },
  { kind: 'gauge', unit: 'bytes', help: 'Size of the last snapshot file.', stats: 'snapshot.last.bytes', prometheus: 'snapshot_last_bytes', read: (s) => s.snapshots?.last?.bytes },
  { kind: 'gauge', unit: 'count', help: 'Interactions in the last snapshot.', stats: 'snapshot.last.interactions', prometheus: 'snapshot_last_interactions', read: (s) => s.snapshots?.last?.interactions },
  {
    kind: 'gauge',
    unit: 'milliseconds',
    help: 'How long the last snapshot took, capture to rename.',
    stats: 'snapshot.last.durationMs',
    prometheus: 'snapshot_last_duration_seconds',
    read: (s) => s.snapshots?.last?.durationMs,
  },
  { kind: 'gauge', unit: 'milliseconds', help: 'The synchronous capture of the last snapshot.', stats: 'snapshot.last.captureMs', read: (s) => s.snapshots?.last?.captureMs },
  {
    kind: 'gauge',
    unit: 'milliseconds',
    help: 'Longest event-loop delay while the last snapshot was taken (what requests may have waited).',
    stats: 'snapshot.last.maxEventLoopDelayMs',
    prometheus: 'snapshot_last_max_event_loop_delay_seconds',
    read: (s) => s.snapshots?.last?.maxEventLoopDelayMs,
  },
  {
    kind: 'gauge',
    unit: 'milliseconds',
    help: 'The same, after the capture: while stringifying, hashing and writing.',
    stats: 'snapshot.last.writeMaxEventLoopDelayMs',
    read: (s) => s.snapshots?.last?.writeMaxEventLoopDelayMs,
  },
  {
    kind: 'info',
    unit: 'text',
    help: 'The last snapshot error, if any.',
    stats: 'snapshot.lastError',
    read: (s) => s.snapshots && (s.snapshots.lastError && { message: s.snapshots.lastError.message, at: s.snapshots.lastError.at }),
  },
];

/** A field of the InfluxDB point written at each compaction (kind=compaction). */
export interface CompactionField {
  influx: string;
  unit: MetricUnit;
  read(record: CompactionRecord): number;
}

export const COMPACTION_FIELDS: readonly CompactionField[] = [
  { influx: 'compaction_count', unit: 'count', read: (r) => r.compactionCount },
  { influx: 'events_processed', unit: 'count', read: (r) => r.eventsProcessed },
  { influx: 'events_deduplicated', unit: 'count', read: (r) => r.eventsDeduplicated },
  { influx: 'events_unconfirmed', unit: 'count', read: (r) => r.eventsUnconfirmed },
  { influx: 'state_cache_size', unit: 'count', read: (r) => r.stateCacheSize },
  { influx: 'state_evictions', unit: 'count', read: (r) => r.stateEvictions },
  { influx: 'retired_insertions', unit: 'count', read: (r) => r.retiredInsertions },
  { influx: 'retired_fill_ratio', unit: 'ratio', read: (r) => r.retiredFillRatio },
  { influx: 'retired_estimated_fpr', unit: 'ratio', read: (r) => r.retiredEstimatedFalsePositiveRate },
  { influx: 'duration_us', unit: 'microseconds', read: (r) => r.durationUs },
];
