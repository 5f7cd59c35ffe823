import {
  executeChild,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  LAUNCH_STAGES,
  liveFigures,
  progressQuery,
  stageProgressSignal,
  type LaunchStage,
  type LaunchTrack,
  type StageProgress,
  type StageRecord,
} from './messages.js';
import {
  DEFAULT_LAUNCH_THRESHOLDS,
  evaluateCriteria,
  stageInputs,
  summarizeStage,
  type LaunchCriterion,
  type LaunchThresholds,
  type StageInput,
  type StageResult,
  type StageResults,
} from './launch-criteria.js';
import { capacityCleanup } from './capacity-cleanup.js';
import { capacityPopulation } from './capacity-population.js';
import { embeddingReadiness } from './embedding-readiness.js';
import { firstQuerySmoke } from './first-query-smoke.js';
import { indexBuild } from './index-build.js';
import type { IndexType } from '../db/index-types.js';
import { preflight } from './preflight.js';
import { rateLimitValidation } from './rate-limit-validation.js';
import { searchBenchmark } from './search-benchmark.js';
import { seedImport } from './seed-import.js';
import { ReadinessAttributes } from './readiness-attributes.js';
import { rootCauseMessage } from '../failure.js';

export const LAUNCH_SCALES = { demo: 20_000, full: 100_000 } as const;
export type LaunchScale = keyof typeof LAUNCH_SCALES;

export interface LaunchReadinessInput {
  scale?: LaunchScale;
  /** Capacity rows; overrides the scale's default. */
  traces?: number;
  skip?: LaunchStage[];
  /** Delete the capacity data at the end (default true). */
  cleanup?: boolean;
  /** The API under test for the rate-limit checks; the worker serves one when unset. */
  apiBaseUrl?: string;
  /**
   * The API the HTTP benchmark loads: it must serve the capacity database (CAPACITY_DATABASE_URL).
   * Unset: the worker starts one over that database in a child process.
   */
  capacityApiBaseUrl?: string;
  thresholds?: Partial<LaunchThresholds>;
  seedPath?: string;
  goldenPath?: string;
  /** Per-stage input overrides, merged over what the parent derives (e.g. fast rate-limit timings in tests). */
  stageInputs?: { [S in LaunchStage]?: StageInput<S> };
  allowProduction?: boolean;
  /** The HNSW index type the capacity track builds and benchmarks (vector or halfvec); default DEFAULT_INDEX_TYPE. */
  indexType?: IndexType;
}

export type LaunchVerdict = 'GO' | 'NO-GO';

export interface LaunchReport {
  verdict: LaunchVerdict;
  workflowId: string;
  scale: number;
  startedAt: string;
  seconds: number;
  criteria: LaunchCriterion[];
  stages: StageRecord[];
  /** Raw stage results, for the report files and the nightly comparison. */
  results: StageResults;
}

/**
 * The child workflow of each stage, checked against the stage's contract (launch-criteria.ts). The
 * child's workflow type is the function's name, which is the stage's name (a unit test keeps them
 * equal: recorded histories name the children by it).
 */
export const STAGE_WORKFLOWS: { [S in LaunchStage]: (input: StageInput<S>) => Promise<StageResult<S>> } = {
  preflight,
  seedImport,
  embeddingReadiness,
  firstQuerySmoke,
  capacityPopulation,
  indexBuild,
  searchBenchmark,
  rateLimitValidation,
  capacityCleanup,
};

const TRACK: Record<LaunchStage, LaunchTrack> = {
  preflight: 'preflight',
  seedImport: 'coldStart',
  embeddingReadiness: 'coldStart',
  firstQuerySmoke: 'coldStart',
  capacityPopulation: 'hardening',
  indexBuild: 'hardening',
  searchBenchmark: 'hardening',
  rateLimitValidation: 'hardening',
  capacityCleanup: 'hardening',
};

const STAGE_SUMMARY: Record<LaunchStage, string> = {
  preflight: 'Preflight checks',
  seedImport: 'Import curated seed traces',
  embeddingReadiness: 'Embed every seed with the active model',
  firstQuerySmoke: 'First-query relevance over the golden set',
  capacityPopulation: 'Load synthetic capacity traces',
  indexBuild: 'Build and verify the HNSW index',
  searchBenchmark: 'Search latency, recall and QPS benchmark',
  rateLimitValidation: 'Rate-limiter burst and refill validation',
  capacityCleanup: 'Remove the capacity data',
};

class StageFailed extends Error {}

/**
 * Waits for every track, then rethrows the first failure (a cancellation). Unlike Promise.all, a
 * cancelled launch ends only after each running child has finished its own cancellation.
 */
async function allSettledOrThrow(tracks: Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(tracks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Workflow patch: rateLimitValidation runs alongside population and the index build (see below). */
const RATE_LIMIT_ALONGSIDE_LOAD = 'rate-limit-alongside-load';

/**
 * The launch gate: preflight, then the cold-start and hardening tracks in parallel, each stage a
 * child workflow (its own page in the Web UI; the run reads as a tree). A failing stage is recorded
 * with its error and the track stops, which makes the verdict NO-GO; it never hangs the parent.
 */
export async function launchReadiness(input: LaunchReadinessInput = {}): Promise<LaunchReport> {
  const info = workflowInfo();
  const startedAt = new Date();
  const thresholds = { ...DEFAULT_LAUNCH_THRESHOLDS, ...input.thresholds };
  const scale = input.traces ?? LAUNCH_SCALES[input.scale ?? 'demo'];
  const skip = new Set<LaunchStage>(input.skip ?? []);
  if (input.cleanup === false) skip.add('capacityCleanup');

  const stages: StageRecord[] = LAUNCH_STAGES.map((stage) => ({
    stage,
    track: TRACK[stage],
    state: skip.has(stage) ? 'skipped' : 'pending',
    workflowId: `${info.workflowId}/${stage}`,
    ...(skip.has(stage) && { summary: 'skipped by request' }),
  }));
  const record = (stage: LaunchStage) => stages.find((s) => s.stage === stage)!;
  const results: LaunchReport['results'] = {};
  const attributes = new ReadinessAttributes();

  const counted = () => stages.filter((s) => s.state !== 'skipped');
  const pct = () => {
    const all = counted();
    return all.length === 0 ? 100 : (100 * all.filter((s) => s.state === 'succeeded' || s.state === 'failed').length) / all.length;
  };
  const snapshot = (): StageProgress => ({
    stage: 'launchReadiness',
    state: stages.some((s) => s.state === 'running') || stages.some((s) => s.state === 'pending') ? 'running' : 'succeeded',
    done: counted().filter((s) => s.state === 'succeeded' || s.state === 'failed').length,
    total: counted().length,
    unit: 'stages',
    stages,
  });
  setHandler(progressQuery, snapshot);
  setHandler(stageProgressSignal, (p) => {
    const rec = stages.find((s) => s.stage === p.stage);
    if (rec) {
      rec.live = p;
      publish();
    }
  });

  function publish(): void {
    const rows = stages.map((s) => {
      const { count: live, eta } = liveFigures(s);
      const time = s.seconds !== undefined ? `${s.seconds} s` : '';
      const note = (s.error ?? s.summary ?? live).replace(/\|/g, '\\|').replace(/\n/g, ' ');
      return `| ${s.stage} | ${s.track} | ${s.state} | ${time} | ${eta} | ${note} |`;
    });
    setCurrentDetails(
      `### Launch readiness — ${scale.toLocaleString('en-US')} capacity traces\n\n` +
        '| stage | track | state | time | ETA | figures |\n|---|---|---|---|---|---|\n' +
        rows.join('\n'),
    );
  }

  async function runStage<S extends LaunchStage>(stage: S): Promise<void> {
    const rec = record(stage);
    if (rec.state === 'skipped') return;
    rec.state = 'running';
    rec.startedAt = new Date().toISOString();
    attributes.set(stage, pct());
    publish();
    const t0 = Date.now();
    try {
      // Annotated so that executeChild sees one function type (input and result of S), not the union of all nine.
      const workflow: (input: StageInput<S>) => Promise<StageResult<S>> = STAGE_WORKFLOWS[stage];
      const result = await executeChild(workflow, {
        workflowId: rec.workflowId,
        args: [stageInputs(stage, input, scale)],
        staticSummary: `${STAGE_SUMMARY[stage]} (launch ${info.workflowId})`,
      });
      // The same object, typed through S so that TypeScript pairs the stage with its result type.
      const stageResults: { [K in S]?: StageResult<K> } = results;
      stageResults[stage] = result;
      rec.state = 'succeeded';
      rec.summary = summarizeStage(stage, result);
    } catch (err) {
      rec.state = 'failed';
      rec.error = rootCauseMessage(err);
      // A cancelled launch ends as cancelled (its children are cancelled with it), not as a NO-GO;
      // capacity data already loaded stays until `capacity cleanup` or the next launch's cleanup.
      if (isCancellation(err)) throw err;
      throw new StageFailed(stage);
    } finally {
      rec.seconds = Math.round((Date.now() - t0) / 100) / 10;
      delete rec.live; // the child's last running snapshot would read as stale once it has ended
      attributes.set(stage, pct());
      publish();
    }
  }

  /** Runs stages in order; after a failure the rest of the track is marked as not run. */
  async function runTrack(track: LaunchStage[]): Promise<void> {
    for (const stage of track) {
      try {
        await runStage(stage);
      } catch (err) {
        if (!(err instanceof StageFailed)) throw err;
        for (const later of track.slice(track.indexOf(stage) + 1)) {
          const rec = record(later);
          if (rec.state === 'pending') {
            rec.state = 'skipped';
            rec.summary = `not run: ${stage} failed`;
          }
        }
        publish();
        return;
      }
    }
  }

  publish();
  await runTrack(['preflight']);
  if (record('preflight').state !== 'failed') {
    await allSettledOrThrow([
      runTrack(['seedImport', 'embeddingReadiness', 'firstQuerySmoke']),
      (async () => {
        if (patched(RATE_LIMIT_ALONGSIDE_LOAD)) {
          // The limiter does not depend on the capacity data, and its checks mostly wait on timers:
          // it runs while the data loads and the index builds, and is validated even when those
          // fail. The benchmark waits for both, so nothing else loads the machine while it measures.
          await allSettledOrThrow([runTrack(['capacityPopulation', 'indexBuild']), runTrack(['rateLimitValidation'])]);
          const failedLoad = (['capacityPopulation', 'indexBuild'] as const).find((stage) => record(stage).state === 'failed');
          if (!failedLoad) {
            await runTrack(['searchBenchmark']);
          } else if (record('searchBenchmark').state === 'pending') {
            record('searchBenchmark').state = 'skipped';
            record('searchBenchmark').summary = `not run: ${failedLoad} failed`;
          }
        } else {
          // Histories without the patch marker ran the tracks one after the other; they replay that order.
          await runTrack(['capacityPopulation', 'indexBuild', 'searchBenchmark']);
          await runTrack(['rateLimitValidation']);
        }
        // Cleanup runs even after a failed benchmark: never leave 100K synthetic rows behind.
        if (record('capacityPopulation').state !== 'skipped' && record('capacityPopulation').state !== 'pending') {
          await runTrack(['capacityCleanup']);
        }
      })(),
    ]);
  }
  for (const s of stages) {
    if (s.state === 'pending') {
      s.state = 'skipped';
      s.summary = 'not run: preflight failed';
    }
  }

  const criteria = evaluateCriteria(stages, results, thresholds, scale);
  const verdict = criteria.every((c) => c.passed) ? 'GO' : 'NO-GO';
  attributes.set(verdict === 'GO' ? 'go' : 'no-go', 100);
  publish();
  return {
    verdict,
    workflowId: info.workflowId,
    scale,
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    criteria,
    stages,
    results,
  };
}
