/**
 * Progress bookkeeping shared by the workflows: one mutable StageProgress behind the `progress`
 * query, with rate and ETA derived from workflow time (deterministic, replay-safe).
 */
import { setHandler, setCurrentDetails } from '@temporalio/workflow';
import { progressQuery, type StageProgress } from './messages.js';

export class ProgressTracker {
  readonly state: StageProgress;
  private readonly startedAt = Date.now();

  constructor(stage: string, total: number, unit: string) {
    this.state = { stage, state: 'running', done: 0, total, unit };
    setHandler(progressQuery, () => this.state);
  }

  advance(by: number, message?: string): void {
    this.state.done += by;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    if (elapsed > 0 && this.state.done > 0) {
      this.state.ratePerSecond = this.state.done / elapsed;
      const remaining = Math.max(0, this.state.total - this.state.done);
      this.state.etaSeconds = Math.round(remaining / this.state.ratePerSecond);
    }
    if (message !== undefined) this.state.message = message;
  }

  finish(state: 'succeeded' | 'failed', message?: string): void {
    this.state.state = state;
    if (message !== undefined) this.state[state === 'failed' ? 'lastError' : 'message'] = message;
  }

  /** The Markdown the Web UI shows under "Current details". */
  publish(title: string, rows: [string, string][]): void {
    const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
    setCurrentDetails(`### ${title}\n\n${table}`);
  }

  elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
