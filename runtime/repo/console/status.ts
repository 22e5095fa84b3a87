// One colour language for every state the console shows (Node-RED's): green running, yellow waiting or
// degraded, red failed, grey offline or finished-without-effect, blue for work under way. Pure.

export type Tone = 'good' | 'warn' | 'bad' | 'off' | 'busy';

export interface StateLook {
  tone: Tone;
  label: string;
}

const DEVICE: Record<string, Tone> = {
  running: 'good',
  waiting: 'warn',
  drifted: 'warn',
  pending: 'busy',
  downloading: 'busy',
  verifying: 'busy',
  failed: 'bad',
  'rolled back': 'bad',
  offline: 'off',
};

/** A device's state as shown: degraded (running with nodes in trouble) reads yellow, never plain green. */
export function deviceLook(d: { state: string; degraded?: boolean; health?: string }): StateLook {
  if (d.state === 'offline') return { tone: 'off', label: 'offline' };
  if (d.degraded || d.health === 'degraded') return { tone: 'warn', label: `${d.state} · degraded` };
  return { tone: DEVICE[d.state] ?? 'off', label: d.state };
}

const DEPLOYMENT: Record<string, Tone> = {
  completed: 'good',
  'rolling out': 'busy',
  paused: 'warn',
  waiting: 'warn',
  halted: 'bad',
  failed: 'bad',
  'rolled back': 'bad',
  cancelled: 'off',
  superseded: 'off',
};

export function deploymentLook(state: string): StateLook {
  return { tone: DEPLOYMENT[state] ?? 'off', label: state };
}

/** Per-device state inside a deployment (queued, pending, waiting, running, failed, rolled back, ...). */
export function targetLook(state: string): StateLook {
  return { tone: DEVICE[state] ?? DEPLOYMENT[state] ?? 'off', label: state };
}

export function logLevelTone(level: string): Tone {
  return level === 'error' || level === 'fatal' ? 'bad' : level === 'warn' ? 'warn' : level === 'debug' || level === 'trace' ? 'off' : 'good';
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for null. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function bytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
