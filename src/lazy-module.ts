/**
 * A package loaded on first use instead of at import. Some dependencies cost a process a noticeable
 * share of a second to load (TypeScript's compiler, the OpenAI SDK, faker's locale data, the
 * tokenizer's tables, autocannon), and most processes that import the module using them never call
 * it: the CLI, workers that run no seed validation, every test file. `require` loads ES modules too
 * (Node ≥ 20.19), so the loader stays synchronous and its callers do not change.
 */
import { createRequire } from 'node:module';

const requireFromHere = createRequire(import.meta.url);

export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireFromHere(specifier) as T);
}
