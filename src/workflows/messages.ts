/**
 * What every workflow shares with the CLI and with each other: the progress query and signal, the
 * search-attribute keys and the launch's stage list. Each workflow's own input and result types
 * live beside it (e.g. CapacityPopulationInput in capacity-population.ts). Imported by workflow
 * code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const readinessStageKey = defineSearchAttributeKey('ReadinessStage', SearchAttributeType.KEYWORD);
export const readinessPctKey = defineSearchAttributeKey('ReadinessPct', SearchAttributeType.INT);

export type StageState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** What a `progress` query returns, for every workflow in this project. */
export interface StageProgress {
  stage: string;
  state: StageState;
  done: number;
  total: number;
  unit: string;
  ratePerSecond?: number;
  etaSeconds?: number;
  lastError?: string;
  message?: string;
  /** Parent workflows (launchReadiness) list their child stages here. */
  stages?: StageRecord[];
}

export const progressQuery = defineQuery<StageProgress>('progress');
/** Children report their progress to a parent (launchReadiness) so it can aggregate ETAs. */
export const stageProgressSignal = defineSignal<[StageProgress]>('stageProgress');

// ---- launchReadiness's stages (its progress lists them) ------------------------------------

export const LAUNCH_STAGES = [
  'preflight',
  'seedImport',
  'embeddingReadiness',
  'firstQuerySmoke',
  'capacityPopulation',
  'indexBuild',
  'searchBenchmark',
  'rateLimitValidation',
  'capacityCleanup',
] as const;
export type LaunchStage = (typeof LAUNCH_STAGES)[number];
export type LaunchTrack = 'preflight' | 'coldStart' | 'hardening';

export interface StageRecord {
  stage: LaunchStage;
  track: LaunchTrack;
  state: StageState;
  workflowId: string;
  startedAt?: string;
  seconds?: number;
  summary?: string;
  error?: string;
  /** Latest progress the child reported (done/total/ETA). */
  live?: StageProgress;
}

/**
 * A stage's live figures as every progress view shows them (the Web UI's details, `status`,
 * `follow`): "1200/5000 rows" and the ETA "42 s", both '' unless the stage is running and has
 * reported.
 */
export function liveFigures(s: StageRecord): { count: string; eta: string } {
  if (s.state !== 'running' || !s.live) return { count: '', eta: '' };
  return { count: `${s.live.done}/${s.live.total} ${s.live.unit}`, eta: s.live.etaSeconds !== undefined ? `${s.live.etaSeconds} s` : '' };
}
