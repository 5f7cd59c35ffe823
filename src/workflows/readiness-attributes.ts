import { upsertSearchAttributes } from '@temporalio/workflow';
import { readinessPctKey, readinessStageKey } from './messages.js';

/**
 * Keeps ReadinessStage / ReadinessPct current so runs can be filtered in the Web UI list
 * (e.g. ReadinessStage = "capacity"). Only whole-percent changes are written, to keep history small.
 */
export class ReadinessAttributes {
  private lastPct = -1;
  private stage = '';

  set(stage: string, pct: number): void {
    const rounded = Math.max(0, Math.min(100, Math.floor(pct)));
    if (stage === this.stage && rounded === this.lastPct) return;
    this.stage = stage;
    this.lastPct = rounded;
    upsertSearchAttributes([
      { key: readinessStageKey, value: stage },
      { key: readinessPctKey, value: rounded },
    ]);
  }
}
