/**
 * The k best (row, score) pairs seen so far, best first. Rows must be offered in ascending row order:
 * a score equal to one already kept ranks after it, so among equal scores the earlier row wins, and
 * the result is deterministic. k is small (10), so a sorted array with insertion beats a heap.
 */
export class TopK {
  readonly rows: Int32Array;
  readonly scores: Float64Array;
  size = 0;
  /** The score a candidate must exceed to enter: the k-th best so far, or -∞ while fewer than k. */
  threshold = Number.NEGATIVE_INFINITY;

  constructor(readonly k: number) {
    if (!(k >= 1)) throw new RangeError(`k must be at least 1, got ${k}`);
    this.rows = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** Call only when score > threshold (the caller's fast path skips everything else). */
  insert(row: number, score: number): void {
    let at = this.size < this.k ? this.size++ : this.k - 1;
    while (at > 0 && this.scores[at - 1]! < score) {
      this.rows[at] = this.rows[at - 1]!;
      this.scores[at] = this.scores[at - 1]!;
      at--;
    }
    this.rows[at] = row;
    this.scores[at] = score;
    if (this.size === this.k) this.threshold = this.scores[this.k - 1]!;
  }

  /** The kept pairs, best first, as compact arrays (what a worker posts back). */
  result(): RankedRows {
    return { rows: this.rows.slice(0, this.size), scores: this.scores.slice(0, this.size) };
  }
}

export interface RankedRows {
  rows: Int32Array;
  scores: Float64Array;
}
