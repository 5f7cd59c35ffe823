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
import MarkdownIt from 'markdown-it';
import { DockerfileParser, Keyword, Onbuild, type Heredoc, type Instruction } from 'dockerfile-ast';
import pLimit from 'p-limit';

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

// CommonMark's own parser, so containers are honoured: a fence inside a blockquote or a list item is
// found (its `>` markers and item indent stripped from the content), a "fence" indented four spaces
// is an indented code block, and inline ``` code is not a fence. Raw HTML stays text (html: false),
// so a fence right after a `<details>` line is still a fence.
const markdownParser = new MarkdownIt({ html: false });

export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const token of markdownParser.parse(markdown, {})) {
    if (token.type !== 'fence' || !token.map) continue;
    const [start, end] = token.map;
    // The map spans the opening fence, the content and, when there is one, the closing fence; a
    // fence left open runs to the end of its container. Each content line ends with \n except a
    // last one at the end of the document.
    const { content } = token;
    const contentLines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
    const word = markdownParser.utils.unescapeAll(token.info).trim().split(/\s+/)[0] ?? '';
    blocks.push({
      language: word === '' ? null : word.toLowerCase(),
      line: start + 1,
      content: content.endsWith('\n') ? content.slice(0, -1) : content,
      closed: end - start === contentLines + 2,
    });
  }
  return blocks;
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
    pLimit(options.concurrency ?? Math.max(2, availableParallelism())).map(external, async (i) => {
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
// Dockerfile: dockerfile-ast (the parser of the Dockerfile language server) does the grammar —
// parser directives, the escape character, continuation lines, comments inside them, heredocs —
// and this checks what the parser accepts but `docker build` rejects, in source order.

const DOCKERFILE_INSTRUCTIONS = new Set<string>(Object.values(Keyword));
const HEREDOC_INSTRUCTIONS = new Set<string>([Keyword.RUN, Keyword.COPY, Keyword.ADD]);
const NOT_ONBUILD_TRIGGERS = new Set<string>([Keyword.ONBUILD, Keyword.FROM, Keyword.MAINTAINER]);

/** dockerfile-ast parses heredocs for every instruction; Run and Copy expose them, Add only inherits them. */
type WithHeredocs = { getHeredocs(): Heredoc[] };

export function checkDockerfile(source: string): SyntaxProblem | null {
  const dockerfile = DockerfileParser.parse(source);
  for (const directive of dockerfile.getDirectives()) {
    const value = directive.getValue();
    if (directive.getName().toLowerCase() === 'escape' && value !== '\\' && value !== '`') {
      return { line: directive.getRange().start.line + 1, message: `escape directive must be \\ or \`, got ${value}` };
    }
  }
  let sawFrom = false;
  for (const instruction of dockerfile.getInstructions()) {
    const line = instruction.getRange().start.line + 1;
    const keyword = instruction.getKeyword();
    if (!DOCKERFILE_INSTRUCTIONS.has(keyword)) return { line, message: `unknown instruction "${instruction.getInstruction()}"` };
    if (instruction.getArguments().length === 0) return { line, message: `${keyword} needs arguments` };
    let body: Instruction = instruction;
    if (instruction instanceof Onbuild) {
      const trigger = instruction.getTriggerInstruction();
      if (!trigger || !DOCKERFILE_INSTRUCTIONS.has(trigger.getKeyword())) {
        return { line, message: `ONBUILD trigger "${instruction.getTrigger() ?? ''}" is not an instruction` };
      }
      if (NOT_ONBUILD_TRIGGERS.has(trigger.getKeyword())) return { line, message: `ONBUILD may not trigger ${trigger.getKeyword()}` };
      body = trigger;
    }
    if (!sawFrom && keyword !== Keyword.FROM && keyword !== Keyword.ARG) return { line, message: `${keyword} before FROM (only ARG may come first)` };
    sawFrom ||= keyword === Keyword.FROM;
    if (!HEREDOC_INSTRUCTIONS.has(body.getKeyword())) continue;
    const open = (body as unknown as WithHeredocs).getHeredocs().find((heredoc) => heredoc.getDelimiterRange() === null);
    if (open) return { line, message: `heredoc <<${open.getName()} is never closed by a line "${open.getName()}"` };
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
