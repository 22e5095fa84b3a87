// The agent's states and the only transitions allowed between them. One state at a time, named, with
// the data it needs; the agent asks `canTransition` before every move, so an impossible move is a bug
// that shows up at once instead of a combination of flags.
import type { DeviceState } from '../../contracts/fleet/protocol';

export type AgentStateName =
  | 'starting'
  | 'idle'
  | 'downloading'
  | 'verifying'
  | 'waiting'
  | 'deploying'
  | 'health-check'
  | 'running'
  | 'drifted'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed'
  | 'stopped';

/** States the agent rests in until something happens; the others are steps of one convergence. */
export const RESTING: readonly AgentStateName[] = ['idle', 'running', 'drifted', 'rolled-back', 'failed'];

const IN_FLIGHT_EXITS: AgentStateName[] = [...RESTING, 'downloading', 'stopped'];

export const TRANSITIONS: Readonly<Record<AgentStateName, readonly AgentStateName[]>> = {
  starting: ['idle', 'running', 'failed', 'stopped'],
  idle: ['downloading', 'failed', 'rolled-back', 'stopped'],
  running: ['downloading', 'drifted', 'failed', 'rolled-back', 'stopped'],
  drifted: ['running', 'downloading', 'failed', 'rolled-back', 'stopped'],
  'rolled-back': ['downloading', 'running', 'failed', 'stopped'],
  failed: ['downloading', 'running', 'idle', 'rolled-back', 'stopped'],
  // A newer desired state can supersede these three steps: back to rest, or straight to the new download.
  downloading: ['verifying', 'failed', ...IN_FLIGHT_EXITS],
  verifying: ['waiting', 'deploying', 'failed', ...IN_FLIGHT_EXITS],
  waiting: ['waiting', 'deploying', ...IN_FLIGHT_EXITS],
  // Once a deploy starts it ends healthy or rolled back; nothing interrupts it but a stop.
  deploying: ['health-check', 'rolling-back', 'stopped'],
  'health-check': ['running', 'rolling-back', 'stopped'],
  'rolling-back': ['rolled-back', 'failed', 'stopped'],
  stopped: [],
};

export function canTransition(from: AgentStateName, to: AgentStateName): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What the fleet sees (DeviceStatusReport.state); null for states that are not reported. */
export function reportedState(s: AgentStateName): DeviceState | null {
  switch (s) {
    case 'idle':
      return 'pending';
    case 'downloading':
      return 'downloading';
    case 'verifying':
    case 'deploying':
    case 'health-check':
      return 'verifying';
    case 'waiting':
      return 'waiting';
    case 'running':
      return 'running';
    case 'drifted':
      return 'drifted';
    case 'rolled-back':
      return 'rolled back';
    case 'failed':
      return 'failed';
    case 'stopped':
      return 'offline';
    case 'starting':
    case 'rolling-back':
      return null;
  }
}
