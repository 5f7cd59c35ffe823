/** CLI for the launch gate: launch, status, follow, cancel and report a launchReadiness run. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { DEFAULT_INDEX_TYPE, INDEX_TYPES } from '../db/hnsw.js';
import { resolveProjectPath } from '../paths.js';
import { rootCauseMessage, workflowUiUrl } from '../temporal.js';
import { LAUNCH_SCALES, launchReadiness, type LaunchReadinessInput, type LaunchReport } from '../workflows/launch-readiness.js';
import { LAUNCH_STAGES, liveFigures, progressQuery, type LaunchStage } from '../workflows/messages.js';
import { RATE_LIMIT_VALIDATION_FAST } from '../workflows/rate-limit-validation.js';
import { followLaunch } from './follow.js';
import { textTable } from './format.js';
import { formatLaunchReport, launchReportMarkdown } from './launch-format.js';
import { choiceOption, CLI_RANGES, intOption, numberOption, waitWorkerOption } from './parse.js';
import { newWorkflowId, withTemporalClient } from './run-workflow.js';
import { assertWorkerPolling } from './worker-check.js';

export class UnknownRunError extends Error {
  constructor(id: string) {
    super(`No workflow run "${id}" in this namespace. List runs with \`.tools/bin/temporal workflow list\` or open the Web UI.`);
    this.name = 'UnknownRunError';
  }
}

export function parseSkip(value: string | undefined): LaunchStage[] {
  if (!value) return [];
  const stages = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = stages.filter((s) => !(LAUNCH_STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`--skip: unknown stage(s) ${unknown.join(', ')}; stages are ${LAUNCH_STAGES.join(', ')}`);
  return stages as LaunchStage[];
}

export async function writeLaunchReport(config: Config, report: LaunchReport): Promise<string> {
  const dir = resolveProjectPath(path.join('reports', report.workflowId));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'launch.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, 'launch.md'), launchReportMarkdown(report, workflowUiUrl(config, report.workflowId)));
  return path.join(dir, 'launch.md');
}

async function getHandleOrFail(client: Client, id: string) {
  const handle = client.workflow.getHandle(id);
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UnknownRunError(id);
    throw err;
  }
  return handle;
}

/** Waits for the result and prints it; GO exits 0, NO-GO or a failed run exits 1. */
async function finish(client: Client, config: Config, id: string, json: boolean | undefined): Promise<number> {
  const handle = client.workflow.getHandle<typeof launchReadiness>(id);
  let report: LaunchReport;
  try {
    report = await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    console.error(`launch ${id} ended without a report: ${rootCauseMessage(err)}`);
    return 1;
  }
  const reportPath = await writeLaunchReport(config, report);
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(formatLaunchReport(report));
    console.log(`\nreport: ${reportPath}\nWeb UI: ${workflowUiUrl(config, id)}`);
  }
  return report.verdict === 'GO' ? 0 : 1;
}

/** Follows `id` until it ends, then prints its report; Ctrl-C stops following (exit 130) while the run goes on. */
async function followToEnd(client: Client, config: Config, id: string, json: boolean | undefined): Promise<number> {
  const outcome = await followLaunch(client, id, Boolean(process.stdout.isTTY) && !json);
  if (outcome === 'interrupted') {
    console.error(`stopped following; ${id} keeps running — follow again with \`npm run cli -- follow ${id}\``);
    return 130;
  }
  return finish(client, config, id, json);
}

export function registerLaunchCommands(program: CommandUnknownOpts, config: () => Config): void {
  program
    .command('launch')
    .description('start launchReadiness: preflight, then cold start and hardening in parallel; GO or NO-GO')
    .option('--scale <scale>', `demo (${LAUNCH_SCALES.demo.toLocaleString('en-US')} capacity traces) or full (${LAUNCH_SCALES.full.toLocaleString('en-US')})`, choiceOption('--scale', ['demo', 'full'] as const), 'demo')
    .option('--traces <n>', 'capacity traces (overrides --scale)', intOption('--traces', CLI_RANGES.traces))
    .option('--skip <stages>', `comma-separated stages to skip: ${LAUNCH_STAGES.join(', ')}`)
    .option('--no-cleanup', 'keep the capacity data at the end')
    .option('--index-type <type>', `HNSW index the capacity track builds and benchmarks: vector, or halfvec (embedding::halfvec(1536)); default ${DEFAULT_INDEX_TYPE}`, choiceOption('--index-type', INDEX_TYPES))
    .option('--api-base-url <url>', 'API the rate-limit checks test (default: the worker serves one on loopback)')
    .option('--capacity-api-base-url <url>', 'API over the capacity database that the HTTP benchmark loads (default: the worker starts one)')
    .option('--min-hit5 <ratio>', 'first-query hit@5 threshold', numberOption('--min-hit5', CLI_RANGES.ratio))
    .option('--fast-rate-limit', 'run the rate-limit checks with short waits (tests, demos)')
    .option('--allow-production', 'permit capacity jobs on a production capacity database (APP_ENV=production or PRODUCTION_DATABASES)')
    .option('--follow', 'follow the run with live progress and print the report')
    .option('--json', 'print the final report as JSON (with --follow)')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      const cfg = config();
      const input: LaunchReadinessInput = {
        scale: opts.scale,
        ...(opts.traces !== undefined && { traces: opts.traces }),
        skip: parseSkip(opts.skip),
        cleanup: opts.cleanup,
        ...(opts.apiBaseUrl && { apiBaseUrl: opts.apiBaseUrl }),
        ...(opts.capacityApiBaseUrl && { capacityApiBaseUrl: opts.capacityApiBaseUrl }),
        ...(opts.minHit5 !== undefined && { thresholds: { minHitAt5: opts.minHit5 } }),
        ...(opts.allowProduction && { allowProduction: true }),
        ...(opts.indexType && { indexType: opts.indexType }),
        ...(opts.fastRateLimit && { stageInputs: { rateLimitValidation: { ...RATE_LIMIT_VALIDATION_FAST } } }),
      };
      process.exitCode = await withTemporalClient(cfg, async (client) => {
        await assertWorkerPolling(client, cfg.temporal.namespace, cfg.temporal.taskQueue, opts.waitWorker);
        const workflowId = newWorkflowId('launch');
        const traces = input.traces ?? LAUNCH_SCALES[opts.scale];
        await client.workflow.start(launchReadiness, {
          taskQueue: cfg.temporal.taskQueue,
          workflowId,
          args: [input],
          staticSummary: `Launch readiness, ${traces.toLocaleString('en-US')} capacity traces`,
          staticDetails: `Options: \`${JSON.stringify(input)}\``,
        });
        console.error(`launch ${workflowId} started — ${workflowUiUrl(cfg, workflowId)}`);
        if (!opts.follow) {
          console.log(workflowId);
          return 0;
        }
        return followToEnd(client, cfg, workflowId, opts.json);
      });
    });

  program
    .command('status <id>')
    .description('stage-by-stage state of a launch run')
    .option('--json', 'print the progress as JSON')
    .action(async (id, opts) => {
      const cfg = config();
      await withTemporalClient(cfg, async (client) => {
        const handle = await getHandleOrFail(client, id);
        const description = await handle.describe();
        const progress = await handle.query(progressQuery);
        if (opts.json) {
          console.log(JSON.stringify({ workflowId: id, status: description.status.name, progress }, null, 2));
          return;
        }
        console.log(`${id}: ${description.status.name}, ${progress.done}/${progress.total} ${progress.unit} — ${workflowUiUrl(cfg, id)}`);
        if (progress.stages) {
          console.log(textTable(
            ['stage', 'state', 'time', 'progress', 'figures'],
            progress.stages.map((s) => {
              const { count, eta } = liveFigures(s);
              return [s.stage, s.state, s.seconds !== undefined ? `${s.seconds} s` : '', eta ? `${count}, ETA ${eta}` : count, s.error ?? s.summary ?? ''];
            }),
          ));
        }
      });
    });

  program
    .command('follow <id>')
    .description('follow a launch run until it ends; exit 0 on GO, 1 on NO-GO')
    .option('--json', 'print the final report as JSON')
    .action(async (id, opts) => {
      const cfg = config();
      process.exitCode = await withTemporalClient(cfg, async (client) => {
        await getHandleOrFail(client, id);
        return followToEnd(client, cfg, id, opts.json);
      });
    });

  program
    .command('cancel <id>')
    .description('cancel a launch run (its running stages are cancelled too)')
    .action(async (id) => {
      await withTemporalClient(config(), async (client) => {
        const handle = await getHandleOrFail(client, id);
        await handle.cancel();
        console.log(`cancellation requested for ${id}; capacity data it loaded stays until \`npm run cli -- capacity cleanup\``);
      });
    });

  program
    .command('report <id>')
    .description('the go/no-go report of a finished launch run (waits if it is still running)')
    .option('--json', 'print the report as JSON')
    .action(async (id, opts) => {
      const cfg = config();
      process.exitCode = await withTemporalClient(cfg, async (client) => {
        await getHandleOrFail(client, id);
        return finish(client, cfg, id, opts.json);
      });
    });
}
