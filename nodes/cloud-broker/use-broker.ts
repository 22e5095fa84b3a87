// How a cloud-bridge node finds the connection of the cloud-broker config node it names.
import type { NodeAPI } from 'node-red';
import { LinesightError } from '../kit/node-kit';
import type { BrokerConnection } from './broker-connection';

/** What the cloud-broker config node exposes to its users. */
export interface BrokerHandle {
  connection?: BrokerConnection;
  configError?: Error;
}

export function useBroker(RED: NodeAPI, id: string | undefined, label: string): BrokerConnection {
  const n = id ? (RED.nodes.getNode(id) as unknown as { linesight?: BrokerHandle } | null) : null;
  if (!n) throw new LinesightError(`${label}: no cloud-broker config node selected (broker "${id ?? ''}" not found)`, { field: 'broker', statusText: 'no broker' });
  if (!n.linesight?.connection) {
    throw new LinesightError(`${label}: its cloud-broker config is invalid: ${n.linesight?.configError?.message ?? 'see its error in the log'}`, { field: 'broker', statusText: 'broker config invalid' });
  }
  return n.linesight.connection;
}
