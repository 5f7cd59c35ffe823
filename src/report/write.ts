/** Writes reports/<run>/report.{json,md,html}; the JSON is validated against the schema first. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveProjectPath } from '../paths.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { parseReport, type BenchmarkReport } from './schema.js';

export const DEFAULT_REPORTS_DIR = 'reports';

export interface WrittenReport {
  dir: string;
  json: string;
  markdown: string;
  html: string;
}

/** A run name as a directory name: workflow ids may contain characters a path must not. */
export function reportDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function writeAtomically(file: string, content: string): Promise<void> {
  // A reader (or a browser reload) never sees a half-written report.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, 'utf8');
  await rename(tmp, file);
}

export async function writeReportFiles(report: BenchmarkReport, reportsDir: string = DEFAULT_REPORTS_DIR): Promise<WrittenReport> {
  const valid = parseReport(report, `report ${report.name}`);
  const dir = path.join(resolveProjectPath(reportsDir), reportDirName(valid.name));
  await mkdir(dir, { recursive: true });
  const out = { dir, json: path.join(dir, 'report.json'), markdown: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') };
  await writeAtomically(out.json, `${JSON.stringify(valid, null, 2)}\n`);
  await writeAtomically(out.markdown, renderMarkdown(valid));
  await writeAtomically(out.html, await renderHtml(valid));
  return out;
}
