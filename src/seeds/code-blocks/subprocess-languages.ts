/**
 * Python, bash, Go, Rust and SQL blocks, each checked in a process of its own. Each language gets one
 * process per validation, whatever its block count: a driver reads every block from stdin and prints
 * NUL-ended records, in block order. Python parses every block itself (`ast.parse`); bash forks per
 * block (eval under `set -n`, then `bash -n` for a block that fails); the Go and Rust drivers run
 * gofmt / rustfmt from inside the one process (gofmt once over all blocks that open with their
 * package clause); SQL goes to PostgreSQL's own parser in a node process (why there, below). Each
 * block's message and line are what `bash -n`, `gofmt -e` or `rustfmt --check` on that block's stdin
 * alone would report.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lineAt, type SyntaxProblem } from './problem.js';
import { MissingToolError, rememberExecutable, runTool, type RunOptions, type RunResult, type Tool } from './runner.js';

export const SUBPROCESS_CHECKERS = ['python', 'bash', 'go', 'rust', 'sql'] as const;
export type SubprocessChecker = (typeof SUBPROCESS_CHECKERS)[number];

const TOOLS = {
  python: { name: 'python3', candidates: ['python3'], install: 'Python 3 (apt-get install python3)' },
  bash: { name: 'bash', candidates: ['bash', '/bin/bash'], install: 'bash (apt-get install bash)' },
  go: { name: 'gofmt', candidates: ['gofmt', '/usr/local/go/bin/gofmt'], install: 'Go (https://go.dev/dl, or apt-get install golang-go)' },
  // rustup installs into ~/.cargo/bin, which a non-login shell (CI, a service) may not have on PATH.
  rust: { name: 'rustfmt', candidates: ['rustfmt', path.join(os.homedir(), '.cargo/bin/rustfmt'), '/usr/bin/rustfmt'], install: 'rustfmt (rustup component add rustfmt, or apt-get install rustfmt)' },
  // The node running this process: always there.
  sql: { name: 'node', candidates: [process.execPath], install: 'Node.js' },
} satisfies Record<SubprocessChecker, Tool>;

/** Checks `sources` of one language in one process; results in input order. */
export async function checkInSubprocess(checker: SubprocessChecker, sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  if (sources.length === 0) return [];
  switch (checker) {
    case 'python':
      return checkPython(sources, options);
    case 'bash':
      return checkBash(sources, options);
    case 'go':
      return checkGo(sources, options);
    case 'rust':
      return checkRust(sources, options);
    case 'sql':
      return checkSql(sources, options);
  }
}

/** The NUL-ended records printed so far; a record cut off by a kill is dropped. */
function records(stdout: string): string[] {
  return stdout.split('\0').slice(0, -1);
}

/**
 * Fills in the blocks a driver did not answer: after a timeout they fail with the limit, otherwise
 * the driver itself broke and the validation cannot go on.
 */
function complete<T>(answered: T[], total: number, result: RunResult, what: string, options: RunOptions, timedOut: (ms: number) => T): T[] {
  if (answered.length >= total) return answered.slice(0, total);
  if (result.timedOut) return [...answered, ...Array.from({ length: total - answered.length }, () => timedOut(options.timeoutMs))];
  throw new Error(`${what} stopped after ${answered.length} of ${total} blocks (exit ${result.code}): ${result.stderr.trim()}`);
}

const timeouts = new WeakSet<SyntaxProblem>();

function timeoutProblem(tool: Tool, timeoutMs: number): SyntaxProblem {
  const problem = { message: `${tool.name} did not finish within ${timeoutMs / 1000} s` };
  timeouts.add(problem);
  return problem;
}

/** Whether a problem says the checker ran out of time, which says nothing lasting about the block. */
export function isTimeoutProblem(problem: SyntaxProblem | null): boolean {
  return problem !== null && timeouts.has(problem);
}

/** Bash variables cannot hold NUL, the record separator; bash's parser skips NULs in a script anyway. */
const shellRecord = (source: string) => `${source.replaceAll('\0', '')}\0`;

/** Pairs (stderr, exit status) of a shell driver's records. */
function shellResults(fields: string[]): { stderr: string; code: number }[] {
  const out: { stderr: string; code: number }[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push({ stderr: fields[i]!, code: Number(fields[i + 1]) });
  return out;
}

// --- python --------------------------------------------------------------------------------------

// ast.parse only compiles; nothing in the block runs. The first record is the interpreter's own
// path: a shim (pyenv, asdf) costs more to start than the interpreter, so later runs skip it.
const PYTHON_DRIVER = `
import ast, json, sys, warnings
warnings.simplefilter("ignore")
sys.stdout.write(sys.executable + "\\0")
for src in json.load(sys.stdin):
    try:
        ast.parse(src)
        result = None
    except SyntaxError as e:
        result = {"line": e.lineno, "message": type(e).__name__ + ": " + str(e.msg)}
    except ValueError as e:
        result = {"line": None, "message": str(e)}
    sys.stdout.write(json.dumps(result) + "\\0")
    sys.stdout.flush()
`;

async function checkPython(sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  const result = await runTool(TOOLS.python, 'python', ['-c', PYTHON_DRIVER], JSON.stringify(sources), options);
  const [executable, ...fields] = records(result.stdout);
  if (executable) rememberExecutable(TOOLS.python, executable);
  const answered = fields.map((record) => {
    const p = JSON.parse(record) as { line: number | null; message: string } | null;
    return p === null ? null : p.line === null ? { message: p.message } : { line: p.line, message: p.message };
  });
  return complete(answered, sources.length, result, 'python3', options, (ms) => timeoutProblem(TOOLS.python, ms));
}

// --- bash ----------------------------------------------------------------------------------------

// Per block, a fast pre-check: `set -n` inside eval makes bash parse the rest of the string without
// running any of it, and the subshell keeps it from applying to the next block — a fork, no exec. A
// block it rejects is checked again by `bash -n` on stdin — the same binary ($BASH) under the name
// this shell was started by ($0, which begins its messages) — and that message and line are the
// result: parsing a string differs from parsing a stream in a few corners (an unclosed `((`, some
// `[[ ]]`), where eval is the stricter.
const BASH_DRIVER = [
  `while IFS= read -r -d '' src; do`,
  `  if ( eval $'set -n\\n'"$src" ) 2>/dev/null; then printf '\\0%d\\0' 0`,
  `  else printf '%s' "$src" | exec -a "$0" "$BASH" -n 2>&1; printf '\\0%d\\0' "$?"; fi`,
  `done`,
].join('\n');

async function checkBash(sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  const result = await runTool(TOOLS.bash, 'bash', ['-c', BASH_DRIVER], sources.map(shellRecord).join(''), options);
  const answered = shellResults(records(result.stdout)).map(({ stderr, code }): SyntaxProblem | null => {
    if (code === 0) return null;
    const first = stderr.split('\n')[0] ?? '';
    const m = /line (\d+): (.*)$/.exec(first);
    return m ? { line: Number(m[1]), message: m[2]! } : { message: first || `bash -n exited with ${code}` };
  });
  return complete(answered, sources.length, result, 'bash', options, (ms) => timeoutProblem(TOOLS.bash, ms));
}

// --- go and rust: one bash driver running the formatter ---------------------------------------------

// Arguments: the tool's argument count and arguments, a file count and the files, then the tool's
// candidate paths. The first record says whether a candidate exists. When there are files, one run
// over all of them prints the next (stderr, exit status) pair. Then stdin holds two records a block,
// its source and a fallback ('' for none): one pair for the source and, when the tool rejected it
// (non-zero status) and there is a fallback, one pair for the fallback.
const TOOL_DRIVER = [
  'n=$1; shift; args=("${@:1:n}"); shift "$n"; m=$1; shift; files=("${@:1:m}"); shift "$m"; tool=',
  'for c in "$@"; do if p=$(command -v -- "$c"); then tool=$p; break; fi; done',
  `if [ -z "$tool" ]; then printf 'missing\\0'; exit 0; fi`,
  `printf 'found\\0'`,
  `if [ "$m" -gt 0 ]; then "$tool" "\${args[@]}" "\${files[@]}" 2>&1 >/dev/null; printf '\\0%d\\0' "$?"; fi`,
  `while IFS= read -r -d '' src && IFS= read -r -d '' fallback; do`,
  `  printf '%s' "$src" | "$tool" "\${args[@]}" 2>&1 >/dev/null; code=$?; printf '\\0%d\\0' "$code"`,
  `  if [ -n "$fallback" ] && [ "$code" -ne 0 ]; then printf '%s' "$fallback" | "$tool" "\${args[@]}" 2>&1 >/dev/null; printf '\\0%d\\0' "$?"; fi`,
  `done`,
].join('\n');

interface ToolRun {
  /** The (stderr, exit status) of the run over the files, if any, then of each source and fallback run. */
  results: { stderr: string; code: number }[];
  result: RunResult;
}

/**
 * Runs `tool` once over `files` (if any), then on each source's stdin, and on its fallback's when the
 * source was rejected, all inside one bash driver.
 */
async function runFormatter(
  tool: Tool,
  language: string,
  args: readonly string[],
  files: readonly string[],
  sources: readonly { source: string; fallback?: string }[],
  options: RunOptions,
): Promise<ToolRun> {
  const driverArgs = ['-c', TOOL_DRIVER, `${language}-driver`, String(args.length), ...args, String(files.length), ...files, ...tool.candidates];
  const input = sources.map(({ source, fallback }) => shellRecord(source) + shellRecord(fallback ?? '')).join('');
  const result = await runTool(TOOLS.bash, language, driverArgs, input, options);
  const [status, ...fields] = records(result.stdout);
  if (status === 'missing') throw new MissingToolError(tool, language);
  if (status !== 'found' && !result.timedOut) throw new Error(`the ${language} driver failed (exit ${result.code}): ${result.stderr.trim()}`);
  return { results: shellResults(fields), result };
}

// gofmt tries a block as a fragment only when the whole-file parse says the package clause is
// missing; a block that opens with its clause parses the same as a file as on stdin. Those go to one
// gofmt run as files; the others are fed to it on stdin one by one.
const OPENS_WITH_PACKAGE = /^(?:\s|\/\/[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*package\b/;
const GOFMT_ARGS = ['-e', '-l'];

async function checkGo(sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  const asFile = sources.map((source) => OPENS_WITH_PACKAGE.test(source));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'go-blocks-'));
  try {
    const files = new Map<string, number>();
    for (const [i, source] of sources.entries()) {
      if (!asFile[i]) continue;
      const file = path.join(dir, `block${i}.go`);
      await writeFile(file, source);
      files.set(file, i);
    }
    const onStdin = sources.filter((_, i) => !asFile[i]);
    const { results, result } = await runFormatter(TOOLS.go, 'go', GOFMT_ARGS, [...files.keys()], onStdin.map((source) => ({ source })), options);
    const timedOut = (ms: number) => timeoutProblem(TOOLS.go, ms);
    const fileRun = files.size > 0 ? results[0] : undefined;
    if (files.size > 0 && !fileRun && !result.timedOut) throw new Error(`gofmt stopped before checking ${files.size} go blocks (exit ${result.code}): ${result.stderr.trim()}`);
    const fileProblems = fileRun ? goFileProblems(fileRun.stderr, files) : undefined;
    const stdinProblems = complete(results.slice(files.size > 0 ? 1 : 0).map(goProblem), onStdin.length, result, 'gofmt', options, timedOut);
    let next = 0;
    return sources.map((_, i) => {
      if (!asFile[i]) return stdinProblems[next++]!;
      return fileProblems ? (fileProblems.get(i) ?? null) : timedOut(options.timeoutMs);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function goProblem({ stderr, code }: { stderr: string; code: number }): SyntaxProblem | null {
  if (code === 0) return null;
  const first = stderr.trim().split('\n')[0] ?? '';
  const m = /^<standard input>:(\d+):\d+: (.*)$/.exec(first);
  return m ? { line: Number(m[1]), message: m[2]! } : { message: first || `gofmt exited with ${code}` };
}

/**
 * Each file's first error, by block index. gofmt prints a file's errors in order, each starting
 * `<file>:<line>:<column>: `; a message that quotes source runs on over the next lines, and only its
 * first line is kept, as for a block read from stdin.
 */
function goFileProblems(stderr: string, files: ReadonlyMap<string, number>): Map<number, SyntaxProblem> {
  const problems = new Map<number, SyntaxProblem>();
  let inError = false;
  for (const line of stderr.split('\n')) {
    const file = [...files.keys()].find((f) => line.startsWith(`${f}:`));
    const m = file === undefined ? null : /^(\d+):\d+: (.*)$/.exec(line.slice(file.length + 1));
    if (!file || !m) {
      if (inError || line.trim() === '') continue;
      throw new Error(`gofmt printed a line about no block: ${line}`);
    }
    inError = true;
    const index = files.get(file)!;
    if (!problems.has(index)) problems.set(index, { line: Number(m[1]), message: m[2]! });
  }
  return problems;
}

const RUSTFMT_ARGS = ['--check', '--edition', '2021', '--color', 'never'];
const hasMain = (source: string) => /\bfn\s+main\s*\(/.test(source);
// rustdoc wraps snippets without a main in one; statement-level fragments are accepted the same way.
const wrapInMain = (source: string) => `fn main() {\n${source}\n}`;

async function checkRust(sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  // A block without a main that rustfmt rejects is tried again wrapped: it fails only if both fail.
  const runs = sources.map((source) => (hasMain(source) ? { source } : { source, fallback: wrapInMain(source) }));
  const { results, result } = await runFormatter(TOOLS.rust, 'rust', RUSTFMT_ARGS, [], runs, options);
  const answered: (SyntaxProblem | null)[] = [];
  let next = 0;
  for (const { fallback } of runs) {
    const asWritten = results[next++];
    if (!asWritten) break;
    const problem = rustProblem(asWritten);
    // The driver ran the fallback exactly when the block has one and exited non-zero.
    if (fallback === undefined || asWritten.code === 0) {
      answered.push(problem);
      continue;
    }
    const wrapped = results[next++];
    if (!wrapped) break;
    answered.push(problem && rustProblem(wrapped) ? problem : null);
  }
  return complete(answered, sources.length, result, 'rustfmt', options, (ms) => timeoutProblem(TOOLS.rust, ms));
}

function rustProblem({ stderr, code }: { stderr: string; code: number }): SyntaxProblem | null {
  // The rustup proxy exists without the component; that is a missing tool, not a bad block.
  if (/rustfmt.* is not installed/.test(stderr)) throw new MissingToolError(TOOLS.rust, 'rust');
  // --check exits non-zero for unformatted code too; only an "error" means it did not parse.
  const error = /^error(?:\[\w+\])?: (.*)$/m.exec(stderr);
  if (!error) return code === 0 || code === 1 ? null : { message: stderr.trim().split('\n')[0] ?? `rustfmt exited with ${code}` };
  const at = /--> <stdin>:(\d+):/.exec(stderr);
  return at ? { line: Number(at[1]), message: error[1]! } : { message: error[1]! };
}

// --- sql -----------------------------------------------------------------------------------------

// libpg-query is PostgreSQL's parser compiled to WebAssembly (1.1 MB). In a process that parsed the
// shipped fixture's 76 SQL blocks, V8's optimising compiler then spent ~2 CPU s on that module on
// its background threads (2.9 CPU s for the process against 0.7 with `--liftoff-only`, Node 24; the
// parsing itself took 0.1 s either way). The flag is process-wide and only takes effect on the
// command line, so the parser runs in a node of its own with it, and the validating process (a
// worker, the CLI) never loads the module. Errors carry the parser's cursor, a character offset.
const SQL_DRIVER = `
import { parse } from ${JSON.stringify(import.meta.resolve('libpg-query'))};
let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
for (const sql of JSON.parse(input)) {
  let result = null;
  try {
    await parse(sql);
  } catch (err) {
    result = { message: err.message, cursor: err.sqlDetails?.cursorPosition ?? null };
  }
  process.stdout.write(JSON.stringify(result) + '\\0');
}
`;
const SQL_NODE_ARGS = ['--liftoff-only', '--input-type=module', '-e', SQL_DRIVER];

async function checkSql(sources: readonly string[], options: RunOptions): Promise<(SyntaxProblem | null)[]> {
  // psql meta-commands (\d, \timing) are not SQL; blank them so line numbers stay true.
  const statements = sources.map((source) => source.replace(/^[ \t]*\\.*$/gm, ''));
  const result = await runTool(TOOLS.sql, 'sql', SQL_NODE_ARGS, JSON.stringify(statements), options);
  const answered = records(result.stdout).map((record, i): SyntaxProblem | null => {
    const p = JSON.parse(record) as { message: string; cursor: number | null } | null;
    return p === null ? null : p.cursor === null ? { message: p.message } : { line: lineAt(statements[i]!, p.cursor), message: p.message };
  });
  return complete(answered, sources.length, result, 'the SQL parser', options, (ms) => timeoutProblem(TOOLS.sql, ms));
}
