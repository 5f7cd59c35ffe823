/** Text and Markdown renderings of a launch report, shared by the CLI and the report files. */
import type { LaunchReport } from '../workflows/launch-readiness.js';
import { textTable } from './format.js';

function stageRows(report: LaunchReport): string[][] {
  const total = report.seconds || 1;
  return report.stages.map((s) => [
    s.stage,
    s.track,
    s.state,
    s.seconds !== undefined ? `${s.seconds} s` : '',
    s.seconds !== undefined ? `${Math.round((100 * s.seconds) / total)}%` : '',
    s.error ?? s.summary ?? '',
  ]);
}

export function formatLaunchReport(report: LaunchReport): string {
  const banner = report.verdict === 'GO' ? '=== GO ===' : '=== NO-GO ===';
  const criteria = textTable(
    ['', 'criterion', 'value', 'threshold'],
    report.criteria.map((c) => [c.passed ? 'PASS' : 'FAIL', c.description, c.value, c.threshold]),
  );
  const stages = textTable(['stage', 'track', 'state', 'time', 'share', 'figures'], stageRows(report));
  return [
    `${banner}  launch ${report.workflowId}: ${report.scale.toLocaleString('en-US')} capacity traces, ${report.seconds} s`,
    '',
    criteria,
    '',
    stages,
    '',
    `verdict: ${report.verdict}`,
  ].join('\n');
}

export function launchReportMarkdown(report: LaunchReport, uiUrl: string): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `# Launch readiness: ${report.verdict}`,
    '',
    `Run [${report.workflowId}](${uiUrl}), started ${report.startedAt}, ${report.seconds} s, ${report.scale.toLocaleString('en-US')} capacity traces.`,
    '',
    '## Criteria',
    '',
    '| | criterion | value | threshold |',
    '|---|---|---|---|',
    ...report.criteria.map((c) => `| ${c.passed ? '✅' : '❌'} | ${esc(c.description)} | ${esc(c.value)} | ${esc(c.threshold)} |`),
    '',
    '## Stages',
    '',
    '| stage | track | state | time | share | figures |',
    '|---|---|---|---|---|---|',
    ...stageRows(report).map((r) => `| ${r.map(esc).join(' | ')} |`),
    '',
  ].join('\n');
}
