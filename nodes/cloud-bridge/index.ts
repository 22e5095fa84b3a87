// cloud-bridge's public face: the wire format on the uplink (read back by cloud-bridge-in) and the
// link status both bridge nodes show.
export { arrivedBody, fromWire, rememberBody, toWire, type Decoded, type Kind, type OutboxMeta } from './wire-format';
export { RateMeter, linkStatus } from './status';
