import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { REPO_ROOT, run } from './cli.js';
import { waitFor } from './db.js';

export const TEMPORAL_BIN = path.join(REPO_ROOT, '.tools/bin/temporal');

/**
 * A dedicated dev server persisted to its own file, so restarting it never disturbs the shared one
 * on :7233. By default it runs on the stack's SQLite settings (scripts/stack/ensure-temporal-server.sh);
 * `wal: false` starts it as checkouts before those settings did, on SQLite's rollback journal.
 */
export class DedicatedTemporal {
  private child: ChildProcess | undefined;
  private log = '';
  readonly address: string;

  constructor(private readonly port: number, private readonly uiPort: number, private readonly dbFile: string, private readonly options: { wal?: boolean } = {}) {
    this.address = `127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const sqlite = this.options.wal === false ? [] : ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];
    this.child = spawn(TEMPORAL_BIN, [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--ui-port', String(this.uiPort), '--headless',
      '--db-filename', this.dbFile, ...sqlite, '--log-level', 'warn',
      '--search-attribute', 'ReadinessStage=Keyword', '--search-attribute', 'ReadinessPct=Int',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const child = this.child;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`dedicated Temporal server exited with ${child.exitCode}:\n${this.log}`);
      return isHealthy(this.address);
    }, 60_000, `the dedicated Temporal server on ${this.address}`);
  }

  /** SIGTERM (a clean stop, SIGKILL after 30 s) or SIGKILL (a crash: no shutdown, nothing flushed). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Whether a Temporal server answers its health check at `address`. */
export async function isHealthy(address: string): Promise<boolean> {
  return (await run(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', address], {}, 10_000)).code === 0;
}
