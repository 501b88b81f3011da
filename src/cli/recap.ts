// The end-of-run recap (A2): one block per section, then where the logs are.
import type { Reporter } from '../reporter.js';
import { formatSeconds } from '../reporter.js';
import type { RunReport } from '../model/run-report.js';

export function printRecap(reporter: Reporter, report: RunReport, ok: boolean): void {
  const paint = reporter.paint;
  reporter.line('');
  reporter.line(paint.bold('==== vauban recap ===='));
  // With the cache's decisions, each image is listed there, reused or built.
  if (report.images.length > 0 && report.cache.length === 0) {
    reporter.line('Images built:');
    for (const image of report.images) reporter.line(`  ${image}`);
  }
  if (report.cache.length > 0) {
    // Issue 12: what was reused, what was built, and why.
    reporter.line('Reused or built:');
    for (const entry of report.cache) {
      const action = entry.action === 'reuse' ? paint.green('reuse') : 'build';
      reporter.line(`  ${action} ${entry.kind} ${entry.name}: ${entry.reason}${entry.id ? ` (${entry.id.replace(/^sha256:/, '').slice(0, 12)})` : ''}`);
    }
  }
  if (report.artifacts.length > 0) {
    reporter.line('Artifacts:');
    for (const artifact of report.artifacts) reporter.line(`  ${artifact}`);
  }
  if (report.hosts.length > 0) {
    reporter.line(`Conffs built for ${report.hosts.length} host(s):`);
    for (const host of report.hosts) {
      const status = host.ok ? paint.green('[OK]') : paint.red('[KO]');
      reporter.line(`  ${status} ${host.host}  (log: ${host.log})`);
      if (!host.ok) reporter.line(`       ${host.failedTask === undefined ? '' : `failed task: ${host.failedTask}: `}${host.message ?? host.error ?? ''}`);
      for (const deleted of host.deletions ?? []) reporter.line(`       deleted by a stage, removed at boot: /${deleted}`);
    }
  }
  if (report.uploaded.length > 0) {
    reporter.line('Uploaded:');
    for (const file of report.uploaded) reporter.line(`  ${file}`);
  }
  if (report.live.length > 0) {
    reporter.line('Live releases:');
    for (const line of report.live) reporter.line(`  ${line}`);
  }
  if (report.logs.length > 0) {
    reporter.line('Logs:');
    for (const log of report.logs) reporter.line(`  ${log}`);
  }
  if (reporter.timings.length > 0) {
    reporter.line('Steps:');
    for (const timing of reporter.timings) {
      reporter.line(`  ${timing.ok ? 'ok    ' : 'FAILED'} ${timing.title} (${formatSeconds(timing.seconds)})`);
    }
  }
  reporter.line(ok ? paint.green('Result: success') : paint.red('Result: FAILED'));
}
