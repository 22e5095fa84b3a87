// plc-endpoint's public face: how plc-read and plc-write reach an endpoint's driver, and the tag codec
// and tag table the PLC simulator shares with the endpoint (one definition of a tag's registers).
export { linkEndpoint } from './endpoint-link';
export type { ConnectionState } from './connection-state';
export { writesFromPayload, WriteError } from './plc-driver';
export { encodeRegisters, decodeRegisters, toRaw, type CodecTag } from './tag-codec';
export { TagTable, type ModbusTag } from './tag-table';
export type { PlcTagConfig } from './plc-endpoint.schema';
