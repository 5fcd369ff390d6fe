/**
 * A worker thread's side of its port to the main thread: the outbox as a DurableLog (an append
 * waits for the main thread's commit), the whole process's report for /stats, /metrics and
 * /readyz, and the main thread's requests (its readings, stop, halt).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Readiness } from '../http/server.js';
import type { DurableLog } from '../intake/intake.js';
import type { NewDeliveryRecord } from '../delivery/types.js';
import type { MetricsReport } from '../metrics/reading.js';
import type { MainMessage, WorkerMessage, WorkerReading } from './protocol.js';

/** How long /stats, /metrics and /readyz wait for the main thread before answering 500. */
const REPORT_TIMEOUT_MS = 5000;

export interface MainLinkHandlers {
  /** This worker's numbers now. */
  reading(): WorkerReading;
  stop(timeoutMs: number): void;
  halt(): void;
}

export interface ProcessReport {
  report: MetricsReport;
  readiness: Readiness;
}

export class MainLink {
  readonly #port: MessagePort;
  #handlers: MainLinkHandlers | undefined;
  #nextId = 1;
  readonly #appends = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  readonly #reports = new Map<number, { resolve: (r: ProcessReport) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (m: MainMessage) => this.#receive(m));
  }

  /** Starts answering the main thread's requests (once the server exists). */
  serve(handlers: MainLinkHandlers): void {
    this.#handlers = handlers;
  }

  send(message: WorkerMessage, transfer?: ArrayBuffer[]): void {
    this.#port.postMessage(message, transfer);
  }

  /** The main thread's outbox, as the intake appends to it: resolved once it is on disk there. */
  get outbox(): DurableLog {
    return {
      name: 'outbox',
      append: (record: NewDeliveryRecord) =>
        new Promise<void>((resolve, reject) => {
          const id = this.#nextId++;
          // The intake's copy may sit in Buffer's shared pool: copy once more into a buffer of its
          // own, which is then moved (not copied) to the main thread.
          const body = new ArrayBuffer(record.body.byteLength);
          new Uint8Array(body).set(record.body);
          this.#appends.set(id, { resolve, reject });
          const { body: _bytes, ...rest } = record;
          this.send({ type: 'append', id, record: rest, body }, [body]);
        }),
    };
  }

  /** The process's numbers and readiness, gathered by the main thread from every worker. */
  report(reading: WorkerReading): Promise<ProcessReport> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#reports.delete(id);
        reject(new Error(`the main thread did not answer within ${REPORT_TIMEOUT_MS} ms`));
      }, REPORT_TIMEOUT_MS);
      this.#reports.set(id, { resolve, reject, timer });
      this.send({ type: 'report-request', id, reading });
    });
  }

  /** Lets the thread end: no more messages either way (pending requests are abandoned). */
  close(): void {
    for (const r of this.#reports.values()) clearTimeout(r.timer);
    this.#reports.clear();
    this.#port.close();
  }

  #receive(m: MainMessage): void {
    switch (m.type) {
      case 'appended': {
        const pending = this.#appends.get(m.id);
        this.#appends.delete(m.id);
        if (m.error === undefined) pending?.resolve();
        else pending?.reject(new Error(m.error));
        return;
      }
      case 'report': {
        const pending = this.#reports.get(m.id);
        if (pending === undefined) return;
        this.#reports.delete(m.id);
        clearTimeout(pending.timer);
        pending.resolve({ report: m.report, readiness: m.readiness });
        return;
      }
      case 'read':
        if (this.#handlers !== undefined) this.send({ type: 'reading', id: m.id, reading: this.#handlers.reading() });
        return;
      case 'stop':
        this.#handlers?.stop(m.timeoutMs);
        return;
      case 'halt':
        this.#handlers?.halt();
        return;
    }
  }
}
