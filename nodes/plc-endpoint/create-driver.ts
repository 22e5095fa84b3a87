// Builds the protocol driver for an endpoint config. node-opcua is large, so it is only loaded for
// OPC UA endpoints.
import os from 'node:os';
import path from 'node:path';
import type { PlcEndpointConfig } from './plc-endpoint.schema';
import { ModbusDriver } from './modbus-driver';
import type { PlcDriver } from './plc-driver';
import { redactUrl } from '../../lib/redact';
import { TagTable } from './tag-table';

export interface EndpointCredentials {
  user?: string;
  password?: string;
}

export function deviceName(c: PlcEndpointConfig): string {
  if (c.name) return c.name;
  if (c.protocol === 'modbus-tcp') return `${c.host}:${c.port}`;
  if (c.protocol === 'modbus-rtu') return `${c.serialPath}#${c.unitId}`;
  // The device name travels in every TagSample and into history: never with a password in it.
  return redactUrl(c.endpointUrl);
}

export interface DriverContext {
  /** OPC UA certificate store when the endpoint names none. */
  defaultPkiDir?: string;
}

export function createDriver(c: PlcEndpointConfig, creds: EndpointCredentials = {}, ctx: DriverContext = {}): PlcDriver {
  const table = new TagTable(c.protocol, c.tags ?? []);
  const device = deviceName(c);
  if (c.protocol === 'opcua') {
    if (c.auth === 'username' && !creds.user) throw new Error('auth is "username" but no user name is set in the credentials');
    if (c.auth === 'certificate' && (!c.certificateFile || !c.privateKeyFile)) throw new Error('auth is "certificate" but certificateFile or privateKeyFile is empty');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OpcuaDriver } = require('./opcua-driver') as typeof import('./opcua-driver');
    return new OpcuaDriver(table, { device, config: c, credentials: creds, defaultPkiDir: ctx.defaultPkiDir ?? path.join(os.homedir(), '.linesight', 'opcua-pki') });
  }
  if (c.protocol === 'modbus-rtu' && !c.serialPath) throw new Error('serialPath is required for Modbus RTU');
  return new ModbusDriver(table, {
    device,
    transport: c.protocol === 'modbus-tcp' ? 'tcp' : 'rtu',
    host: c.host,
    port: c.port,
    serialPath: c.serialPath,
    baudRate: c.baudRate,
    parity: c.parity,
    dataBits: c.dataBits,
    stopBits: c.stopBits,
    unitId: c.unitId,
    timeoutMs: c.timeoutMs,
    maxInFlight: c.maxInFlight,
    reconnectMinMs: c.reconnectMinMs,
    reconnectMaxMs: c.reconnectMaxMs,
  });
}
