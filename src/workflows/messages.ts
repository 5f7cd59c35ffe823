/**
 * Everything the CLI and the workflows agree on: queries, search attributes and the progress and
 * report types. Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

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
}

export const progressQuery = defineQuery<StageProgress>('progress');

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  value: string;
  detail: string;
}

export interface PreflightInput {
  /** The capacity the launch must hold; sizes the memory checks. */
  targetTraces?: number;
  dimensions?: number;
}

export interface PreflightReport {
  ok: boolean;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
}
