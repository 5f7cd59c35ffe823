/**
 * The search API in a child process, for benchmarks and the capacity API: the load generator never shares the API's
 * event loop. Run directly, this file serves the API on a free loopback port and prints
 * `LISTENING <url>`; startChildApi spawns it with the settings it is given and waits for that line.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment, loadConfig } from '../config.js';
import { startApiServer } from './server.js';
import { logger, quietChild } from '../logger.js';

const SELF = fileURLToPath(import.meta.url);

export interface ChildApi {
  url: string;
  pid: number | undefined;
  /** False once the child has exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Starts the API with `env` over the current environment (DATABASE_URL, RATE_LIMIT_*, …). */
export async function startChildApi(env: Record<string, string>): Promise<ChildApi> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], { env: childEnvironment(env), stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the API child exited with ${code} before listening`)));
  });
  return {
    url,
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function serve(): Promise<void> {
  const log = quietChild(logger, { component: 'api-child' }, 'warn');
  const api = await startApiServer(loadConfig(), { host: '127.0.0.1', port: 0, logger: log });
  // The handshake startChildApi waits for, on stdout: not a log line.
  console.log(`LISTENING ${api.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => void api.close().then(resolve));
    // The IPC channel closes when the parent dies (even by SIGKILL): never outlive it.
    process.once('disconnect', () => void api.close().then(resolve));
  });
  process.exit(0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  serve().catch((err: Error) => {
    logger.fatal({ err, component: 'api-child' }, err.message);
    process.exit(1);
  });
}
