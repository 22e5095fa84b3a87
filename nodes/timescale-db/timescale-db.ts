// timescale-db: the config node that owns one PostgreSQL/TimescaleDB connection pool, shared by every
// timescale-sink that points at it. The password lives in Node-RED credentials.
import type { NodeAPI } from 'node-red';
import { defineNode } from '../kit/node-kit';
import { Database } from './connection';
import type { TimescaleDbConfig } from './timescale-db.schema';

export = function register(RED: NodeAPI) {
  defineNode<TimescaleDbConfig, { password?: string }>(
    RED,
    { type: 'timescale-db', configSchema: 'TimescaleDbConfig', credentials: { password: { type: 'password' } } },
    ({ node, config, label }) => {
      const db = new Database(config, { password: node.credentials?.password });
      db.onIdleError = (err) => node.log(`${label}: idle connection lost (${err.message}); it will be replaced`);
      (node as unknown as { database: Database }).database = db;
      return {
        async close() {
          await db.close();
        },
      };
    },
  );
};
