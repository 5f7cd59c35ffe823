/** TypeScript, TSX, JavaScript and JSX blocks, parsed (not type-checked) by the TypeScript compiler. */
import type * as TypeScript from 'typescript';
import { lazyModule } from '../../lazy-module.js';
import { lineAt, type SyntaxProblem } from './problem.js';

const typescript = lazyModule<typeof TypeScript>('typescript');

type ScriptKind = 'TS' | 'TSX' | 'JS' | 'JSX';

function checkScript(source: string, kind: ScriptKind): SyntaxProblem | null {
  const ts = typescript();
  const file = ts.createSourceFile(`block.${kind.toLowerCase()}`, source, ts.ScriptTarget.Latest, false, ts.ScriptKind[kind]);
  // parseDiagnostics is internal but stable; a Program would add type checking we do not want.
  const diagnostics = (file as unknown as { parseDiagnostics: readonly TypeScript.Diagnostic[] }).parseDiagnostics;
  const first = diagnostics[0];
  if (!first) return null;
  return { line: lineAt(source, first.start ?? 0), message: ts.flattenDiagnosticMessageText(first.messageText, ' ') };
}

export const javascriptCheckers = {
  typescript: (source: string) => checkScript(source, 'TS'),
  tsx: (source: string) => checkScript(source, 'TSX'),
  javascript: (source: string) => checkScript(source, 'JS'),
  jsx: (source: string) => checkScript(source, 'JSX'),
};
