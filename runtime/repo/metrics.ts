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

export function renderMetrics(c: RepoCounts, http: HttpCounter, startedAt: number, now = Date.now()): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) lines.push(`${name}${fmtLabels(labels)} ${v}`);
  };
  gauge('linesight_repo_templates', 'Flow templates in the repository.', [[{}, c.templates]]);
  gauge('linesight_repo_versions', 'Published template versions.', [[{}, c.versions]]);
  gauge('linesight_repo_devices', 'Registered devices by state (offline when they missed their check-ins).', Object.entries(c.devices).map(([state, n]) => [{ state }, n]));
  gauge('linesight_repo_deployments', 'Deployments by state.', Object.entries(c.deployments).map(([state, n]) => [{ state }, n]));
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
