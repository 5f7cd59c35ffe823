/** SQL blocks, parsed by PostgreSQL's own parser (libpg-query). */
import { parse as parseSql } from 'libpg-query';
import { lineAt, type SyntaxProblem } from './problem.js';

export async function checkSql(source: string): Promise<SyntaxProblem | null> {
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
