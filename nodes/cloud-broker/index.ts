// cloud-broker's public face: how cloud-bridge and cloud-bridge-in use the shared broker connection.
export { useBroker } from './use-broker';
export type { InboundMessage, LinkState } from './broker-connection';
export { filterProblem } from './topic-filter';
