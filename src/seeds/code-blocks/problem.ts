/** What every code-block checker returns: the block's first syntax error, or null when it parses. */

/** A block's syntax error; `line` is 1-based within the block when the parser says where. */
export interface SyntaxProblem {
  line?: number;
  message: string;
}

/** The 1-based line of a character offset in `source`. */
export function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source[i] === '\n') line++;
  return line;
}
