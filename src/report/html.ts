/** The self-contained HTML report: inline CSS, inline SVG charts, the same tables as the Markdown. */
import type { BenchmarkReport } from './schema.js';
import { reportCharts, type Chart } from './charts.js';
import { headline, reportTables, type ReportTable } from './tables.js';

export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #e3e6ec; padding-bottom: .25rem; }
.verdict { display: inline-block; padding: .35rem .8rem; border-radius: 4px; font-weight: 600; margin: .5rem 0 1rem; }
.verdict.pass { background: #e4f6e9; color: #176b34; } .verdict.fail { background: #fde7e7; color: #a11a1a; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e3e6ec; padding: .3rem .55rem; text-align: right; vertical-align: top; }
th { background: #f5f6f9; } td:first-child, th:first-child { text-align: left; }
td.status-FAIL { color: #a11a1a; font-weight: 600; } td.status-PASS { color: #176b34; font-weight: 600; } td.status-SKIPPED { color: #7a7f8a; }
.note { color: #59606d; margin: .25rem 0; }
figure { margin: 1rem 0 2rem; } figcaption { color: #59606d; font-size: .9rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1rem; }
`;

function htmlTable(t: ReportTable): string {
  const statusColumn = t.header.indexOf('status');
  const head = t.header.every((h) => h === '') ? '' : `<thead><tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
  const body = t.rows
    .map((row) => `<tr>${row.map((c, i) => `<td${i === statusColumn ? ` class="status-${escapeHtml(c)}"` : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

export function htmlSection(t: ReportTable): string {
  return `<section><h2>${escapeHtml(t.title)}</h2>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ''}${htmlTable(t)}</section>`;
}

export function htmlFigure(c: Chart): string {
  return `<figure id="chart-${c.id}"><h3>${escapeHtml(c.title)}</h3>${c.svg}<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`;
}

/** A self-contained page in the report style: the title as its <title> and <h1>, then the body. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

export async function renderHtml(report: BenchmarkReport): Promise<string> {
  const charts = await reportCharts(report);
  const sections = reportTables(report).map(htmlSection);
  return htmlPage(`Search benchmark ${report.name}`, `<div class="verdict ${report.verdict}">${escapeHtml(headline(report))}</div>
${sections[0] ?? ''}
<h2>Charts</h2>
<p class="note">Every load phase's figures per time window are in <a href="timeseries.csv">timeseries.csv</a> next to this file.</p>
<div class="charts">
${charts.map(htmlFigure).join('\n')}
</div>
${sections.slice(1).join('\n')}`);
}
