// How plc-read and plc-write find their endpoint's shared driver.
import type { NodeAPI } from 'node-red';
import { LinesightError, type Node } from '../kit/node-kit';
import type { PlcDriver } from './plc-driver';

/** What plc-read/plc-write find on the plc-endpoint config node. */
export interface PlcEndpointNode extends Node {
  /** Undefined when the endpoint's config is invalid. */
  driver?: PlcDriver;
  /** Shows the connection state on `user` until the returned function is called. */
  attach?(user: Node, okText?: () => string): () => void;
}

export function linkEndpoint(RED: NodeAPI, endpointId: string | undefined, user: Node, okText?: () => string): { driver: PlcDriver; detach(): void } {
  const ep = endpointId ? (RED.nodes.getNode(endpointId) as PlcEndpointNode | null) : null;
  if (!ep) throw new LinesightError('endpoint is not set or does not exist: choose a plc-endpoint', { field: 'endpoint', statusText: 'no endpoint' });
  if (!ep.driver || !ep.attach) throw new LinesightError(`endpoint "${ep.name || ep.id}" has an invalid config (see its error)`, { field: 'endpoint', statusText: 'endpoint invalid' });
  const detach = ep.attach(user, okText);
  return { driver: ep.driver, detach };
}
