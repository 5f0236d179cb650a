// A one-line progress bar on a terminal; on anything else (CI logs, a pipe) a plain line at
// every quarter, so logs stay readable.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private nextQuarter = 1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: ProgressStream = process.stderr,
  ) {}

  /** `done` of `total` samples; `info` is appended (loss, ...) */
  update(done: number, info: string): void {
    const now = performance.now();
    const rate = done / Math.max(1e-9, (now - this.started) / 1000);
    const tail = `${String(done).padStart(String(this.total).length)}/${this.total}  ${info}  ${Math.round(rate)} samples/s`;
    if (this.out.isTTY) {
      // redrawing is slow on some terminals: ten times a second is plenty
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round((width * done) / this.total);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done < this.total ? '>' : '=') : '') + ' '.repeat(width - filled);
      this.out.write(`\r\x1b[2K${this.label} [${bar}] ${tail}`);
    } else if (done * 4 >= this.nextQuarter * this.total) {
      while (done * 4 >= this.nextQuarter * this.total) this.nextQuarter++;
      this.out.write(`${this.label} ${tail}\n`);
    }
  }

  /** ends the bar's line (a terminal only; plain mode already printed whole lines) */
  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
