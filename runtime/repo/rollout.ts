// The deployment state machine, pure: which devices go in which wave, which wave to release next given
// what the devices reported, when a deployment is complete or halted, and how a report moves a device.
import type { DeviceStatusReport } from '../../contracts/fleet/protocol';

/** A device's progress in one deployment. `queued`: its wave is not released yet. */
export type TargetState = 'queued' | 'pending' | 'downloading' | 'verifying' | 'waiting' | 'running' | 'failed' | 'rolled back' | 'superseded' | 'cancelled';
export type DeploymentState = 'rolling out' | 'paused' | 'halted' | 'completed' | 'rolled back' | 'cancelled';
export type Strategy = 'all' | 'canary';

export interface RolloutTarget {
  deviceId: string;
  wave: number;
  state: TargetState;
  reasons?: string[];
}

export interface RolloutStep {
  state: DeploymentState;
  /** Devices whose wave is released now: their desired version becomes the deployment's. */
  activate: string[];
  reason?: string;
}

/** Wave 0 is everything (`all`) or the first `canary` devices; then waves of `waveSize` (0 = the rest at once). */
export function assignWaves(deviceIds: string[], strategy: Strategy, canary = 1, waveSize = 0): { deviceId: string; wave: number }[] {
  const ids = [...deviceIds].sort();
  if (strategy === 'all') return ids.map((deviceId) => ({ deviceId, wave: 0 }));
  const n = Math.max(1, Math.min(canary, ids.length));
  return ids.map((deviceId, i) => ({
    deviceId,
    wave: i < n ? 0 : waveSize > 0 ? 1 + Math.floor((i - n) / waveSize) : 1,
  }));
}

const FAILED: TargetState[] = ['failed', 'rolled back'];
const DONE: TargetState[] = ['running', 'superseded'];

/** What to do next for a deployment in `state` whose devices are `targets`. */
export function nextStep(state: DeploymentState, targets: RolloutTarget[]): RolloutStep {
  if (state === 'halted' || state === 'rolled back' || state === 'completed' || state === 'cancelled') return { state, activate: [] };
  const failed = targets.filter((t) => FAILED.includes(t.state));
  if (failed.length) {
    const first = failed[0]!;
    const why = first.reasons?.length ? `: ${first.reasons.join('; ')}` : '';
    const which = first.wave === 0 && targets.some((t) => t.wave > 0) ? 'canary ' : '';
    return { state: 'halted', activate: [], reason: `${which}device ${first.deviceId} ${first.state}${why}; the remaining waves are held back` };
  }
  const released = targets.filter((t) => t.state !== 'queued');
  const queued = targets.filter((t) => t.state === 'queued');
  if (!released.every((t) => DONE.includes(t.state))) return { state, activate: [] };
  if (!queued.length) return { state: 'completed', activate: [] };
  if (state === 'paused') return { state, activate: [] };
  const wave = Math.min(...queued.map((t) => t.wave));
  return { state, activate: queued.filter((t) => t.wave === wave).map((t) => t.deviceId) };
}

/**
 * How a device's status report moves its target in a deployment of `version` ("slug@semver").
 * Returns undefined when the report says nothing about this deployment (e.g. `offline`, `drifted`).
 */
export function targetStateFromReport(report: Pick<DeviceStatusReport, 'state' | 'running' | 'target' | 'models'>, version: string, models: { name: string; version: string }[] = []): TargetState | undefined {
  switch (report.state) {
    case 'running':
      // A deployment that carries models is running once the device runs them too (older agents do not say).
      if (report.running !== version) return undefined;
      if (report.models && !models.every((m) => report.models!.some((r) => r.name === m.name && r.version === m.version))) return undefined;
      return 'running';
    case 'failed':
    case 'rolled back':
      return !report.target || report.target === version ? report.state : undefined;
    case 'pending':
    case 'downloading':
    case 'verifying':
    case 'waiting':
      return !report.target || report.target === version ? report.state : undefined;
    default:
      return undefined;
  }
}

/** A device is offline when it has not checked in within `multiple` poll intervals (or never did). */
export function isOffline(lastSeen: Date | null, pollIntervalS: number, now: number, multiple: number): boolean {
  return !lastSeen || now - lastSeen.getTime() > pollIntervalS * 1000 * multiple;
}
