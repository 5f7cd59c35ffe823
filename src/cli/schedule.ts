/**
 * The nightly capacity re-check as a Temporal Schedule: runs capacityRecheck on a cron (UTC),
 * skipping a night whose predecessor is still running, and catching up only recent misses.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { capacityRecheck, type CapacityRecheckInput } from '../workflows/capacity-recheck.js';
import { LAUNCH_SCALES } from '../workflows/launch-readiness.js';
import { DEFAULT_INDEX_TYPE, INDEX_TYPES, type IndexType } from '../db/hnsw.js';
import { choiceOption, CLI_RANGES, intOption } from './parse.js';
import { withTemporalClient } from './run-workflow.js';

export const DEFAULT_SCHEDULE_ID = 'capacity-recheck-nightly';
export const DEFAULT_CRON = '0 3 * * *';
/** After an outage, run a missed night only if the server is back within this window. */
export const CATCHUP_WINDOW = '6 hours';

export interface ScheduleCreateOptions {
  id: string;
  cron: string;
  traces: number;
  /** Default: the re-check's own (DEFAULT_INDEX_TYPE). */
  indexType?: IndexType;
  /** false: the re-check's benchmark skips its HTTP phase (default: runs it on the worker-served API). */
  http?: boolean;
}

export function recheckScheduleOptions(config: Config, opts: ScheduleCreateOptions): ScheduleOptions {
  const input: CapacityRecheckInput = {
    traces: opts.traces, ...(opts.indexType && { indexType: opts.indexType }), ...(opts.http === false && { benchmark: { http: null } }),
  };
  // Typed by the workflow function: args must be capacityRecheck's.
  const action: ScheduleOptionsStartWorkflowAction<typeof capacityRecheck> = {
    type: 'startWorkflow',
    workflowType: capacityRecheck,
    workflowId: `capacity-recheck`,
    taskQueue: config.temporal.taskQueue,
    args: [input],
    staticSummary: `Nightly capacity re-check (${opts.traces.toLocaleString('en-US')} traces)`,
    staticDetails: `Scheduled by ${opts.id} (cron \`${opts.cron}\` UTC): reuse or repopulate capacity data, benchmark, compare with the previous run.`,
  };
  return {
    scheduleId: opts.id,
    spec: { cronExpressions: [opts.cron], timezone: 'UTC' },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW },
    state: { note: 'created by commontrace-launch schedule create' },
  };
}

/** Idempotent: creates the schedule, or updates it in place when it already exists. */
export async function createOrUpdateSchedule(client: Client, options: ScheduleOptions): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: { ...previous.policies, ...options.policies },
    }));
    return 'updated';
  }
}

async function withSchedule<T>(config: Config, id: string, fn: (client: Client) => Promise<T>): Promise<T> {
  return withTemporalClient(config, async (client) => {
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        throw new Error(`No schedule "${id}". Create it with \`npm run cli -- schedule create\`.`);
      }
      throw err;
    }
  });
}

export function registerScheduleCommands(program: CommandUnknownOpts, config: () => Config): void {
  const schedule = program.command('schedule').description('the nightly capacity re-check schedule');
  const idOption = ['--id <id>', 'schedule id', DEFAULT_SCHEDULE_ID] as const;

  schedule
    .command('create')
    .description('create (or update) the nightly capacityRecheck schedule')
    .option(...idOption)
    .option('--cron <expr>', 'cron expression, UTC', DEFAULT_CRON)
    .option('--traces <n>', 'capacity traces to re-check', intOption('--traces', CLI_RANGES.traces), LAUNCH_SCALES.full)
    .option('--index-type <type>', `HNSW index each re-check builds if missing and measures: vector or halfvec (default ${DEFAULT_INDEX_TYPE})`, choiceOption('--index-type', INDEX_TYPES))
    .option('--no-http', "skip the re-check benchmark's HTTP phase (it loads the worker-served search API for ~30 s)")
    .action(async (opts) => {
      const cfg = config();
      const outcome = await withTemporalClient(cfg, (client) => createOrUpdateSchedule(client, recheckScheduleOptions(cfg, opts)));
      console.log(`schedule ${opts.id} ${outcome}: capacityRecheck at "${opts.cron}" UTC, overlap SKIP, catch-up window ${CATCHUP_WINDOW}`);
    });

  schedule
    .command('describe')
    .description('show the schedule, its next runs and recent actions')
    .option(...idOption)
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const cfg = config();
      await withSchedule(cfg, opts.id, async (client) => {
        const d = await client.schedule.getHandle(opts.id).describe();
        const summary = {
          scheduleId: d.scheduleId,
          paused: d.state.paused,
          note: d.state.note,
          // The server stores a cron string as calendar specs; show them as it does.
          calendars: d.spec.calendars ?? [],
          timezone: d.spec.timezone,
          overlap: d.policies.overlap,
          catchupWindowMs: d.policies.catchupWindow,
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
          runningActions: d.info.runningActions.map((a) => a.workflow.workflowId),
        };
        if (opts.json) console.log(JSON.stringify(summary, null, 2));
        else {
          console.log(`${summary.scheduleId}: ${summary.paused ? 'PAUSED' : 'active'}${summary.note ? ` (${summary.note})` : ''}`);
          console.log(`  calendar ${JSON.stringify(summary.calendars)} ${summary.timezone ?? 'UTC'}; overlap ${summary.overlap}`);
          console.log(`  next: ${summary.nextActionTimes.slice(0, 3).join(', ') || '—'}`);
          console.log(`  recent: ${summary.recentActions.map((a) => `${a.scheduledAt} ${a.workflowId}`).join('; ') || '—'}`);
        }
      });
    });

  for (const [name, description] of [['pause', 'pause the schedule'], ['unpause', 'resume the schedule']] as const) {
    schedule
      .command(name)
      .description(description)
      .option(...idOption)
      .option('--note <text>', 'why (shown in the Web UI)')
      .action(async (opts) => {
        await withSchedule(config(), opts.id, async (client) => {
          const handle = client.schedule.getHandle(opts.id);
          await (name === 'pause' ? handle.pause(opts.note) : handle.unpause(opts.note));
          console.log(`schedule ${opts.id} ${name}d`);
        });
      });
  }

  schedule
    .command('trigger')
    .description('start a re-check now (outside the cron)')
    .option(...idOption)
    .action(async (opts) => {
      await withSchedule(config(), opts.id, async (client) => {
        await client.schedule.getHandle(opts.id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        console.log(`schedule ${opts.id} triggered`);
      });
    });

  schedule
    .command('delete')
    .description('delete the schedule (runs it started are not affected)')
    .option(...idOption)
    .action(async (opts) => {
      await withSchedule(config(), opts.id, async (client) => {
        await client.schedule.getHandle(opts.id).delete();
        console.log(`schedule ${opts.id} deleted`);
      });
    });
}
