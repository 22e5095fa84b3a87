// plc-endpoint: the config node that owns one PLC connection (Modbus TCP, Modbus RTU or OPC UA) and
// its tag table. Every plc-read/plc-write using it shares the connection and shows its state.
import type { NodeAPI } from 'node-red';
import path from 'node:path';
import { defineNode, LinesightError } from '../kit/node-kit';
import type { PlcEndpointNode } from './endpoint-link';
import { statusFor, type ConnectionState } from './connection-state';
import { createDriver } from './create-driver';
import type { PlcDriver } from './plc-driver';
import type { PlcEndpointConfig } from './plc-endpoint.schema';

export = function register(RED: NodeAPI) {
  defineNode<PlcEndpointConfig, { user?: string; password?: string }>(
    RED,
    { type: 'plc-endpoint', configSchema: 'PlcEndpointConfig', credentials: { user: { type: 'text' }, password: { type: 'password' } } },
    ({ node, config, label }) => {
      const ep = node as unknown as PlcEndpointNode;
      let driver: PlcDriver;
      try {
        const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
        driver = createDriver(config, node.credentials ?? {}, userDir ? { defaultPkiDir: path.join(userDir, '.linesight', 'opcua-pki') } : {});
      } catch (err) {
        throw new LinesightError(`${label}: ${(err as Error).message}`, { statusText: 'invalid config', cause: err });
      }
      ep.driver = driver;
      // Every plc-read/plc-write using the endpoint listens to its state: no listener limit.
      driver.setMaxListeners(0);
      let lastLogged = '';
      driver.on('state', (s: ConnectionState) => {
        // Log each distinct fault once, not every retry.
        if (s.phase === 'disconnected' && s.reason && s.reason !== lastLogged) {
          lastLogged = s.reason;
          node.warn(`${label}: ${s.reason}; reconnecting`);
        } else if (s.phase === 'connected' && lastLogged) {
          lastLogged = '';
          node.log(`${label}: connected`);
        }
      });
      ep.attach = (user, okText) => {
        const show = (s: ConnectionState) => user.status(statusFor(s, okText?.() ?? 'connected'));
        show(driver.state);
        driver.on('state', show);
        driver.start();
        return () => driver.off('state', show);
      };
      return {
        async close() {
          await driver.close();
        },
      };
    },
  );
};
