/**
 * Fenced code blocks in a trace's Markdown, and a syntax check for each language a seed may use.
 * Checks are syntactic only: the point is to catch code that was truncated or mangled while the
 * corpus was written, not to type-check or run it. Each checker reports the block's first error (later
 * ones are often cascades of it) with its line inside the block.
 */
import { spawn } from 'node:child_process';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parse as parseSql } from 'libpg-query';

export interface CodeBlock {
  /** First word of the info string, lowercased; null for an untagged fence. */
  language: string | null;
  /** 1-based line of the opening fence in the Markdown; the content starts on the next line. */
  line: number;
  content: string;
  closed: boolean;
}

export type Checker =
  | 'typescript'
  | 'tsx'
  | 'javascript'
  | 'jsx'
  | 'json'
  | 'yaml'
  | 'toml'
  | 'python'
  | 'sql'
  | 'bash'
  | 'go'
  | 'rust'
  | 'dockerfile';

const ALIASES: Record<string, Checker> = {
  ts: 'typescript',
  typescript: 'typescript',
  tsx: 'tsx',
  js: 'javascript',
  javascript: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'jsx',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  toml: 'toml',
  python: 'python',
  py: 'python',
  sql: 'sql',
  bash: 'bash',
  sh: 'bash',
  shell: 'bash',
  zsh: 'bash',
  go: 'go',
  rust: 'rust',
  rs: 'rust',
  dockerfile: 'dockerfile',
  docker: 'dockerfile',
};

export function checkerFor(language: string | null): Checker | null {
  return language === null ? null : (ALIASES[language] ?? null);
}

/** A block's syntax error; `line` is 1-based within the block when the parser says where. */
export interface SyntaxProblem {
  line?: number;
  message: string;
}

export interface CheckOptions {
  /** How many parser processes may run at once. */
  concurrency?: number;
  /** Per-process limit; a block whose parser runs longer fails. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Extraction

const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})(.*)$/;

export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    // A backtick "fence" whose info string holds a backtick is inline code (CommonMark).
    if (fence[0] === '`' && info.includes('`')) continue;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!)) body.push(stripIndent(lines[j++]!, indent.length));
    const word = info.trim().split(/\s+/)[0] ?? '';
    blocks.push({ language: word === '' ? null : word.toLowerCase(), line: i + 1, content: body.join('\n'), closed: j < lines.length });
    i = j;
  }
  return blocks;
}

// Fences inside list items are indented; their content carries the same indent.
function stripIndent(line: string, width: number): string {
  let n = 0;
  while (n < width && line[n] === ' ') n++;
  return line.slice(n);
}

// ---------------------------------------------------------------------------------------------
// Checking

/** Checks every block, in-process where a parser library exists, otherwise with the language's own tool. */
export async function checkBlocks(
  blocks: readonly { checker: Checker; content: string }[],
  options: CheckOptions = {},
): Promise<(SyntaxProblem | null)[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const results: (SyntaxProblem | null)[] = blocks.map(() => null);
  const external: number[] = [];
  const python: number[] = [];
  for (const [i, block] of blocks.entries()) {
    if (block.checker === 'python') python.push(i);
    else if (block.checker === 'bash' || block.checker === 'go' || block.checker === 'rust') external.push(i);
    else results[i] = await checkInProcess(block.checker, block.content);
  }
  // The python batch runs alongside the per-block tools: it is one long process on its own core.
  const [pythonResults] = await Promise.all([
    checkPython(
      python.map((i) => blocks[i]!.content),
      timeoutMs,
    ),
    mapLimit(external, options.concurrency ?? Math.max(2, availableParallelism()), async (i) => {
      const block = blocks[i]!;
      results[i] = await checkExternal(block.checker, block.content, timeoutMs);
    }),
  ]);
  python.forEach((blockIndex, k) => (results[blockIndex] = pythonResults[k] ?? null));
  return results;
}

async function checkInProcess(checker: Checker, source: string): Promise<SyntaxProblem | null> {
  switch (checker) {
    case 'typescript':
      return checkTypeScript(source, ts.ScriptKind.TS);
    case 'tsx':
      return checkTypeScript(source, ts.ScriptKind.TSX);
    case 'javascript':
      return checkTypeScript(source, ts.ScriptKind.JS);
    case 'jsx':
      return checkTypeScript(source, ts.ScriptKind.JSX);
    case 'json':
      return checkJson(source);
    case 'yaml':
      return checkYaml(source);
    case 'toml':
      return checkToml(source);
    case 'sql':
      return checkSql(source);
    case 'dockerfile':
      return checkDockerfile(source);
    default:
      throw new Error(`${checker} is not checked in-process`);
  }
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source[i] === '\n') line++;
  return line;
}

function checkTypeScript(source: string, kind: ts.ScriptKind): SyntaxProblem | null {
  const file = ts.createSourceFile(`block${extensionOf(kind)}`, source, ts.ScriptTarget.Latest, false, kind);
  // parseDiagnostics is internal but stable; a Program would add type checking we do not want.
  const diagnostics = (file as unknown as { parseDiagnostics: readonly ts.Diagnostic[] }).parseDiagnostics;
  const first = diagnostics[0];
  if (!first) return null;
  return { line: lineAt(source, first.start ?? 0), message: ts.flattenDiagnosticMessageText(first.messageText, ' ') };
}

function extensionOf(kind: ts.ScriptKind): string {
  return { [ts.ScriptKind.TSX]: '.tsx', [ts.ScriptKind.JS]: '.js', [ts.ScriptKind.JSX]: '.jsx' }[kind as number] ?? '.ts';
}

function checkJson(source: string): SyntaxProblem | null {
  try {
    JSON.parse(source);
    return null;
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    return position ? { line: lineAt(source, Number(position[1])), message } : { message };
  }
}

function checkYaml(source: string): SyntaxProblem | null {
  const docs = parseAllDocuments(source, { prettyErrors: false });
  const errors = (Array.isArray(docs) ? docs : []).flatMap((doc) => doc.errors);
  const first = errors[0];
  if (!first) return null;
  return { line: lineAt(source, first.pos[0]), message: first.message };
}

function checkToml(source: string): SyntaxProblem | null {
  try {
    parseToml(source);
    return null;
  } catch (err) {
    // smol-toml appends a code excerpt after a blank line; the line number carries that information.
    const message = (err as Error).message.split('\n')[0]!;
    return err instanceof TomlError ? { line: err.line, message } : { message };
  }
}

async function checkSql(source: string): Promise<SyntaxProblem | null> {
  // psql meta-commands (\d, \timing) are not SQL; blank them so line numbers stay true.
  const sql = source.replace(/^[ \t]*\\.*$/gm, '');
  try {
    await parseSql(sql);
    return null;
  } catch (err) {
    const cursor = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const message = (err as Error).message;
    return cursor === undefined ? { message } : { line: lineAt(sql, cursor), message };
  }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: no parser library, so a grammar check of the instruction level.

const DOCKERFILE_INSTRUCTIONS = new Set(
  'FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG ONBUILD STOPSIGNAL HEALTHCHECK SHELL'.split(' '),
);
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

export function checkDockerfile(source: string): SyntaxProblem | null {
  const lines = source.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives are only recognised before anything else, comments included.
  for (let m; i < lines.length && (m = /^\s*#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(lines[i]!)); i++) {
    if (m[1]!.toLowerCase() !== 'escape') continue;
    if (m[2] !== '\\' && m[2] !== '`') return { line: i + 1, message: `escape directive must be \\ or \`, got ${m[2]}` };
    escape = m[2];
  }
  let sawFrom = false;
  while (i < lines.length) {
    const start = i + 1;
    if (/^\s*(#|$)/.test(lines[i]!)) {
      i++;
      continue;
    }
    let logical = '';
    for (;;) {
      const physical = lines[i++]!.trimEnd();
      if (!physical.endsWith(escape)) {
        logical += physical;
        break;
      }
      logical += `${physical.slice(0, -1)} `;
      // Docker drops comment lines inside a continued instruction.
      while (i < lines.length && /^\s*#/.test(lines[i]!)) i++;
      if (i >= lines.length) break;
    }
    const [word = '', ...rest] = logical.trim().split(/\s+/);
    const instruction = word.toUpperCase();
    if (!DOCKERFILE_INSTRUCTIONS.has(instruction)) return { line: start, message: `unknown instruction "${word}"` };
    if (rest.length === 0) return { line: start, message: `${instruction} needs arguments` };
    if (instruction === 'ONBUILD' && !DOCKERFILE_INSTRUCTIONS.has(rest[0]!.toUpperCase())) {
      return { line: start, message: `ONBUILD trigger "${rest[0]}" is not an instruction` };
    }
    if (!sawFrom && instruction !== 'FROM' && instruction !== 'ARG') return { line: start, message: `${instruction} before FROM (only ARG may come first)` };
    sawFrom ||= instruction === 'FROM';
    const body = instruction === 'ONBUILD' ? rest[0]!.toUpperCase() : instruction;
    if (!HEREDOC_INSTRUCTIONS.has(body)) continue;
    for (const [, dash, , name] of logical.matchAll(HEREDOC)) {
      const end = lines.findIndex((l, k) => k >= i && (dash ? l.replace(/^\t+/, '') : l) === name);
      if (end < 0) return { line: start, message: `heredoc <<${name} is never closed by a line "${name}"` };
      i = end + 1;
    }
  }
  return sawFrom ? null : { line: 1, message: 'no FROM instruction' };
}

// ---------------------------------------------------------------------------------------------
// External parsers

interface Tool {
  name: string;
  candidates: string[];
  install: string;
}

const TOOLS = {
  python: { name: 'python3', candidates: ['python3'], install: 'Python 3 (apt-get install python3)' },
  bash: { name: 'bash', candidates: ['bash', '/bin/bash'], install: 'bash (apt-get install bash)' },
  go: { name: 'gofmt', candidates: ['gofmt', '/usr/local/go/bin/gofmt'], install: 'Go (https://go.dev/dl, or apt-get install golang-go)' },
  // rustup installs into ~/.cargo/bin, which a non-login shell (CI, a service) may not have on PATH.
  rust: { name: 'rustfmt', candidates: ['rustfmt', path.join(os.homedir(), '.cargo/bin/rustfmt'), '/usr/bin/rustfmt'], install: 'rustfmt (rustup component add rustfmt, or apt-get install rustfmt)' },
} satisfies Record<string, Tool>;

export class MissingToolError extends Error {
  constructor(tool: Tool, language: string) {
    super(`${tool.name} is needed to check ${language} code blocks but was not found (tried ${tool.candidates.join(', ')}); install ${tool.install}`);
    this.name = 'MissingToolError';
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

// Which candidate path worked, so later blocks do not retry the missing ones.
const resolved = new Map<string, string>();

async function runTool(tool: Tool, language: string, args: string[], input: string, timeoutMs: number): Promise<RunResult> {
  const known = resolved.get(tool.name);
  for (const candidate of known ? [known] : tool.candidates) {
    const result = await run(candidate, args, input, timeoutMs);
    if (result === 'missing') continue;
    resolved.set(tool.name, candidate);
    return result;
  }
  throw new MissingToolError(tool, language);
}

function run(command: string, args: string[], input: string, timeoutMs: number): Promise<RunResult | 'missing'> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A parser may stop reading at its first error; the exit status still tells the story.
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

async function checkExternal(checker: Checker, source: string, timeoutMs: number): Promise<SyntaxProblem | null> {
  if (checker === 'bash') return checkBash(source, timeoutMs);
  if (checker === 'go') return checkGo(source, timeoutMs);
  if (checker === 'rust') return checkRust(source, timeoutMs);
  throw new Error(`${checker} has no external checker`);
}

function timeoutProblem(tool: Tool, timeoutMs: number): SyntaxProblem {
  return { message: `${tool.name} did not finish within ${timeoutMs / 1000} s` };
}

async function checkBash(source: string, timeoutMs: number): Promise<SyntaxProblem | null> {
  const result = await runTool(TOOLS.bash, 'bash', ['-n'], source, timeoutMs);
  if (result.timedOut) return timeoutProblem(TOOLS.bash, timeoutMs);
  if (result.code === 0) return null;
  const first = result.stderr.split('\n')[0] ?? '';
  const m = /line (\d+): (.*)$/.exec(first);
  return m ? { line: Number(m[1]), message: m[2]! } : { message: first || `bash -n exited with ${result.code}` };
}

async function checkGo(source: string, timeoutMs: number): Promise<SyntaxProblem | null> {
  const result = await runTool(TOOLS.go, 'go', ['-e'], source, timeoutMs);
  if (result.timedOut) return timeoutProblem(TOOLS.go, timeoutMs);
  if (result.code === 0) return null;
  const first = result.stderr.trim().split('\n')[0] ?? '';
  const m = /^<standard input>:(\d+):\d+: (.*)$/.exec(first);
  return m ? { line: Number(m[1]), message: m[2]! } : { message: first || `gofmt exited with ${result.code}` };
}

async function checkRust(source: string, timeoutMs: number): Promise<SyntaxProblem | null> {
  const problem = await rustfmt(source, timeoutMs);
  if (!problem || /\bfn\s+main\s*\(/.test(source)) return problem;
  // rustdoc wraps snippets without a main in one; accept statement-level fragments the same way.
  const wrapped = await rustfmt(`fn main() {\n${source}\n}`, timeoutMs);
  return wrapped ? problem : null;
}

async function rustfmt(source: string, timeoutMs: number): Promise<SyntaxProblem | null> {
  const result = await runTool(TOOLS.rust, 'rust', ['--check', '--edition', '2021', '--color', 'never'], source, timeoutMs);
  if (result.timedOut) return timeoutProblem(TOOLS.rust, timeoutMs);
  // The rustup proxy exists without the component; that is a missing tool, not a bad block.
  if (/rustfmt.* is not installed/.test(result.stderr)) throw new MissingToolError(TOOLS.rust, 'rust');
  // --check exits non-zero for unformatted code too; only an "error" means it did not parse.
  const error = /^error(?:\[\w+\])?: (.*)$/m.exec(result.stderr);
  if (!error) return result.code === 0 || result.code === 1 ? null : { message: result.stderr.trim().split('\n')[0] ?? `rustfmt exited with ${result.code}` };
  const at = /--> <stdin>:(\d+):/.exec(result.stderr);
  return at ? { line: Number(at[1]), message: error[1]! } : { message: error[1]! };
}

// ast.parse only compiles; nothing in the block runs. One process for all blocks: startup dominates.
const PYTHON_CHECKER = `
import ast, json, sys, warnings
warnings.simplefilter("ignore")
out = []
for src in json.load(sys.stdin):
    try:
        ast.parse(src)
        out.append(None)
    except SyntaxError as e:
        out.append({"line": e.lineno, "message": type(e).__name__ + ": " + str(e.msg)})
    except ValueError as e:
        out.append({"line": None, "message": str(e)})
json.dump(out, sys.stdout)
`;

async function checkPython(sources: string[], timeoutMs: number): Promise<(SyntaxProblem | null)[]> {
  if (sources.length === 0) return [];
  const result = await runTool(TOOLS.python, 'python', ['-c', PYTHON_CHECKER], JSON.stringify(sources), timeoutMs * 4);
  if (result.timedOut || result.code !== 0) {
    const why = result.timedOut ? `did not finish within ${(timeoutMs * 4) / 1000} s` : `failed: ${result.stderr.trim()}`;
    throw new Error(`python3 ${why} while checking ${sources.length} python blocks`);
  }
  const parsed = JSON.parse(result.stdout) as ({ line: number | null; message: string } | null)[];
  return parsed.map((p) => (p === null ? null : p.line === null ? { message: p.message } : { line: p.line, message: p.message }));
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
