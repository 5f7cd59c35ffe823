/**
 * Follows a launchReadiness run: live per-stage bars on a terminal, one line per state change
 * elsewhere (CI logs, pipes). Ctrl-C stops following; the workflow keeps running on the server.
 */
import cliProgress from 'cli-progress';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { liveFigures, progressQuery, type StageProgress, type StageRecord } from '../workflows/messages.js';

const POLL_MS = 1_000;

function stageLabel(s: StageRecord): string {
  const figure = s.error ?? s.summary ?? (s.live?.message ? s.live.message : '');
  return `${s.state.padEnd(9)} ${figure}`.slice(0, 90);
}

export async function followLaunch(client: Client, workflowId: string, isTTY: boolean): Promise<'completed' | 'interrupted'> {
  const handle: WorkflowHandle = client.workflow.getHandle(workflowId);
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);

  const multibar = isTTY
    ? new cliProgress.MultiBar(
        { format: ' {stage} |{bar}| {percentage}% {value}/{total} {unit} {eta_s} {label}', hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const lastState = new Map<string, string>();

  try {
    for (;;) {
      const description = await handle.describe();
      let progress: StageProgress | undefined;
      try {
        progress = await handle.query(progressQuery);
      } catch {
        progress = undefined; // the run may not have processed its first task yet
      }
      for (const s of progress?.stages ?? []) {
        const done = s.state === 'succeeded' || s.state === 'failed' || s.state === 'skipped';
        const total = done ? 1 : Math.max(1, s.live?.total ?? 1);
        const value = done ? 1 : Math.min(total, s.live?.done ?? 0);
        const { eta } = liveFigures(s);
        const payload = { stage: s.stage.padEnd(20), unit: done ? '' : (s.live?.unit ?? ''), eta_s: eta && `ETA ${eta}`, label: stageLabel(s) };
        if (multibar) {
          const bar = bars.get(s.stage) ?? multibar.create(total, value, payload);
          bars.set(s.stage, bar);
          bar.setTotal(total);
          bar.update(value, payload);
        } else if (lastState.get(s.stage) !== s.state) {
          lastState.set(s.stage, s.state);
          if (s.state !== 'pending') console.log(`[${new Date().toISOString()}] ${s.stage}: ${stageLabel(s)}`);
        }
      }
      if (description.status.name !== 'RUNNING') return 'completed';
      if (interrupted) return 'interrupted';
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (interrupted) return 'interrupted';
    }
  } finally {
    multibar?.stop();
    process.off('SIGINT', onSigint);
  }
}
