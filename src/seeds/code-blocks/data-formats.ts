/** JSON, YAML and TOML blocks, parsed in-process. */
import { parseAllDocuments } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import { lineAt, type SyntaxProblem } from './problem.js';

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

export const dataFormatCheckers = { json: checkJson, yaml: checkYaml, toml: checkToml };
