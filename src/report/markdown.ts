/** Terminal and Markdown renderings of a benchmark report (both from reportTables). */
import { textTable } from '../cli/format.js';
import type { BenchmarkReport } from './schema.js';
import { headline, reportTables, type ReportTable } from './tables.js';

export function renderText(report: BenchmarkReport, tables: ReportTable[] = reportTables(report)): string {
  return [headline(report), ...tables.map((t) => `\n${t.title}\n${textTable(t.header, t.rows)}`)].join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(t: ReportTable): string {
  const header = t.header.every((h) => h === '') ? t.header.map((_, i) => (i === 0 ? 'item' : 'value')) : t.header;
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(report: BenchmarkReport): string {
  const sections = reportTables(report).map((t) => [`## ${t.title}`, t.note ?? '', markdownTable(t)].filter(Boolean).join('\n\n'));
  return [`# Search benchmark ${report.name}`, `**${headline(report)}**`, ...sections, 'Charts: see report.html next to this file.', ''].join('\n\n');
}
