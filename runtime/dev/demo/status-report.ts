// What `npm start` prints while the demo runs: a short status line (history rows, the alarm lamp, each
// device's state with its reason) only when something a person would notice changed, and each
// deployment's progress as events ("line-1: downloading -> running"), instead of a dump every 10 s.
// Pure: the CLI feeds it the demo's status.

export interface DeviceLine {
  id: string;
  state: string;
  running: string | null;
  reasons: string[];
}

export interface DeploymentLine {
  id: string;
  template: string;
  version: string;
  state: string;
  devices: Array<{ deviceId: string; state: string; reasons: string[] }>;
}

export interface StatusSnapshot {
  historyRows: number;
  alarmLamp: boolean | null;
  alarmLampSeenOn: boolean;
  devices: DeviceLine[];
  deployments?: DeploymentLine[];
}

const lampWord = (s: StatusSnapshot) => `${s.alarmLamp === null ? 'unknown' : s.alarmLamp ? 'ON' : 'off'}${s.alarmLampSeenOn ? ' (has lit)' : ''}`;
const deviceWord = (d: DeviceLine) => `${d.id} ${d.state}${d.running ? ` ${d.running}` : ''}${d.reasons.length ? ` (${d.reasons.join('; ')})` : ''}`;

export class StatusReport {
  private lastKey: string | undefined;
  private lastRows: number | undefined;
  private readonly deviceStates = new Map<string, string>();
  private readonly deploymentStates = new Map<string, string>();

  /**
   * The status line when it changed, else undefined. Rows that keep growing are not a change (they
   * grow every second); rows that start, stop or stay at none are.
   */
  statusLine(s: StatusSnapshot): string | undefined {
    const flow = s.historyRows === 0 ? 'none' : this.lastRows === undefined || s.historyRows > this.lastRows ? 'growing' : 'stalled';
    this.lastRows = s.historyRows;
    const key = JSON.stringify([flow, lampWord(s), s.devices.map(deviceWord)]);
    if (key === this.lastKey) return undefined;
    this.lastKey = key;
    const rows = s.historyRows === 0 ? 'no inspections yet' : `${s.historyRows.toLocaleString('en-US')} inspections${flow === 'stalled' ? ' (not growing)' : ''}`;
    return `cloud history: ${rows}; alarm lamp: ${lampWord(s)}; ${s.devices.map(deviceWord).join(', ')}`;
  }

  /** One line per deployment state or device state that changed since the last call (the first call names each). */
  deploymentEvents(deployments: DeploymentLine[]): string[] {
    const out: string[] = [];
    for (const d of deployments) {
      const name = `deployment ${d.template}@${d.version} (${d.id})`;
      const before = this.deploymentStates.get(d.id);
      if (before !== d.state) out.push(`${name}: ${before ? `${before} -> ` : ''}${d.state}`);
      this.deploymentStates.set(d.id, d.state);
      for (const dev of d.devices) {
        const key = `${d.id}/${dev.deviceId}`;
        const was = this.deviceStates.get(key);
        if (was === dev.state) continue;
        this.deviceStates.set(key, dev.state);
        out.push(`${name}: ${dev.deviceId} ${was ? `${was} -> ` : ''}${dev.state}${dev.reasons.length ? ` (${dev.reasons.join('; ')})` : ''}`);
      }
    }
    return out;
  }
}
