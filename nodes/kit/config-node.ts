// The one way a node finds the config node it names (a PLC endpoint, a broker, a database): a missing or
// not-running config node is a config error that names the field, so the user knows which picker to fix.
import type { Node, NodeAPI } from 'node-red';
import { LinesightError } from '../../contracts/errors';

export interface ConfigNodeUse<T> {
  /** The config property holding the id, e.g. "broker". */
  field: string;
  /** The config node's type, e.g. "cloud-broker". */
  type: string;
  /** `type "name"` of the node looking, for messages. */
  label: string;
  /** What the node needs from the config node; undefined when the config node is not running. */
  take(configNode: Node & Record<string, unknown>): T | undefined;
  /** Why the config node is not running, when it knows. */
  why?(configNode: Node & Record<string, unknown>): string | undefined;
}

export function useConfigNode<T>(RED: NodeAPI, id: string | undefined, use: ConfigNodeUse<T>): { configNode: Node; value: T } {
  const configNode = id ? (RED.nodes.getNode(id) as (Node & Record<string, unknown>) | null) : null;
  if (!configNode) {
    throw new LinesightError(`${use.label}: ${use.field} is not set or names no ${use.type} config node${id ? ` ("${id}" not found)` : ''}: choose one`, {
      field: use.field,
      statusText: `no ${use.field}`,
    });
  }
  const value = use.take(configNode);
  if (value === undefined) {
    const name = configNode.name || configNode.id;
    throw new LinesightError(`${use.label}: ${use.field} "${name}" is not running (invalid config): its ${use.type} config is invalid: ${use.why?.(configNode) ?? 'see its error in the log'}`, {
      field: use.field,
      statusText: `${use.field} invalid`,
    });
  }
  return { configNode, value };
}
