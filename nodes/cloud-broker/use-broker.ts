// How a cloud-bridge node finds the connection of the cloud-broker config node it names.
import type { NodeAPI } from 'node-red';
import { useConfigNode } from '../kit/config-node';
import type { BrokerConnection } from './broker-connection';

/** What the cloud-broker config node exposes to its users. */
export interface BrokerHandle {
  connection?: BrokerConnection;
  configError?: Error;
}

export function useBroker(RED: NodeAPI, id: string | undefined, label: string): BrokerConnection {
  const handle = (n: object) => (n as { linesight?: BrokerHandle }).linesight;
  return useConfigNode(RED, id, {
    field: 'broker',
    type: 'cloud-broker',
    label,
    take: (n) => handle(n)?.connection,
    why: (n) => handle(n)?.configError?.message,
  }).value;
}
