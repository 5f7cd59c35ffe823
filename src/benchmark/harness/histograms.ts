/**
 * HDR latency histograms across processes: a child sends its histograms compressed (a few KB
 * whatever the sample count), the parent adds them into one. Values stay in the stats.ts units
 * (whole microseconds), so the merged histogram summarises like any other.
 */
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, JsHistogram, type Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram } from '../stats.js';

/** null for an empty histogram. */
export type EncodedHistogram = { hdr: string; minNonZero: number; max: number } | null;

export function encodeHistogram(histogram: Histogram): EncodedHistogram {
  if (histogram.totalCount === 0) return null;
  return { hdr: encodeIntoCompressedBase64(histogram), minNonZero: histogram.minNonZeroValue, max: histogram.maxValue };
}

export function mergeHistograms(encoded: readonly EncodedHistogram[]): Histogram {
  const merged = createLatencyHistogram();
  const parts = encoded.filter((e) => e !== null);
  for (const e of parts) merged.add(decodeFromCompressedBase64(e.hdr));
  // Decoding rebuilds min and max from bucket edges (up to 0.1% off); the exact extremes go back in,
  // so a merged summary's min and max are as exact as an in-process histogram's.
  if (parts.length > 0 && merged instanceof JsHistogram) {
    merged.maxValue = Math.max(...parts.map((e) => e.max));
    merged.minNonZeroValue = Math.min(...parts.map((e) => e.minNonZero));
  }
  return merged;
}

/** Histograms by name (e.g. one per Server-Timing stage) merged name by name. */
export function mergeNamedHistograms(encoded: readonly Record<string, EncodedHistogram>[]): Map<string, Histogram> {
  const names = [...new Set(encoded.flatMap((e) => Object.keys(e)))];
  return new Map(names.map((name) => [name, mergeHistograms(encoded.map((e) => e[name] ?? null))]));
}
