import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { createMetrics } from '../../lib/metrics/registry.js';
import { ROOT } from '../helpers/processes.js';
import {
  ALERTMANAGER_CONFIG,
  PROMETHEUS_CONFIG,
  RULES_FILE,
  RULES_TEST_FILE,
  loadRules,
  metricNames,
  NodeExporter,
  runbookAnchors,
} from '../helpers/prometheus.js';
import { uniqueName } from '../helpers/ids.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface RulesTest {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
  }[];
}

interface Compose {
  services: Record<string, { volumes?: string[]; command?: string[] | string }>;
}

/** Runs a Prometheus tool; its output is the assertion message when it fails. */
async function tool(bin: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return exec(bin, args, { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (err: { stdout?: string; stderr?: string; message: string }) => ({
      ok: false,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`,
    }),
  );
}

/**
 * The alerting and recording rules (infra/prometheus/rules), the Prometheus and Alertmanager
 * configs, checked with Debian's promtool and amtool (npm run test:system-deps installs
 * them), and the pieces that must agree: a firing and a quiet test case per alert, a
 * runbook section per alert, metrics the code exports, the files docker-compose.yml mounts.
 */
describe('alert rules (promtool, amtool)', () => {
  const rules = loadRules();

  it('passes promtool check config (with the rule files it loads)', async () => {
    const res = await tool('promtool', ['check', 'config', PROMETHEUS_CONFIG]);
    expect(res.ok, res.output).to.equal(true);
    expect(res.output).to.contain('rules found');
  });

  it('passes promtool test rules', async () => {
    const res = await tool('promtool', ['test', 'rules', RULES_TEST_FILE]);
    expect(res.ok, res.output).to.equal(true);
    expect(res.output).to.contain('SUCCESS');
  });

  it('passes amtool check-config', async () => {
    const res = await tool('amtool', ['check-config', ALERTMANAGER_CONFIG]);
    expect(res.ok, res.output).to.equal(true);
    expect(res.output).to.contain('SUCCESS');
  });

  it('routes critical alerts to the pager, warnings to tickets, the Watchdog to the heartbeat (amtool)', async () => {
    const route = async (...labels: string[]) => {
      const res = await tool('amtool', [
        'config',
        'routes',
        'test',
        `--config.file=${ALERTMANAGER_CONFIG}`,
        ...labels,
      ]);
      expect(res.ok, res.output).to.equal(true);
      // stdout is the receiver; amtool also warns on stderr that --config.file wins.
      return res.output.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Warning:'));
    };
    expect(await route('alertname=EtlStalled', 'severity=critical')).to.equal('pager');
    expect(await route('alertname=ErasureOverdue', 'severity=warning')).to.equal('tickets');
    expect(await route('alertname=Watchdog', 'severity=heartbeat')).to.equal('heartbeat');
    expect(rules.alerts.find((a) => a.alert === 'Watchdog')?.labels?.severity).to.equal('heartbeat');
  });

  it('has a firing and a not-firing test case for every alert', () => {
    const spec = parse(read(RULES_TEST_FILE)) as RulesTest;
    expect(spec.rule_files).to.deep.equal([RULES_FILE.split('/').pop()]);
    const cases = spec.tests.flatMap((t) => t.alert_rule_test ?? []);
    expect(rules.alerts.length).to.be.greaterThan(10);
    for (const a of rules.alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${a.alert}: a case where it fires`,
      ).to.equal(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${a.alert}: a case where it does not`,
      ).to.equal(true);
    }
    const known = new Set(rules.alerts.map((a) => a.alert));
    for (const c of cases)
      expect(known.has(c.alertname), `test of unknown alert ${c.alertname}`).to.equal(true);
  });

  it('gives every alert a severity, a summary with figures and a runbook section that exists', () => {
    const anchors = runbookAnchors();
    for (const a of rules.alerts) {
      // The Watchdog's own severity keeps it off the pager and ticket routes.
      expect(a.alert === 'Watchdog' ? ['heartbeat'] : ['critical', 'warning'], a.alert).to.include(
        a.labels?.severity,
      );
      expect(a.annotations?.summary, a.alert).to.be.a('string');
      // The figure that matters: the alert's value or a label, not a fixed sentence.
      expect(a.annotations!.summary, a.alert).to.match(/\{\{ \$(value|labels)/);
      const url = a.annotations?.runbook_url ?? '';
      expect(url, a.alert).to.equal(`docs/runbook.md#${a.alert.toLowerCase()}`);
      expect(anchors, `docs/runbook.md has a section ${a.alert}`).to.include(a.alert.toLowerCase());
    }
  });

  it('names only metrics the API and ETL export, recording rules, up, or what the node exporter exports', async () => {
    const node = new NodeExporter(join(testEnv().workDir, uniqueName('node-exporter')));
    await node.start();
    const exported = new Set<string>(['up']);
    try {
      for (const n of await node.metricNames()) exported.add(n);
    } finally {
      await node.stop();
    }
    expect(exported.has('node_filesystem_avail_bytes')).to.equal(true);
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    for (const r of rules.recording) exported.add(r.record);
    const all = [...rules.recording.map((r) => r.expr), ...rules.alerts.map((a) => a.expr)];
    const named = new Set(all.flatMap(metricNames));
    expect(named.size).to.be.greaterThan(10);
    for (const n of named) expect(exported.has(n), `${n} is exported`).to.equal(true);
  });

  it('is what docker-compose.yml mounts: the rules next to prometheus.yml, and an alertmanager', () => {
    const stack = parse(read('docker-compose.yml')) as Compose;
    const prom = parse(read(PROMETHEUS_CONFIG)) as {
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const mounts = (service: string) =>
      Object.fromEntries(
        (stack.services[service]?.volumes ?? []).map((v) => {
          const [source, target] = v.split(':');
          return [target!, source!];
        }),
      );
    const promMounts = mounts('prometheus');
    expect(promMounts['/etc/prometheus/prometheus.yml']).to.equal(`./${PROMETHEUS_CONFIG}`);
    // rule_files are relative to the config file: the same layout inside the container.
    for (const f of prom.rule_files) {
      const dir = f.split('/')[0]!;
      expect(promMounts[`/etc/prometheus/${dir}`], f).to.equal(`./infra/prometheus/${dir}`);
    }
    const targets = prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets));
    expect(targets).to.deep.equal(['alertmanager:9093']);
    expect(stack.services).to.have.property('alertmanager');
    const amMounts = mounts('alertmanager');
    const configFlag = ([] as string[])
      .concat(stack.services.alertmanager!.command ?? [])
      .find((c) => c.startsWith('--config.file='));
    const configPath = configFlag?.split('=')[1] ?? '/etc/alertmanager/alertmanager.yml';
    expect(amMounts[configPath]).to.equal(`./${ALERTMANAGER_CONFIG}`);
  });
});
