// One device: its state and why, versions, health, the live log tail, health charts, its deployments and
// its parameters in a form generated from the template's schema (saving is a PATCH; changed parameters
// become a new desired state the device deploys).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ParameterSchema, ParameterValue } from '../../../../contracts/fleet/parameter-form';
import { API_ROOT, canChange, describeFailure, type ConsoleApi, type ConsoleDevice, type DeploymentSummary, type HealthSample, type LogLine } from '../api';
import type { PageProps } from '../app';
import { Badge, Message, Section, TimeChart, useInterval } from '../components';
import { parameterChange, parameterForm } from '../parameter-edit';
import { href } from '../router';
import { RemoteEditing } from './remote-editing';
import { SseParser } from '../sse';
import { ago, bytes, deploymentLook, deviceLook, logLevelTone, targetLook } from '../status';

export function DevicePage({ api, user, route }: PageProps) {
  const id = route.id!;
  const [device, setDevice] = useState<ConsoleDevice>();
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(Date.now());
  const reload = () =>
    api.device(id).then(
      (d) => (setDevice(d), setError(undefined), setNow(Date.now())),
      (err) => setError(describeFailure(err)),
    );
  useEffect(() => void reload(), [id]);
  useInterval(() => void reload(), 5_000, [id]);

  if (!device) return <div class="page">{error ? <Message text={error} /> : <p class="dim">Loading {id}…</p>}</div>;
  const look = deviceLook(device);
  const reasons = [...(device.reasons ?? []), ...(device.healthReasons ?? [])];
  const desired = device.desired ? `${device.desired.template}@${device.desired.version}` : null;
  return (
    <div class="page device">
      <div class="crumbs">
        <a href={href('fleet')}>Fleet</a> / <b>{device.id}</b>
      </div>
      <header class="device-head" id="device-head">
        <h1>{device.id}</h1>
        <Badge look={look} id="device-state" title={reasons.join('\n') || undefined} />
        <dl>
          <dt>tier</dt>
          <dd>{device.tier}</dd>
          <dt>desired</dt>
          <dd class="mono" id="device-desired">{desired ?? '–'}</dd>
          <dt>running</dt>
          <dd class={`mono ${desired && device.running && desired !== device.running ? 'tone-warn' : ''}`} id="device-running">
            {device.running ?? '–'}
          </dd>
          <dt>last seen</dt>
          <dd title={device.lastSeen ?? ''}>{ago(device.lastSeen, now)}</dd>
          <dt>health</dt>
          <dd id="device-health">{device.health ?? (device.degraded ? 'degraded' : device.state === 'offline' ? 'unknown' : 'ok')}</dd>
          <dt>labels</dt>
          <dd>
            {Object.entries(device.labels).map(([k, v]) => (
              <span class="label" key={k}>
                {k}={v}
              </span>
            ))}
          </dd>
        </dl>
      </header>
      <Message text={error} />
      {reasons.length ? (
        <Section title="Why" id="device-reasons">
          <ul class="reasons">
            {reasons.map((r, i) => (
              <li key={i} class={`tone-${look.tone}`}>
                {r}
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <div class="columns">
        <LogTail api={api} id={id} />
        <HealthCharts api={api} id={id} />
      </div>
      <RemoteEditing api={api} device={device} editable={canChange(user.role)} onChanged={(d) => (d ? setDevice(d) : void reload())} />
      <div class="columns">
        <Parameters api={api} device={device} editable={canChange(user.role)} onSaved={setDevice} />
        <DeviceDeployments api={api} id={id} />
      </div>
    </div>
  );
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const MAX_LINES = 2000;

function LogTail({ api, id }: { api: ConsoleApi; id: string }) {
  const [level, setLevel] = useState('');
  const [node, setNode] = useState('');
  const [text, setText] = useState('');
  const [lines, setLines] = useState<LogLine[]>([]);
  const [note, setNote] = useState<string>();
  const [live, setLive] = useState(false);
  const [unavailable, setUnavailable] = useState(false);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const query = useMemo(() => {
    const q = new URLSearchParams();
    if (level) q.set('level', level);
    if (node.trim()) q.set('node', node.trim());
    if (text.trim()) q.set('q', text.trim());
    return q;
  }, [level, node, text]);

  useEffect(() => {
    const abort = new AbortController();
    let lastSeq = -1;
    const add = (more: LogLine[]) => {
      const fresh = more.filter((l) => l.seq > lastSeq);
      if (!fresh.length) return;
      lastSeq = fresh[fresh.length - 1]!.seq;
      setLines((old) => [...old, ...fresh].slice(-MAX_LINES));
    };
    setLines([]);
    setNote(undefined);
    setLive(false);
    setUnavailable(false);
    (async () => {
      const history = new URLSearchParams(query);
      history.set('limit', '500');
      try {
        const page = await api.logs(id, history.toString());
        add([...page.lines].sort((a, b) => a.seq - b.seq));
        if (page.dropped) setNote(`${page.dropped} older lines were dropped by the device's bounded buffer`);
      } catch (err) {
        const missing = (err as { status?: number }).status === 404;
        setUnavailable(missing);
        setNote(missing ? 'This repository keeps no device logs yet.' : describeFailure(err));
        return;
      }
      // The live tail: server-sent events read from a fetch body, so a token works as well as the cookie.
      while (!abort.signal.aborted) {
        try {
          const res = await fetch(`${API_ROOT}/devices/${encodeURIComponent(id)}/logs/stream?${query}`, { headers: api.headers('GET', false), signal: abort.signal, credentials: 'same-origin' });
          if (!res.ok || !res.body) throw new Error(`the live tail answered ${res.status}`);
          setLive(true);
          const parser = new SseParser();
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const e of parser.push(value)) if (e.event === 'line') add([JSON.parse(e.data) as LogLine]);
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          setNote(`live tail interrupted (${describeFailure(err)}); reconnecting`);
        }
        setLive(false);
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    return () => abort.abort();
  }, [id, query.toString()]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <Section
      title="Log"
      id="device-log"
      actions={
        <>
          <span class={`badge tone-${live ? 'good' : 'off'}`} id="log-live">
            <i class="dot" />
            {live ? 'live' : 'not live'}
          </span>
          <select id="log-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)} aria-label="lowest level">
            <option value="">every level</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
          <input id="log-node" placeholder="node id, type or name" value={node} onChange={(e) => setNode(e.currentTarget.value)} />
          <input id="log-search" type="search" placeholder="search" value={text} onChange={(e) => setText(e.currentTarget.value)} />
          <label class="inline">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> follow
          </label>
        </>
      }
    >
      <Message text={note} tone="off" />
      <div class="log" ref={box} id="log-lines" hidden={unavailable}>
        {lines.map((l) => (
          <div class={`line lvl-${logLevelTone(l.level)}`} key={l.seq} data-seq={l.seq}>
            <time>{new Date(l.ts).toISOString().slice(11, 23)}</time>
            <span class="lvl">{l.level}</span>
            {l.nodeType || l.nodeName ? <span class="node" title={l.nodeId}>[{l.nodeName || l.nodeType}]</span> : null}
            <span class="text">{l.msg}</span>
          </div>
        ))}
        {lines.length === 0 && !note ? <p class="dim">No lines yet.</p> : null}
      </div>
    </Section>
  );
}

const RANGES = { hour: { ms: 3_600_000, step: 10 }, day: { ms: 86_400_000, step: 300 } };

function HealthCharts({ api, id }: { api: ConsoleApi; id: string }) {
  const [range, setRange] = useState<keyof typeof RANGES>('hour');
  const [samples, setSamples] = useState<HealthSample[]>([]);
  const [note, setNote] = useState<string>();
  const load = () => {
    const until = Date.now();
    const q = new URLSearchParams({ since: String(until - RANGES[range].ms), until: String(until), step: String(RANGES[range].step) });
    api.health(id, q.toString()).then(
      (h) => (setSamples(h.samples), setNote(undefined)),
      (err) => setNote((err as { status?: number }).status === 404 ? 'This repository keeps no health samples yet.' : describeFailure(err)),
    );
  };
  useEffect(load, [id, range]);
  useInterval(load, 10_000, [id, range]);
  // Memoised on the samples: a new array would rebuild the charts on every render of the page.
  const t = useMemo(() => samples.map((s) => (typeof s.ts === 'number' ? s.ts : Date.parse(s.ts)) / 1000), [samples]);
  const last = samples[samples.length - 1];
  const cpu = useMemo(() => [{ label: 'CPU', values: samples.map((s) => s.cpuPercent ?? null), colour: '#2a6fb0' }], [samples]);
  const mem = useMemo(() => [
    { label: 'RSS', values: samples.map((s) => (s.rssBytes ?? NaN) / 1048576), colour: '#383' },
    { label: 'heap', values: samples.map((s) => (s.heapUsedBytes ?? NaN) / 1048576), colour: '#8a6' },
  ], [samples]);
  const loop = useMemo(() => [{ label: 'event loop p99', values: samples.map((s) => s.eventLoopP99Ms ?? null), colour: '#b70' }], [samples]);
  return (
    <Section
      title="Health"
      id="device-health-charts"
      actions={
        <div class="seg">
          {(Object.keys(RANGES) as (keyof typeof RANGES)[]).map((r) => (
            <button key={r} class={range === r ? 'on' : ''} id={`health-${r}`} onClick={() => setRange(r)}>
              last {r}
            </button>
          ))}
        </div>
      }
    >
      <Message text={note} tone="off" />
      {last ? (
        <div class="figures" id="health-figures">
          <span>
            restarts <b id="health-restarts">{last.restarts ?? 0}</b>
          </span>
          <span>
            up <b>{last.uptimeSeconds !== undefined ? `${Math.round(last.uptimeSeconds)} s` : '–'}</b>
          </span>
          <span>
            disk free <b>{bytes(last.diskFreeBytes)}</b>
          </span>
          <span>
            nodes with errors <b>{(last.nodes ?? []).filter((n) => (n.errors ?? 0) > 0).map((n) => n.name || n.type).join(', ') || 'none'}</b>
          </span>
        </div>
      ) : null}
      {note ? null : samples.length === 0 ? (
        <p class="dim" id="health-empty">No health samples in this period (an agent sends one every 10 s).</p>
      ) : (
        <div class="charts">
          <TimeChart title="CPU" unit="%" times={t} series={cpu} id="chart-cpu" />
          <TimeChart title="Memory" unit="MiB" times={t} series={mem} id="chart-rss" />
          <TimeChart title="Event-loop delay p99" unit="ms" times={t} series={loop} id="chart-loop" />
        </div>
      )}
    </Section>
  );
}

function Parameters({ api, device, editable, onSaved }: { api: ConsoleApi; device: ConsoleDevice; editable: boolean; onSaved: (d: ConsoleDevice) => void }) {
  const slug = device.desired?.template ?? device.running?.split('@')[0];
  const [schema, setSchema] = useState<ParameterSchema>();
  const [raw, setRaw] = useState<Record<string, string | boolean>>({});
  const [message, setMessage] = useState<{ text: string; tone: 'good' | 'bad' }>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!slug) return;
    api.template(slug).then((t) => setSchema(t.parameters as ParameterSchema), (err) => setMessage({ text: describeFailure(err), tone: 'bad' }));
  }, [slug]);
  const current = device.parameters as Record<string, ParameterValue>;
  const model = parameterForm(schema, current);
  const value = (name: string, fallback: string | boolean) => (name in raw ? raw[name]! : fallback);

  const save = async (e: Event) => {
    e.preventDefault();
    const inputs = Object.fromEntries(model.fields.map((f) => [f.name, value(f.name, f.value)]));
    const change = parameterChange(schema, current, inputs);
    if (change.problems.length) return setMessage({ text: change.problems.map((p) => `${p.field} ${p.reason}`).join('; '), tone: 'bad' });
    if (!change.parameters) return setMessage({ text: 'nothing changed', tone: 'good' });
    setBusy(true);
    try {
      const d = await api.updateDevice(device.id, { parameters: change.parameters });
      setRaw({});
      onSaved(d);
      setMessage({ text: `saved ${change.changed.join(', ')}; ${device.id} gets a new desired state and deploys it`, tone: 'good' });
    } catch (err) {
      setMessage({ text: describeFailure(err), tone: 'bad' });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Parameters" id="device-parameters">
      {!slug ? <p class="dim">No template assigned yet.</p> : null}
      <form class="form grid" onSubmit={save} id="parameter-form">
        {model.fields.map((f) => (
          <label key={f.name} title={f.description}>
            <span>
              {f.label}
              {f.required ? ' *' : ''} <code class="dim">{f.name}</code>
            </span>
            {f.kind === 'boolean' ? (
              <input type="checkbox" name={f.name} disabled={!editable} checked={value(f.name, f.value) === true} onChange={(e) => setRaw({ ...raw, [f.name]: e.currentTarget.checked })} />
            ) : f.kind === 'enum' ? (
              <select name={f.name} disabled={!editable} value={String(value(f.name, f.value))} onChange={(e) => setRaw({ ...raw, [f.name]: e.currentTarget.value })}>
                {(f.options ?? []).map((o) => (
                  <option key={String(o)} value={String(o)}>
                    {String(o)}
                  </option>
                ))}
              </select>
            ) : (
              <input
                name={f.name}
                disabled={!editable}
                type={f.kind === 'string' ? 'text' : 'number'}
                step={f.kind === 'integer' ? 1 : 'any'}
                min={f.minimum}
                max={f.maximum}
                value={String(value(f.name, f.value))}
                onInput={(e) => setRaw({ ...raw, [f.name]: e.currentTarget.value })}
              />
            )}
          </label>
        ))}
        {model.undeclared.length ? <p class="dim">Also set, not in the template: {model.undeclared.map((k) => `${k}=${String(current[k])}`).join(', ')}</p> : null}
        <Message text={message?.text} tone={message?.tone} id="parameter-message" />
        {editable && model.fields.length ? (
          <button class="primary" id="parameter-save" disabled={busy}>
            Save and deploy
          </button>
        ) : null}
      </form>
    </Section>
  );
}

function DeviceDeployments({ api, id }: { api: ConsoleApi; id: string }) {
  const [rows, setRows] = useState<{ dep: DeploymentSummary; state: string; reasons: string[] }[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    (async () => {
      const all = (await api.deployments()).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 25);
      const details = await Promise.all(all.map((d) => api.deployment(d.id)));
      const mine = details.flatMap((d) => d.devices.filter((x) => x.deviceId === id).map((x) => ({ dep: d as DeploymentSummary, state: x.state, reasons: x.reasons })));
      setRows(mine);
    })().catch((err) => setError(describeFailure(err)));
  }, [id]);
  return (
    <Section title="Deployments" id="device-deployments">
      <Message text={error} />
      {rows && !rows.length ? <p class="dim">Never deployed to.</p> : null}
      <table class="grid-table">
        <tbody>
          {(rows ?? []).map((r) => (
            <tr key={r.dep.id}>
              <td>
                <a href={href('deployment', r.dep.id)} class="mono">
                  {r.dep.template}@{r.dep.version}
                </a>
              </td>
              <td title={r.reasons.join('\n') || undefined}>
                <Badge look={targetLook(r.state)} />
              </td>
              <td>
                <Badge look={deploymentLook(r.dep.state)} />
              </td>
              <td class="dim">
                {r.dep.createdBy} · {new Date(r.dep.createdAt).toLocaleString('en-GB')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
