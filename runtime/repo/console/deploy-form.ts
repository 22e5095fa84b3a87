// The console's deploy form as a POST /api/v1/deployments body (RepoDeploymentCreate), with each problem
// named by the field a person filled in. Pure.
import { parseLabels } from './fleet-view';

export interface DeployFormInput {
  template: string;
  version: string;
  tier: string;
  /** Device ids separated by commas or spaces. */
  ids: string;
  /** key=value pairs separated by commas or spaces. */
  labels: string;
  strategy: 'all' | 'canary';
  canary: string;
  waveSize: string;
  windowFrom: string;
  windowTo: string;
  timezone: string;
  gateTag: string;
  gateIdleValue: string;
}

export const EMPTY_DEPLOY_FORM: DeployFormInput = { template: '', version: '', tier: '', ids: '', labels: '', strategy: 'all', canary: '1', waveSize: '0', windowFrom: '', windowTo: '', timezone: '', gateTag: '', gateIdleValue: '0' };

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function deploymentRequest(f: DeployFormInput): { body?: Record<string, unknown>; problems: { field: string; reason: string }[] } {
  const problems: { field: string; reason: string }[] = [];
  if (!f.template) problems.push({ field: 'template', reason: 'choose a template' });
  if (!f.version) problems.push({ field: 'version', reason: 'choose a version' });
  const target: Record<string, unknown> = {};
  if (f.tier) target.tier = f.tier;
  const ids = f.ids.split(/[,\s]+/).filter(Boolean);
  if (ids.length) target.ids = ids;
  const labels = parseLabels(f.labels);
  for (const p of labels.problems) problems.push({ field: 'labels', reason: p });
  if (labels.labels.length) target.labels = Object.fromEntries(labels.labels);
  if (!Object.keys(target).length) problems.push({ field: 'target', reason: 'name a tier, device ids or labels' });
  const body: Record<string, unknown> = { template: f.template, version: f.version, target, strategy: f.strategy };
  if (f.strategy === 'canary') {
    const canary = Number(f.canary);
    const waveSize = Number(f.waveSize || 0);
    if (!Number.isInteger(canary) || canary < 1) problems.push({ field: 'canary', reason: 'must be a whole number of devices, at least 1' });
    if (!Number.isInteger(waveSize) || waveSize < 0) problems.push({ field: 'waveSize', reason: 'must be a whole number, 0 for "all the rest at once"' });
    body.canary = canary;
    body.waveSize = waveSize;
  }
  if (f.windowFrom || f.windowTo) {
    if (!HHMM.test(f.windowFrom)) problems.push({ field: 'windowFrom', reason: 'must be HH:MM' });
    if (!HHMM.test(f.windowTo)) problems.push({ field: 'windowTo', reason: 'must be HH:MM' });
    body.window = { from: f.windowFrom, to: f.windowTo, ...(f.timezone ? { timezone: f.timezone } : {}) };
  }
  if (f.gateTag) {
    const raw = f.gateIdleValue.trim();
    const idleValue = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    body.lineState = { tag: f.gateTag, idleValue };
  }
  return problems.length ? { problems } : { body, problems };
}
