/**
 * Writes reports/<run>/report.{json,md,html} and timeseries.csv (every load phase's time windows);
 * the JSON is validated against the schema first.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveProjectPath } from '../paths.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { parseReport, type BenchmarkReport } from './schema.js';
import { timeSeriesRows } from './tables.js';

export const DEFAULT_REPORTS_DIR = 'reports';

export interface WrittenReport {
  dir: string;
  json: string;
  markdown: string;
  html: string;
  /** timeseries.csv: one row per time window of each load phase. */
  csv: string;
}

/** A run name as a directory name: workflow ids may contain characters a path must not. */
export function reportDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function renderTimeSeriesCsv(report: BenchmarkReport): string {
  const { header, rows } = timeSeriesRows(report);
  return [header, ...rows].map((row) => `${row.map(csvField).join(',')}\n`).join('');
}

export async function writeAtomically(file: string, content: string): Promise<void> {
  // A reader (or a browser reload) never sees a half-written report.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, 'utf8');
  await rename(tmp, file);
}

export async function writeReportFiles(report: BenchmarkReport, reportsDir: string = DEFAULT_REPORTS_DIR): Promise<WrittenReport> {
  const valid = parseReport(report, `report ${report.name}`);
  const dir = path.join(resolveProjectPath(reportsDir), reportDirName(valid.name));
  await mkdir(dir, { recursive: true });
  const out = {
    dir, json: path.join(dir, 'report.json'), markdown: path.join(dir, 'report.md'), html: path.join(dir, 'report.html'), csv: path.join(dir, 'timeseries.csv'),
  };
  await writeAtomically(out.json, `${JSON.stringify(valid, null, 2)}\n`);
  await writeAtomically(out.markdown, renderMarkdown(valid));
  await writeAtomically(out.html, await renderHtml(valid));
  await writeAtomically(out.csv, renderTimeSeriesCsv(valid));
  return out;
}
