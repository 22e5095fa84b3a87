// The repository's figures in Prometheus text exposition format (version 0.0.4).
export interface RepoCounts {
  templates: number;
  versions: number;
  devices: Record<string, number>;
  deployments: Record<string, number>;
}

export interface HttpCounter {
  /** `${method} ${route} ${status}` -> count */
  requests: Map<string, number>;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** One device's figures from its latest health sample (none before its first). */
export interface DeviceGauges {
  id: string;
  health: string;
  last: { cpuPercent: number; rssBytes: number; eventLoopP99Ms: number; restarts: number; redNodes: unknown[] } | null;
}

/**
 * Per-device gauges carry only the `device` label (one series per device and figure: 5,000 for 1,000
 * devices); node ids, states and texts never become labels, since they would multiply the series.
 */
export function renderMetrics(c: RepoCounts, http: HttpCounter, startedAt: number, now = Date.now(), fleet: DeviceGauges[] = []): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) lines.push(`${name}${fmtLabels(labels)} ${v}`);
  };
  gauge('linesight_repo_templates', 'Flow templates in the repository.', [[{}, c.templates]]);
  gauge('linesight_repo_versions', 'Published template versions.', [[{}, c.versions]]);
  gauge('linesight_repo_devices', 'Registered devices by state (offline when they missed their check-ins).', Object.entries(c.devices).map(([state, n]) => [{ state }, n]));
  gauge('linesight_repo_deployments', 'Deployments by state.', Object.entries(c.deployments).map(([state, n]) => [{ state }, n]));
  const byHealth: Record<string, number> = { ok: 0, degraded: 0, unknown: 0 };
  for (const d of fleet) byHealth[d.health] = (byHealth[d.health] ?? 0) + 1;
  gauge('linesight_repo_devices_health', 'Registered devices by health (degraded: a red node, climbing errors or the agent says so; unknown: no recent sample).', Object.entries(byHealth).map(([health, n]) => [{ health }, n]));
  const sampled = fleet.filter((d) => d.last);
  const perDevice = (name: string, help: string, pick: (l: NonNullable<DeviceGauges['last']>) => number) => gauge(name, help, sampled.map((d) => [{ device: d.id }, pick(d.last!)]));
  perDevice('linesight_device_cpu_percent', "CPU used by the device's runtime in its latest health sample, % of one core.", (l) => l.cpuPercent);
  perDevice('linesight_device_rss_bytes', "Resident memory of the device's runtime in its latest health sample.", (l) => l.rssBytes);
  perDevice('linesight_device_event_loop_p99_seconds', "Event-loop delay p99 of the device's runtime over its latest sample interval.", (l) => l.eventLoopP99Ms / 1000);
  perDevice('linesight_device_restarts', 'Times the agent restarted the runtime after it died.', (l) => l.restarts);
  perDevice('linesight_device_red_nodes', 'Nodes showing a red status in the latest health sample.', (l) => l.redNodes.length);
  gauge('linesight_repo_uptime_seconds', 'Seconds since the repository started.', [[{}, Math.round((now - startedAt) / 1000)]]);
  lines.push('# HELP linesight_repo_http_requests_total HTTP requests answered, by method, route and status.', '# TYPE linesight_repo_http_requests_total counter');
  for (const [key, n] of [...http.requests].sort()) {
    const [method, route, status] = key.split(' ');
    lines.push(`linesight_repo_http_requests_total${fmtLabels({ method: method!, route: route!, status: status! })} ${n}`);
  }
  return `${lines.join('\n')}\n`;
}

function fmtLabels(labels: Record<string, string>): string {
  const e = Object.entries(labels);
  return e.length ? `{${e.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
}
