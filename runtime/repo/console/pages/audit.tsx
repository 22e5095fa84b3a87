// The audit log: every change with who made it, newest first; filter by subject (the API) and actor.
import { useEffect, useState } from 'preact/hooks';
import { describeFailure } from '../api';
import type { PageProps } from '../app';
import { Message, Section } from '../components';
import { href } from '../router';
import type { AuditEntry } from '../../store/repo-store';

export function AuditPage({ api, route }: PageProps) {
  const [subject, setSubject] = useState(route.params.subject ?? '');
  const [actor, setActor] = useState(route.params.actor ?? '');
  const [entries, setEntries] = useState<AuditEntry[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const q = new URLSearchParams({ limit: '1000' });
    if (route.params.subject) q.set('subject', route.params.subject);
    if (route.params.actor) q.set('actor', route.params.actor);
    api.audit(q.toString()).then((e) => (setEntries(e), setError(undefined)), (err) => setError(describeFailure(err)));
  }, [route.params.subject, route.params.actor]);
  // The actor filter also narrows what is shown, for repositories whose API filters by subject only.
  const shown = (entries ?? []).filter((e) => !route.params.actor || e.actor.toLowerCase().includes(route.params.actor.toLowerCase()));
  return (
    <div class="page">
      <Section title="Audit log" id="audit">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            location.hash = href('audit', undefined, { subject: subject.trim(), actor: actor.trim() });
          }}
        >
          <input id="audit-subject" placeholder="subject (device, template, deployment id)" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
          <input id="audit-actor" placeholder="actor (user or token)" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
          <button>Filter</button>
          <span class="count">{entries ? `${shown.length} entries` : 'loading…'}</span>
        </form>
        <Message text={error} />
        <table class="grid-table" id="audit-list">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Subject</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td class="nowrap">{new Date(e.at).toLocaleString('en-GB')}</td>
                <td>{e.actor}</td>
                <td class="mono">{e.action}</td>
                <td>
                  <a href={href('audit', undefined, { subject: e.subject })}>{e.subject}</a>
                </td>
                <td class="detail mono">{JSON.stringify(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}
