// The deploy form of the sidebar as a POST /api/v1/deployments body (RepoDeploymentCreate). Pure.

/** The POST /deployments body from the deploy form's fields. */
export function deploymentBody(template: string, version: string, field: (id: string) => string): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  if (field('tier')) target.tier = field('tier');
  const ids = field('ids').split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length) target.ids = ids;
  const labels = field('labels').split(',').map((s) => s.trim()).filter(Boolean);
  if (labels.length) {
    target.labels = Object.fromEntries(labels.map((l) => {
      const i = l.indexOf('=');
      if (i < 1) throw new Error(`labels: "${l}" must be name=value`);
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    }));
  }
  const body: Record<string, unknown> = { template, version, target, strategy: field('strategy') || 'all' };
  if (body.strategy === 'canary') {
    body.canary = Number(field('canary') || 1);
    body.waveSize = Number(field('wave') || 0);
  }
  if (field('from') || field('to')) body.window = { from: field('from'), to: field('to'), ...(field('tz') ? { timezone: field('tz') } : {}) };
  if (field('gate-tag')) {
    const raw = field('gate-value');
    const idleValue = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    body.lineState = { tag: field('gate-tag'), idleValue };
  }
  return body;
}
