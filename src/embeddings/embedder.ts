/** Every embedding provider looks the same to the rest of the code. */
export interface Embedder {
  /** Recorded on every stored vector; search only compares vectors of the active model. */
  readonly modelId: string;
  readonly dimensions: number;
  /** Largest number of texts one `embed` call should carry (callers chunk by it). */
  readonly maxBatchSize: number;
  embed(texts: string[]): Promise<number[][]>;
}

/** The text a trace is embedded from, shared by import, backfill and tests. */
export function traceEmbeddingText(trace: { title: string; contextText: string; solutionText: string; tags?: readonly string[] }): string {
  const tagLine = trace.tags && trace.tags.length > 0 ? `\nTags: ${trace.tags.join(', ')}` : '';
  return `${trace.title}${tagLine}\n\n${trace.contextText}\n\n${trace.solutionText}`;
}

export function l2Normalize(v: Float32Array | number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return Array.from(v, (x) => (norm === 0 ? 0 : x / norm));
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** pgvector's text input form, e.g. '[0.1,0.2]'. */
export function toVectorLiteral(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}
