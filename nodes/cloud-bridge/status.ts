// Status text shared by cloud-bridge and cloud-bridge-in: link state, backlog, rate, drops.
import type { NodeStatus } from 'node-red';
import type { LinkState } from '../cloud-broker';
import { fmt, status } from '../kit/node-kit';
import { systemClock, type Clock } from '../../lib/clock';

/** Messages per second from a growing counter, over the last few seconds. */
export class RateMeter {
  private samples: Array<{ t: number; n: number }> = [];
  constructor(private readonly spanMs = 5000, private readonly clock: Pick<Clock, 'now'> = systemClock) {}
  perSecond(count: number): number {
    const t = this.clock.now();
    this.samples.push({ t, n: count });
    while (this.samples.length > 2 && t - this.samples[0].t > this.spanMs) this.samples.shift();
    const first = this.samples[0];
    const dt = t - first.t;
    return dt > 0 ? ((count - first.n) * 1000) / dt : 0;
  }
}

export function linkStatus(link: LinkState, backlog: number, ratePerSec: number, dropped: number): NodeStatus {
  const tail = `${backlog > 0 ? ` · backlog ${fmt(backlog)}` : ''}${ratePerSec >= 1 ? ` · ${fmt(ratePerSec)}/s` : ''}${dropped > 0 ? ` · dropped ${fmt(dropped)}` : ''}`;
  switch (link.state) {
    case 'connected':
      return backlog > 0 ? status.busy(`connected${tail}`) : status.ok(`connected${tail}`);
    case 'connecting':
    case 'idle':
      return status.connecting(`connecting${tail}`);
    case 'disconnected':
      if (link.cause === 'auth' || link.cause === 'tls' || link.cause === 'protocol') return status.failed(`${shortReason(link)}${tail}`);
      return status.disconnected(`disconnected${tail}`);
    default:
      return status.disconnected(`closed${tail}`);
  }
}

function shortReason(l: LinkState): string {
  if (l.cause === 'auth') return 'login refused';
  if (l.cause === 'tls') return 'TLS certificate rejected';
  return 'wrong MQTT version';
}
