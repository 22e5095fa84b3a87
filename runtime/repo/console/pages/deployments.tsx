// Deployments: the list, one deployment by wave with each device's state and the actions its state allows
// (pause, resume, cancel, roll back; none for a viewer, and the API refuses them anyway), and the form
// that creates one (template, version, target, strategy, window, gate).
import { useEffect, useState } from 'preact/hooks';
import { ACTION_LABELS, actionsFor, type DeploymentAction } from '../../../../contracts/fleet/deployment-actions';
import { canChange, describeFailure, type DeploymentSummary } from '../api';
import type { PageProps } from '../app';
import { Badge, Message, Section, useInterval } from '../components';
import { deploymentRequest, EMPTY_DEPLOY_FORM, type DeployFormInput } from '../deploy-form';
import { href } from '../router';
import { deploymentLook, targetLook } from '../status';
import type { DeploymentView, TemplateView, VersionSummary } from '../../store/repo-store';

const targetText = (t: Record<string, unknown>) =>
  [t.tier ? `tier ${String(t.tier)}` : '', Array.isArray(t.ids) && t.ids.length ? `ids ${t.ids.join(', ')}` : '', t.labels ? Object.entries(t.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(' ') : ''].filter(Boolean).join(' · ');

const counts = (c: Record<string, number>) => Object.entries(c).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');

export function DeploymentsPage({ api, user }: PageProps) {
  const [list, setList] = useState<DeploymentSummary[]>();
  const [error, setError] = useState<string>();
  const load = () => api.deployments().then((l) => (setList([...l].sort((a, b) => b.createdAt.localeCompare(a.createdAt))), setError(undefined)), (err) => setError(describeFailure(err)));
  useEffect(() => void load(), []);
  useInterval(() => void load(), 5_000);
  return (
    <div class="page">
      <Section title="Deployments" id="deployments" actions={canChange(user.role) ? <a class="button primary" id="new-deployment" href={href('deploy')}>New deployment</a> : null}>
        <Message text={error} />
        <table class="grid-table" id="deployment-list">
          <thead>
            <tr>
              <th>Version</th>
              <th>Target</th>
              <th>Strategy</th>
              <th>State</th>
              <th>Devices</th>
              <th>By</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {(list ?? []).map((d) => (
              <tr key={d.id} data-deployment={d.id}>
                <td>
                  <a class="mono" href={href('deployment', d.id)}>
                    {d.template}@{d.version}
                  </a>
                </td>
                <td>{targetText(d.target)}</td>
                <td>{d.strategy === 'canary' ? `canary ${d.canary}, waves of ${d.waveSize || 'the rest'}` : 'all at once'}</td>
                <td title={d.reason ?? undefined}>
                  <Badge look={deploymentLook(d.state)} />
                </td>
                <td class="dim">{counts(d.counts)}</td>
                <td>{d.createdBy}</td>
                <td class="nowrap">{new Date(d.createdAt).toLocaleString('en-GB')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list && !list.length ? <p class="dim">Nothing deployed yet.</p> : null}
      </Section>
    </div>
  );
}

export function DeploymentPage({ api, user, route }: PageProps) {
  const id = route.id!;
  const [dep, setDep] = useState<DeploymentView>();
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);
  const load = () => api.deployment(id).then((d) => (setDep(d), setError(undefined)), (err) => setError(describeFailure(err)));
  useEffect(() => void load(), [id]);
  useInterval(() => void load(), 3_000, [id]);

  const act = async (action: DeploymentAction) => {
    const confirmText = ACTION_LABELS[action].confirm;
    if (confirmText && !confirm(confirmText)) return;
    setBusy(true);
    try {
      const d = await api.deploymentAction(id, action);
      setDep(d);
      setDone(`${ACTION_LABELS[action].label}: the deployment is ${d.state}`);
      setError(undefined);
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  if (!dep) return <div class="page">{error ? <Message text={error} /> : <p class="dim">Loading…</p>}</div>;
  const waves = new Map<number, DeploymentView['devices']>();
  for (const d of dep.devices) waves.set(d.wave, [...(waves.get(d.wave) ?? []), d]);
  const actions = canChange(user.role) ? actionsFor(dep.state) : [];
  return (
    <div class="page">
      <div class="crumbs">
        <a href={href('deployments')}>Deployments</a> / <b class="mono">{dep.id}</b>
      </div>
      <header class="device-head" id="deployment-head">
        <h1 class="mono">
          {dep.template}@{dep.version}
        </h1>
        <Badge look={deploymentLook(dep.state)} id="deployment-state" title={dep.reason ?? undefined} />
        <dl>
          <dt>target</dt>
          <dd>{targetText(dep.target)}</dd>
          <dt>strategy</dt>
          <dd>{dep.strategy === 'canary' ? `canary ${dep.canary}, then waves of ${dep.waveSize || 'the rest'}` : 'all at once'}</dd>
          <dt>gate</dt>
          <dd>
            {[dep.gate?.window ? `window ${dep.gate.window.from}–${dep.gate.window.to}${dep.gate.window.timezone ? ` ${dep.gate.window.timezone}` : ''}` : '', dep.gate?.lineState ? `line idle: ${dep.gate.lineState.tag} = ${String(dep.gate.lineState.idleValue)}` : ''].filter(Boolean).join(' · ') || 'none'}
          </dd>
          <dt>by</dt>
          <dd>
            {dep.createdBy} · {new Date(dep.createdAt).toLocaleString('en-GB')}
          </dd>
        </dl>
        <div class="actions" id="deployment-actions">
          {actions.map((a) => (
            <button key={a} id={`action-${a}`} class={a === 'rollback' || a === 'cancel' ? 'danger' : ''} title={ACTION_LABELS[a].title} disabled={busy} onClick={() => void act(a)}>
              {ACTION_LABELS[a].label}
            </button>
          ))}
        </div>
      </header>
      {dep.reason ? <Message text={dep.reason} tone={deploymentLook(dep.state).tone === 'bad' ? 'bad' : 'warn'} /> : null}
      <Message text={error} />
      <Message text={done} tone="good" id="deployment-done" />
      {[...waves.entries()].sort(([a], [b]) => a - b).map(([wave, devices]) => (
        <Section key={wave} title={wave === 0 && dep.strategy === 'canary' ? 'Canary' : `Wave ${wave + (dep.strategy === 'canary' ? 0 : 1)}`} id={`wave-${wave}`}>
          <table class="grid-table">
            <thead>
              <tr>
                <th>Device</th>
                <th>In this deployment</th>
                <th>Device now</th>
                <th>Previous version</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.deviceId} data-target={d.deviceId}>
                  <td>
                    <a href={href('device', d.deviceId)}>{d.deviceId}</a>
                  </td>
                  <td>
                    <Badge look={targetLook(d.state)} />
                  </td>
                  <td>
                    <Badge look={targetLook(d.deviceState)} />
                  </td>
                  <td class="mono">{d.previous ?? '–'}</td>
                  <td class="reason-cell">{d.reasons.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      ))}
    </div>
  );
}

export function DeployPage({ api, user, route }: PageProps) {
  const [form, setForm] = useState<DeployFormInput>({ ...EMPTY_DEPLOY_FORM, template: route.params.template ?? '', version: route.params.version ?? '', ids: route.params.ids ?? '' });
  const [templates, setTemplates] = useState<TemplateView[]>([]);
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [problems, setProblems] = useState<{ field: string; reason: string }[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => void api.templates().then(setTemplates, (err) => setError(describeFailure(err))), []);
  useEffect(() => {
    if (!form.template) return setVersions([]);
    api.versions(form.template).then((v) => {
      const sorted = [...v].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      setVersions(sorted);
      if (!sorted.some((x) => x.version === form.version)) setForm((f) => ({ ...f, version: sorted[0]?.version ?? '' }));
    }, (err) => setError(describeFailure(err)));
  }, [form.template]);

  if (!canChange(user.role)) return <div class="page"><Message text={`deploying needs the deployer or admin role; you are ${user.role}`} /></div>;
  const set = (k: keyof DeployFormInput) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [k]: e.currentTarget.value });
  const problemOf = (field: string) => problems.filter((p) => p.field === field || p.field.startsWith(`${field}.`) || p.field.startsWith(`target.${field}`)).map((p) => p.reason).join('; ');
  const submit = async (e: Event) => {
    e.preventDefault();
    const req = deploymentRequest(form);
    setProblems(req.problems);
    setError(undefined);
    if (!req.body) return;
    setBusy(true);
    try {
      const d = await api.deploy(req.body);
      location.hash = href('deployment', d.id);
    } catch (err) {
      setError(describeFailure(err));
      setProblems((err as { problems?: { field: string; reason: string }[] }).problems ?? []);
    } finally {
      setBusy(false);
    }
  };
  const field = (label: string, k: keyof DeployFormInput, input: preact.JSX.Element, hint?: string) => (
    <label class={problemOf(k) ? 'invalid' : ''}>
      <span>{label}</span>
      {input}
      {problemOf(k) ? <em class="problem">{problemOf(k)}</em> : hint ? <em class="dim">{hint}</em> : null}
    </label>
  );
  return (
    <div class="page">
      <div class="crumbs">
        <a href={href('deployments')}>Deployments</a> / <b>new</b>
      </div>
      <Section title="Deploy a version" id="deploy">
        <form class="form grid" id="deploy-form" onSubmit={submit}>
          {field('Template', 'template', (
            <select id="deploy-template" value={form.template} onChange={set('template')}>
              <option value="">choose…</option>
              {templates.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.slug} ({t.tier})
                </option>
              ))}
            </select>
          ))}
          {field('Version', 'version', (
            <select id="deploy-version" value={form.version} onChange={set('version')}>
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                </option>
              ))}
            </select>
          ))}
          <fieldset>
            <legend>Target (every one given must match)</legend>
            {field('Tier', 'tier', (
              <select id="deploy-tier" value={form.tier} onChange={set('tier')}>
                <option value="">any</option>
                <option value="line">line</option>
                <option value="factory">factory</option>
                <option value="cloud">cloud</option>
              </select>
            ))}
            {field('Device ids', 'ids', <input id="deploy-ids" value={form.ids} onInput={set('ids')} placeholder="line-1, line-2" />)}
            {field('Labels', 'labels', <input id="deploy-labels" value={form.labels} onInput={set('labels')} placeholder="site=hq line=3" />)}
            {problemOf('target') ? <em class="problem">{problemOf('target')}</em> : null}
          </fieldset>
          <fieldset>
            <legend>Strategy</legend>
            <label class="inline">
              <input type="radio" name="strategy" id="deploy-all" checked={form.strategy === 'all'} onChange={() => setForm({ ...form, strategy: 'all' })} /> all at once
            </label>
            <label class="inline">
              <input type="radio" name="strategy" id="deploy-canary" checked={form.strategy === 'canary'} onChange={() => setForm({ ...form, strategy: 'canary' })} /> canary, then waves
            </label>
            {form.strategy === 'canary' ? (
              <>
                {field('Canary devices', 'canary', <input id="deploy-canary-size" type="number" min={1} value={form.canary} onInput={set('canary')} />)}
                {field('Wave size', 'waveSize', <input id="deploy-wave-size" type="number" min={0} value={form.waveSize} onInput={set('waveSize')} />, '0 = all the rest at once')}
              </>
            ) : null}
          </fieldset>
          <fieldset>
            <legend>Gate (optional)</legend>
            {field('Window from', 'windowFrom', <input id="deploy-from" value={form.windowFrom} onInput={set('windowFrom')} placeholder="22:00" />)}
            {field('to', 'windowTo', <input id="deploy-to" value={form.windowTo} onInput={set('windowTo')} placeholder="05:00" />)}
            {field('Time zone', 'timezone', <input id="deploy-tz" value={form.timezone} onInput={set('timezone')} placeholder="Europe/Berlin (default: the device's)" />)}
            {field('Line idle when tag', 'gateTag', <input id="deploy-gate-tag" value={form.gateTag} onInput={set('gateTag')} placeholder="lineState" />)}
            {field('equals', 'gateIdleValue', <input id="deploy-gate-value" value={form.gateIdleValue} onInput={set('gateIdleValue')} />)}
          </fieldset>
          <Message text={error} id="deploy-error" />
          <button class="primary" id="deploy-submit" disabled={busy}>
            Deploy
          </button>
        </form>
      </Section>
    </div>
  );
}
