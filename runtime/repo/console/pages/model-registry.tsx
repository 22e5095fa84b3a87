// The model registry: every model with its versions (classes, input, precision/recall/mAP from model.json,
// who published it and when, changelog, sha256), two versions side by side like `linesight models diff`,
// and which devices run which version. Read-only: models are published with the CLI.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ConsoleDevice } from '../api';
import { describeFailure } from '../api';
import type { PageProps } from '../app';
import { Message, Section } from '../components';
import { bySemverDesc, compareVersions, describeInput, devicesByVersion, formatFigure, headline, type ModelVersionView } from '../model-view';
import { href } from '../router';
import type { ModelSummary } from '../../store/repo-store';

/** Devices read to tell who runs what (the API's largest page). */
const DEVICE_LIMIT = 1000;

export function ModelRegistryPage({ api }: PageProps) {
  const [list, setList] = useState<ModelSummary[]>();
  const [error, setError] = useState<string>();
  useEffect(() => void api.models().then(setList, (err) => setError(describeFailure(err))), []);
  return (
    <div class="page">
      <Section title="Model registry" id="models-registry" actions={<a href={href('models')}>defect rates by model version →</a>}>
        <Message text={error} />
        {list && !list.length ? (
          <p class="dim" id="no-models">
            No models yet. Publish one with <code>linesight models publish model.onnx --name … --semver … --metadata model.json</code>.
          </p>
        ) : null}
        <table class="grid-table" id="model-list">
          <thead>
            <tr>
              <th>Model</th>
              <th>Latest</th>
              <th>Format</th>
              <th>Versions</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {(list ?? []).map((m) => (
              <tr key={m.name} data-model={m.name}>
                <td>
                  <a href={href('model', m.name)} class="mono">
                    {m.name}
                  </a>
                </td>
                <td class="mono">{m.latest ?? '–'}</td>
                <td>{m.format}</td>
                <td class="mono">{[...m.versions].sort(bySemverDesc).join(', ')}</td>
                <td>{new Date(m.updatedAt).toLocaleString('en-GB')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

export function ModelPage({ api, route }: PageProps) {
  const name = route.id!;
  const [versions, setVersions] = useState<ModelVersionView[]>([]);
  const [devices, setDevices] = useState<ConsoleDevice[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    api.model(name).then((m) => setVersions([...m.versions].sort((x, y) => bySemverDesc(x.version, y.version))), (err) => setError(describeFailure(err)));
    api.devicePage(`limit=${DEVICE_LIMIT}`).then((p) => setDevices(p.devices), (err) => setError(describeFailure(err)));
  }, [name]);

  // Compare the route's versions, else the newest with the one before it.
  const a = versions.find((v) => v.version === route.params.a) ?? versions[1];
  const b = versions.find((v) => v.version === route.params.b) ?? versions[0];
  const rows = useMemo(() => (a && b && a !== b ? compareVersions(a, b) : []), [a, b]);
  const running = useMemo(() => devicesByVersion(devices, name), [devices, name]);
  const pick = (which: 'a' | 'b', version: string) => (location.hash = href('model', name, { a: which === 'a' ? version : a?.version, b: which === 'b' ? version : b?.version }));

  return (
    <div class="page">
      <div class="crumbs">
        <a href={href('registry')}>Model registry</a> / <b>{name}</b>
      </div>
      <Message text={error} />
      <Section title="Versions" id="model-versions">
        <table class="grid-table" id="model-version-list">
          <thead>
            <tr>
              <th>Version</th>
              <th>Classes</th>
              <th>Input</th>
              <th class="num">Precision</th>
              <th class="num">Recall</th>
              <th class="num">mAP@0.5</th>
              <th>Published</th>
              <th>By</th>
              <th>Changelog</th>
              <th>sha256</th>
              <th>Devices</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => {
              const h = headline(v.metadata);
              const on = running.get(v.version) ?? [];
              return (
                <tr key={v.version} data-version={v.version}>
                  <td class="mono">{v.version}</td>
                  <td class="classes">{(v.metadata?.classes ?? []).join(', ') || '–'}</td>
                  <td class="mono">{describeInput(v.metadata)}</td>
                  <td class="num metric-precision">{formatFigure(h.precision)}</td>
                  <td class="num metric-recall">{formatFigure(h.recall)}</td>
                  <td class="num metric-map">{formatFigure(h.map50)}</td>
                  <td>{new Date(v.createdAt).toLocaleString('en-GB')}</td>
                  <td>{v.publisher}</td>
                  <td class="changelog">{v.changelog ?? (typeof v.metadata?.changelog === 'string' ? v.metadata.changelog : '')}</td>
                  <td class="mono dim" title={v.sha256}>
                    {v.sha256.slice(0, 12)}
                  </td>
                  <td class="num running" data-count={on.length}>
                    {on.length}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>

      {versions.length > 1 && a && b ? (
        <Section
          title="Compare"
          id="model-compare"
          actions={
            <>
              <VersionPicker id="compare-a" versions={versions} value={a.version} onPick={(v) => pick('a', v)} />
              <span class="dim">→</span>
              <VersionPicker id="compare-b" versions={versions} value={b.version} onPick={(v) => pick('b', v)} />
            </>
          }
        >
          <table class="grid-table model-compare" id="model-compare-table">
            <thead>
              <tr>
                <th />
                <th class="mono">{a.version}</th>
                <th class="mono">{b.version}</th>
                <th class="num">change</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.field} data-field={r.field} class={r.changed ? 'changed' : ''}>
                  <th>{r.field}</th>
                  <td class={r.field === 'changelog' ? 'changelog' : 'mono'}>{r.a}</td>
                  <td class={`${r.field === 'changelog' ? 'changelog' : 'mono'}${r.changed ? ' chg-changed' : ''}`}>{r.b}</td>
                  <td class={`num delta ${r.delta === undefined ? '' : r.delta > 0 ? 'tone-good' : r.delta < 0 ? 'tone-bad' : ''}`}>{r.delta === undefined || r.delta === 0 ? '' : `${r.delta > 0 ? '+' : ''}${r.delta.toFixed(3)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      ) : null}

      <Section title="Devices running it" id="model-devices">
        {running.size ? (
          <table class="grid-table" id="model-device-list">
            <thead>
              <tr>
                <th>Version</th>
                <th>Devices</th>
              </tr>
            </thead>
            <tbody>
              {[...running.keys()].sort(bySemverDesc).map((version) => (
                <tr key={version} data-version={version}>
                  <td class="mono">{version}</td>
                  <td>
                    {running.get(version)!.map((id, i) => (
                      <span key={id}>
                        {i ? ', ' : ''}
                        <a href={href('device', id)} class="mono" data-device={id}>
                          {id}
                        </a>
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="dim">No device reports running {name}.</p>
        )}
      </Section>
    </div>
  );
}

function VersionPicker({ id, versions, value, onPick }: { id: string; versions: ModelVersionView[]; value: string; onPick: (v: string) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onPick((e.target as HTMLSelectElement).value)}>
      {versions.map((v) => (
        <option key={v.version} value={v.version}>
          {v.version}
        </option>
      ))}
    </select>
  );
}
