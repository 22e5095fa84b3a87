// The deploy gate a deployment may carry: apply only inside a local-time window, and only while the
// line is idle (a global context key that the running flow keeps up to date, read through the child's
// admin API). Pure: the clock and the tag reader are passed in.
import type { DeployGate } from '../../contracts/fleet/protocol';

export interface GateVerdict {
  open: boolean;
  /** Why the deploy is held; empty when open. */
  reasons: string[];
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(hhmm: string, field: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new Error(`gate.window.${field} must be "HH:MM" (24 h), got ${JSON.stringify(hhmm)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Minutes since local midnight in `timezone` (the device's own zone when absent). */
export function localMinutes(now: Date, timezone?: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const h = Number(parts.find((p) => p.type === 'hour')?.value);
  const m = Number(parts.find((p) => p.type === 'minute')?.value);
  return h * 60 + m;
}

/** Inside [from, to); a window with from > to wraps past midnight; from == to means all day. */
export function insideWindow(now: Date, window: { from: string; to: string; timezone?: string }): boolean {
  const from = minutes(window.from, 'from');
  const to = minutes(window.to, 'to');
  const t = localMinutes(now, window.timezone);
  if (from === to) return true;
  return from < to ? t >= from && t < to : t >= from || t < to;
}

/** True when the value read from the line equals the configured idle value (numbers and strings compare by value). */
export function isIdle(value: unknown, idleValue: number | boolean | string): boolean {
  if (value === undefined || value === null) return false;
  if (value === idleValue) return true;
  if (typeof idleValue === 'number') return (typeof value === 'number' || typeof value === 'string') && value !== '' && Number(value) === idleValue;
  if (typeof idleValue === 'boolean') return String(value) === String(idleValue);
  return String(value) === idleValue;
}

export interface GateInputs {
  now: Date;
  /** Reads the line-state key; undefined when the flow has not set it. */
  readLineState(tag: string): Promise<unknown>;
  /** With no flow running nothing can read the line, so the line-state condition cannot hold a deploy. */
  flowRunning: boolean;
}

export async function evaluateGate(gate: DeployGate | undefined, inputs: GateInputs): Promise<GateVerdict> {
  const reasons: string[] = [];
  if (!gate) return { open: true, reasons };
  if (gate.window && !insideWindow(inputs.now, gate.window)) {
    reasons.push(`outside the deploy window ${gate.window.from}-${gate.window.to}${gate.window.timezone ? ` (${gate.window.timezone})` : ' (device local time)'}`);
  }
  if (gate.lineState && inputs.flowRunning) {
    const { tag, idleValue } = gate.lineState;
    let value: unknown;
    try {
      value = await inputs.readLineState(tag);
    } catch (err) {
      reasons.push(`line state ${tag} could not be read: ${(err as Error).message}`);
      return { open: false, reasons };
    }
    // Nothing in Linesight sets the key by itself: say which key and what is expected to set it.
    if (value === undefined) {
      reasons.push(
        `line-state gate key "${tag}" has never been set (idle is ${JSON.stringify(idleValue)}); the running flow sets it, e.g. plc-read -> change node (set global.${tag} to msg.payload)`,
      );
    }
    else if (!isIdle(value, idleValue)) reasons.push(`line is not idle: ${tag} = ${JSON.stringify(value)}, idle is ${JSON.stringify(idleValue)}`);
  }
  return { open: reasons.length === 0, reasons };
}
