// Templates: the list, one template's versions with changelog and publisher, and a side-by-side diff of
// two versions by node and property.
import { useEffect, useState } from 'preact/hooks';
import type { VersionDocument } from '../../../../contracts/fleet/protocol';
import { canChange, describeFailure } from '../api';
import type { PageProps } from '../app';
import { Message, Section } from '../components';
import { diffView, type DiffView } from '../diff-view';
import { href } from '../router';
import type { TemplateView, VersionSummary } from '../../store/repo-store';

export function TemplatesPage({ api }: PageProps) {
  const [list, setList] = useState<TemplateView[]>();
  const [error, setError] = useState<string>();
  useEffect(() => void api.templates().then(setList, (err) => setError(describeFailure(err))), []);
  return (
    <div class="page">
      <Section title="Templates" id="templates">
        <Message text={error} />
        <table class="grid-table" id="template-list">
          <thead>
            <tr>
              <th>Template</th>
              <th>Title</th>
              <th>Tier</th>
              <th>Latest</th>
              <th>Versions</th>
              <th>Parameters</th>
            </tr>
          </thead>
          <tbody>
            {(list ?? []).map((t) => (
              <tr key={t.slug} data-template={t.slug}>
                <td>
                  <a href={href('template', t.slug)} class="mono">
                    {t.slug}
                  </a>
                </td>
                <td>{t.title}</td>
                <td>{t.tier}</td>
                <td class="mono">{t.latest ?? '–'}</td>
                <td class="num">{t.versions.length}</td>
                <td class="dim">{Object.keys((t.parameters as { properties?: object }).properties ?? {}).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

export function TemplatePage({ api, user, route }: PageProps) {
  const slug = route.id!;
  const [template, setTemplate] = useState<TemplateView>();
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [error, setError] = useState<string>();
  const [from, setFrom] = useState(route.params.from ?? '');
  const [to, setTo] = useState(route.params.to ?? '');
  const [layout, setLayout] = useState(false);
  const [diff, setDiff] = useState<DiffView>();
  const [docs, setDocs] = useState<Record<string, VersionDocument>>({});

  useEffect(() => {
    Promise.all([api.template(slug), api.versions(slug)]).then(([t, v]) => {
      setTemplate(t);
      const sorted = [...v].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      setVersions(sorted);
      if (!to && sorted[0]) setTo(sorted[0].version);
      if (!from && sorted[1]) setFrom(sorted[1].version);
    }, (err) => setError(describeFailure(err)));
  }, [slug]);

  useEffect(() => {
    if (!from || !to) return setDiff(undefined);
    (async () => {
      const need = [from, to].filter((v) => !docs[v]);
      const got = Object.fromEntries(await Promise.all(need.map(async (v) => [v, await api.version(slug, v)] as const)));
      const all = { ...docs, ...got };
      setDocs(all);
      setDiff(diffView(all[from]!.flow, all[to]!.flow, { layout }));
    })().catch((err) => setError(describeFailure(err)));
  }, [from, to, layout]);

  return (
    <div class="page">
      <div class="crumbs">
        <a href={href('templates')}>Templates</a> / <b>{slug}</b>
      </div>
      <Message text={error} />
      {template ? (
        <p class="lead">
          <b>{template.title}</b> · {template.tier} tier{template.description ? ` · ${template.description}` : ''}
        </p>
      ) : null}
      <Section
        title="Versions"
        id="versions"
        actions={canChange(user.role) && template?.latest ? <a class="button" href={href('deploy', undefined, { template: slug, version: template.latest })}>Deploy…</a> : null}
      >
        <table class="grid-table" id="version-list">
          <thead>
            <tr>
              <th>Version</th>
              <th>Published</th>
              <th>By</th>
              <th>Changelog</th>
              <th>sha256</th>
              <th>Compare</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <td class="mono">{v.version}</td>
                <td>{new Date(v.createdAt).toLocaleString('en-GB')}</td>
                <td>{v.author ?? '–'}</td>
                <td class="changelog">{v.changelog ?? ''}</td>
                <td class="mono dim" title={v.sha256}>
                  {v.sha256.slice(0, 12)}
                </td>
                <td class="nowrap">
                  <label class="inline" title="old side">
                    <input type="radio" name="from" checked={from === v.version} onChange={() => setFrom(v.version)} /> A
                  </label>{' '}
                  <label class="inline" title="new side">
                    <input type="radio" name="to" checked={to === v.version} onChange={() => setTo(v.version)} /> B
                  </label>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section
        title={from && to ? `Changes from ${from} (A) to ${to} (B)` : 'Changes'}
        id="diff"
        actions={
          <label class="inline">
            <input type="checkbox" checked={layout} onChange={(e) => setLayout(e.currentTarget.checked)} /> include moves on the canvas
          </label>
        }
      >
        {!diff ? <p class="dim">Choose two versions.</p> : diff.same ? <p class="dim" id="diff-same">Same nodes and settings.</p> : null}
        {diff && !diff.same ? (
          <table class="diff" id="diff-table">
            <thead>
              <tr>
                <th>Node</th>
                <th>Property</th>
                <th>A · {from}</th>
                <th>B · {to}</th>
              </tr>
            </thead>
            {diff.rows.map((r) => (
              <tbody key={r.id} class={`d-${r.change}`} data-node={r.id}>
                {r.properties.map((p, i) => (
                  <tr key={p.name}>
                    {i === 0 ? (
                      <th rowSpan={r.properties.length} scope="rowgroup">
                        <span class={`chg chg-${r.change}`}>{r.change}</span> {r.name ? <b>{r.name}</b> : null} <span class="dim">{r.type}</span>
                        <div class="mono dim">{r.id}</div>
                      </th>
                    ) : null}
                    <td class="mono">{p.name}</td>
                    <td class={`val ${p.before === undefined ? 'none' : 'before'}`}>
                      <pre>{p.before ?? ''}</pre>
                    </td>
                    <td class={`val ${p.after === undefined ? 'none' : 'after'}`}>
                      <pre>{p.after ?? ''}</pre>
                    </td>
                  </tr>
                ))}
              </tbody>
            ))}
          </table>
        ) : null}
        {diff && !diff.same ? <p class="dim">{diff.unchanged} nodes unchanged.</p> : null}
      </Section>
    </div>
  );
}
