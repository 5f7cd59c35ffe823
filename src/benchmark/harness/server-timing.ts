/**
 * Server-Timing (W3C): `auth;dur=0.12, db;dur=3.1;desc="pgvector, warm"` → durations in ms by metric.
 * Tolerant by design, since a load loop must never fail on a header: no header, metrics without a
 * duration, malformed or negative durations and unknown parameters are skipped, quoted strings may
 * hold commas and semicolons, several header lines (an array, or joined with commas) are read as one,
 * and a metric named twice adds up (two db calls are both time spent in the database).
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Splits on `sep` outside double-quoted strings (with backslash escapes). */
function splitUnquoted(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + text[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function durationOf(params: string[]): number | null {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'dur') continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    const ms = value === '' ? NaN : Number(value);
    // The first dur parameter counts (as in the spec); a bad one means no duration.
    return Number.isFinite(ms) && ms >= 0 ? ms : null;
  }
  return null;
}

export function parseServerTiming(header: string | readonly string[] | null | undefined): Map<string, number> {
  const durations = new Map<string, number>();
  if (header === null || header === undefined) return durations;
  const text = typeof header === 'string' ? header : header.join(',');
  for (const entry of splitUnquoted(text, ',')) {
    const [rawName, ...params] = splitUnquoted(entry, ';');
    const name = rawName!.trim();
    if (!TOKEN.test(name)) continue;
    const ms = durationOf(params);
    if (ms !== null) durations.set(name, (durations.get(name) ?? 0) + ms);
  }
  return durations;
}
