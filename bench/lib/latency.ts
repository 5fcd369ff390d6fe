/** Exact latency percentiles from every sample (a growable Float64Array; a 10 s run is < 10 M samples). */
export class LatencySamples {
  #data = new Float64Array(1 << 16);
  #n = 0;

  record(ms: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = ms;
  }

  get count(): number {
    return this.#n;
  }

  summary(): LatencySummaryMs {
    const s = this.#data.subarray(0, this.#n).slice().sort();
    const at = (q: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[i]!;
    return { count: s.length, mean: s.length ? sum / s.length : Number.NaN, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: s.length ? s[s.length - 1]! : Number.NaN };
  }
}

export interface LatencySummaryMs {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}
