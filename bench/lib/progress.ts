/**
 * "part 3 of 7 (e2e: daemon, saturation) — about 4 min left" on stderr at the start of each
 * part of a benchmark. The plan's estimates are rough; once parts have finished, the time left
 * is scaled by how long they took against their estimates.
 */

export interface PlannedPart {
  /** What the part does, shown in parentheses after the script's name. */
  what: string;
  /** Rough duration on the reference machine, in seconds. */
  seconds: number;
}

export interface ProgressOptions {
  /** Defaults to stderr. */
  write?: (line: string) => void;
  /** Seconds, monotonic; defaults to performance.now() / 1000. */
  now?: () => number;
}

/** "45 s", "4 min", "1 h 5 min": rounded the way a person would say it. */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, seconds);
  const fives = Math.round(s / 5) * 5;
  if (fives < 60) return `${Math.max(1, fives)} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h${min % 60 === 0 ? '' : ` ${min % 60} min`}`;
}

export class Progress {
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private index = 0;
  private partStarted = 0;
  /** Estimated and actual seconds of the parts finished so far. */
  private doneEstimated = 0;
  private doneActual = 0;
  private finished = false;

  constructor(
    private readonly script: string,
    private plan: readonly PlannedPart[],
    options: ProgressOptions = {},
  ) {
    this.write = options.write ?? ((line) => process.stderr.write(line));
    this.now = options.now ?? (() => performance.now() / 1000);
  }

  get total(): number {
    return this.plan.length;
  }

  /** Starts the next part of the plan and prints its line; `detail` is added to its description. */
  next(detail?: string): void {
    if (this.index > 0) this.finishPart();
    if (this.index >= this.plan.length) {
      // A plan that missed a part must not end a long benchmark run: say so and go on.
      this.write(`${this.script}: a part beyond the ${this.plan.length} planned${detail ? ` (${detail})` : ''}\n`);
      this.plan = [...this.plan, { what: 'unplanned', seconds: 0 }];
    }
    const part = this.plan[this.index]!;
    this.index++;
    this.partStarted = this.now();
    const what = detail ? `${part.what}, ${detail}` : part.what;
    this.write(`part ${this.index} of ${this.plan.length} (${this.script}: ${what}) — about ${fmtDuration(this.secondsLeft())} left\n`);
  }

  /** Estimated seconds left: the current part's estimate minus its time so far, plus the parts after it, scaled. */
  secondsLeft(): number {
    const scale = this.doneEstimated > 0 ? Math.min(4, Math.max(0.25, this.doneActual / this.doneEstimated)) : 1;
    let left = 0;
    for (let i = Math.max(0, this.index - 1); i < this.plan.length; i++) left += this.plan[i]!.seconds;
    if (this.index > 0) left -= Math.min(this.plan[this.index - 1]!.seconds, (this.now() - this.partStarted) / scale);
    return left * scale;
  }

  /** "about 4 min left", for a script's own periodic lines within a long part. */
  leftText(): string {
    return `about ${fmtDuration(this.secondsLeft())} left`;
  }

  /** Ends the last part; prints the whole run's time. */
  done(): void {
    if (this.finished) return;
    if (this.index > 0) this.finishPart();
    this.finished = true;
    this.write(`${this.script}: all ${this.plan.length} parts done in ${fmtDuration(this.doneActual)}\n`);
  }

  private finishPart(): void {
    this.doneEstimated += this.plan[this.index - 1]!.seconds;
    this.doneActual += this.now() - this.partStarted;
  }
}
