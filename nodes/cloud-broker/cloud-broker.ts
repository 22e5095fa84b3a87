// cloud-broker: the config node that owns one MQTT connection (URL, client id, credentials, TLS, MQTT
// version, keepalive, session) and shares it with every cloud-bridge / cloud-bridge-in node using it.
import fs from 'node:fs';
import os from 'node:os';
import type { NodeAPI } from 'node-red';
import { defineNode, LinesightError } from '../kit/node-kit';
import { BrokerConnection } from './broker-connection';
import type { CloudBrokerConfig } from './cloud-broker.schema';
import type { BrokerHandle } from './use-broker';

interface Credentials {
  user?: string;
  password?: string;
  passphrase?: string;
}

function readPem(file: string | undefined, field: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new LinesightError(`${field} "${file}" cannot be read: ${(err as Error).message}`, { field, statusText: `cannot read ${field}` });
  }
}

export = function register(RED: NodeAPI) {
  defineNode<CloudBrokerConfig, Credentials>(
    RED,
    { type: 'cloud-broker', configSchema: 'CloudBrokerConfig', credentials: { user: { type: 'text' }, password: { type: 'password' }, passphrase: { type: 'password' } } },
    ({ node, config }) => {
      const handle: BrokerHandle = {};
      (node as unknown as { linesight: BrokerHandle }).linesight = handle;
      try {
        const cred = node.credentials ?? {};
        const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '');
        handle.connection = new BrokerConnection({
          url: config.url,
          clientId: config.clientId || `linesight-${host}-${node.id}`,
          protocolVersion: Number(config.protocolVersion) === 4 ? 4 : 5,
          keepalive: config.keepalive,
          cleanStart: config.cleanStart,
          sessionExpiry: config.sessionExpiry,
          username: cred.user || undefined,
          password: cred.password || undefined,
          ca: readPem(config.caFile, 'caFile'),
          cert: readPem(config.certFile, 'certFile'),
          key: readPem(config.keyFile, 'keyFile'),
          passphrase: cred.passphrase || undefined,
          rejectUnauthorized: config.rejectUnauthorized,
          connectTimeoutMs: config.connectTimeoutMs,
          receiveMaximum: config.receiveMaximum,
          backoff: { initialMs: Math.min(500, config.maxReconnectMs), maxMs: config.maxReconnectMs },
        });
      } catch (err) {
        handle.configError = err as Error;
        throw err;
      }
      return {
        async close() {
          await handle.connection?.close();
        },
      };
    },
  );
};
