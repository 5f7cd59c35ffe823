/** TypeScript, TSX, JavaScript and JSX blocks, parsed (not type-checked) by the TypeScript compiler. */
import ts from 'typescript';
import { lineAt, type SyntaxProblem } from './problem.js';

const EXTENSIONS: Partial<Record<ts.ScriptKind, string>> = {
  [ts.ScriptKind.TS]: '.ts',
  [ts.ScriptKind.TSX]: '.tsx',
  [ts.ScriptKind.JS]: '.js',
  [ts.ScriptKind.JSX]: '.jsx',
};

function checkScript(source: string, kind: ts.ScriptKind): SyntaxProblem | null {
  const file = ts.createSourceFile(`block${EXTENSIONS[kind] ?? '.ts'}`, source, ts.ScriptTarget.Latest, false, kind);
  // parseDiagnostics is internal but stable; a Program would add type checking we do not want.
  const diagnostics = (file as unknown as { parseDiagnostics: readonly ts.Diagnostic[] }).parseDiagnostics;
  const first = diagnostics[0];
  if (!first) return null;
  return { line: lineAt(source, first.start ?? 0), message: ts.flattenDiagnosticMessageText(first.messageText, ' ') };
}

export const javascriptCheckers = {
  typescript: (source: string) => checkScript(source, ts.ScriptKind.TS),
  tsx: (source: string) => checkScript(source, ts.ScriptKind.TSX),
  javascript: (source: string) => checkScript(source, ts.ScriptKind.JS),
  jsx: (source: string) => checkScript(source, ts.ScriptKind.JSX),
};
