/**
 * The subprocess runner: starts one checker process, hands it all its input on stdin and collects
 * what it prints. The first of a tool's candidate paths that exists is used and remembered. A
 * process still running at the timeout is killed together with its children (it runs in its own
 * process group); the caller decides what the unanswered part of its input means.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Tool {
  name: string;
  candidates: readonly string[];
  install: string;
}

export class MissingToolError extends Error {
  constructor(tool: Tool, language: string) {
    super(`${tool.name} is needed to check ${language} code blocks but was not found (tried ${tool.candidates.join(', ')}); install ${tool.install}`);
    this.name = 'MissingToolError';
  }
}

/** Starts a process with piped stdio; injectable so a test can count the processes started. */
export type SpawnProcess = (command: string, args: readonly string[]) => ChildProcessWithoutNullStreams;

/** The default: a process group of its own, so a timeout kills the checker's children too. */
export const spawnInOwnGroup: SpawnProcess = (command, args) => spawn(command, args, { stdio: 'pipe', detached: true });

export interface RunOptions {
  /** Limit for the whole process; at the limit it is killed and `timedOut` is set. */
  timeoutMs: number;
  spawn: SpawnProcess;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

// Which candidate path worked, so later runs do not retry the missing ones.
const resolved = new Map<string, string>();

/**
 * Records the executable a candidate stands for (a version-manager shim's real interpreter), so later
 * runs start it directly.
 */
export function rememberExecutable(tool: Tool, executable: string): void {
  resolved.set(tool.name, executable);
}

/** Runs `tool` with `args`; throws MissingToolError when no candidate exists. */
export async function runTool(tool: Tool, language: string, args: readonly string[], input: string, options: RunOptions): Promise<RunResult> {
  const known = resolved.get(tool.name);
  for (const candidate of known ? [known] : tool.candidates) {
    const result = await run(candidate, args, input, options);
    if (result === 'missing') continue;
    resolved.set(tool.name, candidate);
    return result;
  }
  throw new MissingToolError(tool, language);
}

function run(command: string, args: readonly string[], input: string, options: RunOptions): Promise<RunResult | 'missing'> {
  return new Promise((resolve, reject) => {
    const child = options.spawn(command, args);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A checker may stop reading early; its output and exit status still tell the story.
    child.stdin.on('error', () => {});
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve('missing');
      else reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(input);
  });
}

function killGroup(child: ChildProcessWithoutNullStreams): void {
  try {
    if (child.pid === undefined) throw new Error('no pid');
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
