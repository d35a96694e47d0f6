import { escapeXml } from './svg-chart.js';
import type { LoadtestReport } from './loadtest-report.js';

/**
 * JUnit XML for GitLab's test report tab: one test case per check, the check's detail as the
 * failure message (https://docs.gitlab.com/ci/testing/unit_test_reports/). Pure.
 */
export function renderJunit(report: LoadtestReport): string {
  const suite = `loadtest ${report.model.deployName}`;
  const failures = report.checks.filter((c) => c.status === 'failed').length;
  const skipped = report.checks.filter((c) => c.status === 'skipped').length;
  const time = report.measurement.load.durationSeconds + (report.limitProof?.run?.load.durationSeconds ?? 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="modelfleet loadtest" tests="${report.checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${report.checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${escapeXml(report.startedAt)}">`,
  ];
  for (const check of report.checks) {
    const open = `    <testcase classname="${escapeXml(`modelfleet.loadtest.${report.model.deployName}`)}" name="${escapeXml(check.name)}" time="0">`;
    if (check.status === 'failed') {
      lines.push(open, `      <failure message="${escapeXml(check.detail)}" type="${escapeXml(check.id)}">${escapeXml(check.detail)}</failure>`, '    </testcase>');
    } else if (check.status === 'skipped') {
      lines.push(open, `      <skipped message="${escapeXml(check.detail)}"/>`, '    </testcase>');
    } else {
      lines.push(open, `      <system-out>${escapeXml(check.detail)}</system-out>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
