/**
 * Progress bookkeeping shared by the workflows: one mutable StageProgress behind the `progress`
 * query, with rate and ETA derived from workflow time (deterministic, replay-safe).
 */
import { getExternalWorkflowHandle, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { progressQuery, stageProgressSignal, type StageProgress } from './messages.js';

const PARENT_REPORT_INTERVAL_MS = 2_000;

export class ProgressTracker {
  readonly state: StageProgress;
  private readonly startedAt = Date.now();
  private lastReportedAt = 0;

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
    this.reportToParent(true);
  }

  /** Throttled, so a 100-batch run adds tens of signals to the parent's history, not hundreds. */
  private reportToParent(force = false): void {
    const parent = workflowInfo().parent;
    if (!parent) return;
    const now = Date.now();
    if (!force && now - this.lastReportedAt < PARENT_REPORT_INTERVAL_MS) return;
    this.lastReportedAt = now;
    // A parent that already closed cannot take signals; losing a progress update is harmless.
    getExternalWorkflowHandle(parent.workflowId, parent.runId)
      .signal(stageProgressSignal, { ...this.state })
      .catch(() => undefined);
  }

  /** The Markdown the Web UI shows under "Current details". */
  publish(title: string, rows: [string, string][]): void {
    const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
    setCurrentDetails(`### ${title}\n\n${table}`);
    this.reportToParent();
  }

  elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
