// Embedded MQTT broker (aedes 1.x, MQTT 3.1.1) for the demo and for tests on a machine without Mosquitto.
import { createServer, type Server } from 'node:net';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Aedes } = require('aedes') as { Aedes: { createBroker(opts?: Record<string, unknown>): Promise<AedesBroker> } } & Record<string, unknown>;

interface AedesBroker {
  handle: (socket: unknown) => void;
  close(cb?: () => void): void;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** The broker protocol: aedes 1.x accepts MQTT 3.1.1 only. */
  protocolVersion: 4;
  stop(): Promise<void>;
}

export async function startEmbeddedBroker(opts: { port?: number; host?: string } = {}): Promise<EmbeddedBroker> {
  const broker = await createAedes();
  const server: Server = createServer(broker.handle);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    protocolVersion: 4,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function createAedes(): Promise<AedesBroker> {
  // aedes >= 0.51 exposes Aedes.createBroker(); older builds export a factory function.
  if (Aedes && typeof Aedes.createBroker === 'function') return Aedes.createBroker();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require('aedes') as (o?: unknown) => AedesBroker;
  return factory();
}
