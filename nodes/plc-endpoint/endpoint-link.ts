// How plc-read and plc-write find their endpoint's shared driver.
import type { NodeAPI } from 'node-red';
import type { Node } from '../kit/node-kit';
import { useConfigNode } from '../kit/config-node';
import type { PlcDriver } from './plc-driver';

/** What plc-read/plc-write find on the plc-endpoint config node. */
export interface PlcEndpointNode extends Node {
  /** Undefined when the endpoint's config is invalid. */
  driver?: PlcDriver;
  /** Shows the connection state on `user` until the returned function is called. */
  attach?(user: Node, okText?: () => string): () => void;
}

export function linkEndpoint(RED: NodeAPI, endpointId: string | undefined, user: Node, label: string, okText?: () => string): { driver: PlcDriver; detach(): void } {
  const { value: ep } = useConfigNode(RED, endpointId, {
    field: 'endpoint',
    type: 'plc-endpoint',
    label,
    take: (n) => ((n as PlcEndpointNode).driver && (n as PlcEndpointNode).attach ? (n as PlcEndpointNode) : undefined),
  });
  const detach = ep.attach!(user, okText);
  return { driver: ep.driver!, detach };
}
