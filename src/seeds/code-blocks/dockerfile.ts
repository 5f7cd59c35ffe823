/**
 * Dockerfile blocks: dockerfile-ast (the parser of the Dockerfile language server) does the grammar —
 * parser directives, the escape character, continuation lines, comments inside them, heredocs —
 * and this checks what the parser accepts but `docker build` rejects, in source order.
 */
import { DockerfileParser, Keyword, Onbuild, type Heredoc, type Instruction } from 'dockerfile-ast';
import type { SyntaxProblem } from './problem.js';

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
