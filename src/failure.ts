/**
 * Workflow failures nest (workflow → child → activity → application); the innermost message is
 * the useful one. Pure code, so workflows and the CLI share it.
 */
export function rootCauseMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(err);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}
