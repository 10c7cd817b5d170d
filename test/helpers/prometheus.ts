import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { sleep } from '../../lib/retry.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { exited, ROOT } from './processes.js';

export const PROMETHEUS_CONFIG = 'infra/prometheus/prometheus.yml';
export const RULES_FILE = 'infra/prometheus/rules/streaming.rules.yml';
export const RULES_TEST_FILE = 'infra/prometheus/rules/streaming.rules.test.yml';
export const ALERTMANAGER_CONFIG = 'infra/alertmanager/alertmanager.yml';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RecordingRule {
  record: string;
  expr: string;
}
interface RuleGroup {
  name: string;
  interval?: string;
  rules: (AlertRule | RecordingRule)[];
}

export function loadRules(): { groups: RuleGroup[]; alerts: AlertRule[]; recording: RecordingRule[] } {
  const { groups } = parse(readFileSync(join(ROOT, RULES_FILE), 'utf8')) as { groups: RuleGroup[] };
  const rules = groups.flatMap((g) => g.rules);
  return {
    groups,
    alerts: rules.filter((r): r is AlertRule => 'alert' in r),
    recording: rules.filter((r): r is RecordingRule => 'record' in r),
  };
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'offset', 'bool']);

/**
 * The metric (and recording rule) names a PromQL expression reads: label matchers, ranges,
 * groupings and strings dropped, what is left that is not a function call or an operator.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !PROMQL_WORDS.has(n));
}

/** The anchors of docs/runbook.md's headings, as GitHub makes them. */
export function runbookAnchors(): string[] {
  return readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) =>
      l
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    );
}

/**
 * The project's rules with every `for:` cut to `forSeconds` and every group evaluated each
 * second, so an alert fires within seconds of its condition in a test.
 */
export function fastRules(forSeconds: number): string {
  const { groups } = loadRules();
  for (const g of groups) {
    g.interval = '1s';
    for (const r of g.rules) if ('alert' in r && r.for !== undefined) r.for = `${forSeconds}s`;
  }
  return stringify({ groups });
}

/** Alertmanager's webhook receiver: keeps every notification posted to it. */
export class WebhookReceiver {
  readonly posts: { path: string; body: WebhookPayload }[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts.push({
          path: req.url ?? '',
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload,
        });
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface WebhookPayload {
  receiver: string;
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

/**
 * A Debian-packaged Prometheus tool (prometheus, prometheus-alertmanager) as a child process
 * on a free loopback port, its data and log in `dir`, in the pattern of nginx.ts.
 */
class ToolProcess {
  private proc: ChildProcess | undefined;
  port = 0;

  constructor(
    private readonly bin: string,
    readonly dir: string,
    private readonly args: (port: number) => string[],
    /** What answers 200 once it serves: Prometheus' and Alertmanager's readiness endpoint. */
    private readonly readyPath = '/-/ready',
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return readFileSync(join(this.dir, 'output.log'), 'utf8');
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.port = await findFreePort();
    const out = openSync(join(this.dir, 'output.log'), 'a');
    this.proc = spawn(this.bin, this.args(this.port), { cwd: this.dir, stdio: ['ignore', out, out] });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`${this.bin} exited: ${this.log}`);
      const ready = await fetch(`${this.url}${this.readyPath}`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`${this.bin} not ready in 30 s: ${this.log}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    if (this.proc === undefined || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    await exited(this.proc);
  }
}

export class PrometheusServer extends ToolProcess {
  constructor(dir: string, config: Record<string, unknown>, rules: string) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rules.yml'), rules);
    writeFileSync(join(dir, 'prometheus.yml'), stringify({ ...config, rule_files: ['rules.yml'] }));
    super('prometheus', dir, (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
  }

  /** An instant query's result vector (throws on a query error). */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: unknown } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
  }

  async alerts(): Promise<
    { labels: Record<string, string>; state: string; annotations: Record<string, string> }[]
  > {
    const res = await fetch(`${this.url}/api/v1/alerts`);
    return ((await res.json()) as { data: { alerts: [] } }).data.alerts;
  }
}

export class AlertmanagerServer extends ToolProcess {
  constructor(dir: string, config: Record<string, unknown>) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
    super('prometheus-alertmanager', dir, (port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // One instance: no gossip port to bind.
      '--cluster.listen-address=',
    ]);
  }
}

/** Debian's node exporter, filesystems only: what the disk alerts read, as it labels them. */
export class NodeExporter extends ToolProcess {
  constructor(dir: string) {
    super(
      'prometheus-node-exporter',
      dir,
      (port) => [
        `--web.listen-address=127.0.0.1:${port}`,
        '--collector.disable-defaults',
        '--collector.filesystem',
      ],
      '/metrics',
    );
  }

  /** The metric names it exports (from its `# TYPE` lines). */
  async metricNames(): Promise<string[]> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  }
}
