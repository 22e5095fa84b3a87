// Remote editing of one device: the switch (deployers and admins), the link to its editor through the
// tunnel, and what to do after a hand edit there: save it as a new version of the template, or revert the
// device to its assigned version; plus the commands the agent allows.
import { useState } from 'preact/hooks';
import { describeFailure, type ConsoleApi, type ConsoleDevice } from '../api';
import { Message, Section } from '../components';
import { href } from '../router';

export function RemoteEditing({ api, device, editable, onChanged }: { api: ConsoleApi; device: ConsoleDevice; editable: boolean; onChanged: (d?: ConsoleDevice) => void }) {
  const [idle, setIdle] = useState('30');
  const [version, setVersion] = useState('');
  const [changelog, setChangelog] = useState('');
  const [message, setMessage] = useState<{ text: string; tone: 'good' | 'bad' }>();
  const [busy, setBusy] = useState(false);
  const on = !!device.remoteEditing;
  const connected = device.tunnel?.connected === true;
  const drifted = device.state === 'drifted';

  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    setMessage(undefined);
    try {
      setMessage({ text: await what(), tone: 'good' });
    } catch (err) {
      setMessage({ text: describeFailure(err), tone: 'bad' });
    } finally {
      setBusy(false);
    }
  };
  const toggle = () =>
    run(async () => {
      const minutes = Number(idle);
      const d = await api.setRemoteEditing(device.id, !on, on ? undefined : minutes);
      onChanged(d);
      return on ? 'remote editing is off; the tunnel is closed' : `remote editing is on; ${device.id} opens its tunnel with its next desired state`;
    });
  const save = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const v = await api.saveVersion(device.id, { version: version.trim(), changelog: changelog.trim() || undefined });
      setVersion('');
      setChangelog('');
      return `published ${v.template}@${v.version}; deploy it from Deployments to roll it out`;
    });
  };
  const command = (name: 'restart' | 'revert' | 'support-bundle', done: string) =>
    run(async () => {
      const r = await api.remoteCommand(device.id, name);
      onChanged();
      return r.bundleId ? `${done} (bundle ${r.bundleId})` : done;
    });

  return (
    <Section
      title="Remote editing"
      id="remote-editing"
      actions={
        <span class={`badge tone-${connected ? 'good' : on ? 'warn' : 'off'}`} id="tunnel-state">
          <i class="dot" />
          {connected ? 'tunnel connected' : on ? 'waiting for the device' : 'off'}
        </span>
      }
    >
      <Message text={message?.text} tone={message?.tone} id="remote-message" />
      {on ? (
        <p class="dim">
          On since {new Date(device.remoteEditing!.since).toLocaleString()} by {device.remoteEditing!.by}; closes after {device.remoteEditing!.idleMinutes} min without use.
        </p>
      ) : (
        <p class="dim">The device's editor is reachable only through its own outbound tunnel, while this is on.</p>
      )}
      {editable ? (
        <div class="form row">
          {on ? null : (
            <label class="inline">
              idle minutes <input id="remote-idle" type="number" min="1" max="1440" value={idle} onInput={(e) => setIdle(e.currentTarget.value)} style="width:5em" />
            </label>
          )}
          <button id="remote-toggle" type="button" disabled={busy} onClick={toggle}>
            {on ? 'Turn remote editing off' : 'Turn remote editing on'}
          </button>
          {on && device.editorUrl ? (
            <a class={`button ${connected ? '' : 'disabled'}`} id="remote-open" href={device.editorUrl} target="_blank" rel="noopener">
              Open editor
            </a>
          ) : null}
        </div>
      ) : null}
      {editable && on && connected ? (
        <>
          <div class="form row">
            <button id="remote-restart" type="button" disabled={busy} onClick={() => command('restart', 'the runtime restarted')}>
              Restart runtime
            </button>
            <button id="remote-bundle" type="button" disabled={busy} onClick={() => command('support-bundle', 'support bundle uploaded')}>
              Upload support bundle
            </button>
            <button id="remote-revert" type="button" disabled={busy || !drifted} onClick={() => command('revert', `reverted to ${device.running ?? 'the assigned version'}`)}>
              Revert to the assigned version
            </button>
          </div>
          <form class="form grid" id="save-version-form" onSubmit={save}>
            <label>
              <span>new version</span>
              <input id="save-version" placeholder="1.1.0" required value={version} onInput={(e) => setVersion(e.currentTarget.value)} />
            </label>
            <label>
              <span>changelog</span>
              <input id="save-changelog" placeholder="what changed on the line" value={changelog} onInput={(e) => setChangelog(e.currentTarget.value)} />
            </label>
            <button id="save-version-button" type="submit" disabled={busy || !version.trim()}>
              Save as a new version of {device.desired?.template ?? device.running?.split('@')[0] ?? 'its template'}
            </button>
          </form>
          <p class="dim">
            After saving, roll it out from <a href={href('deployments')}>Deployments</a>.
          </p>
        </>
      ) : null}
    </Section>
  );
}
