import type { Config } from '../config.js';
import type { Embedder } from './embedder.js';
import { LocalEmbedder } from './local.js';
import { OpenAIEmbedder } from './openai.js';

export type { Embedder } from './embedder.js';

export function createEmbedder(config: Config): Embedder {
  const e = config.embedding;
  if (e.provider === 'openai') {
    // loadConfig guarantees the key is present for the openai provider.
    return new OpenAIEmbedder({ apiKey: e.openaiApiKey!, ...(e.openaiBaseUrl && { baseURL: e.openaiBaseUrl }) });
  }
  return new LocalEmbedder();
}
