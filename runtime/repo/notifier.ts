// Publishes each device's desired state, retained, on `linesight/fleet/{deviceId}/desired`, so an agent
// learns of a change at once and a newly connected agent gets the current state from the broker.
import mqtt, { type MqttClient } from 'mqtt';
import { fleetTopics, type DesiredState } from '../../contracts/fleet/protocol';
import { redactText, splitUrlCredentials } from '../../lib/redact';

export interface DesiredNotifier {
  publish(state: DesiredState): Promise<void>;
  close(): Promise<void>;
}

export interface MqttNotifierOptions {
  url: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** MQTT protocol level: 4 (3.1.1, works with every broker) or 5. */
  protocolVersion?: 4 | 5;
  /** Called on connection changes and errors; the client reconnects by itself. */
  onEvent?: (event: 'connect' | 'offline' | 'error', detail?: string) => void;
  /** Called on every (re)connect: publish every device's current state so the retained copies are right. */
  onConnect?: () => void;
}

export function createMqttNotifier(opts: MqttNotifierOptions): DesiredNotifier {
  // Userinfo in the URL is taken out and passed as options; explicit options win over it.
  const fromUrl = splitUrlCredentials(opts.url);
  const username = opts.username ?? fromUrl.username;
  const password = opts.password ?? fromUrl.password;
  const client: MqttClient = mqtt.connect(fromUrl.url, {
    clientId: opts.clientId ?? `linesight-repo-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    protocolVersion: opts.protocolVersion ?? 4,
    // mqtt.js retries every reconnectPeriod; publishes made while away wait in its outgoing store.
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
  });
  client.on('connect', () => {
    opts.onEvent?.('connect');
    opts.onConnect?.();
  });
  client.on('offline', () => opts.onEvent?.('offline'));
  client.on('error', (err) => opts.onEvent?.('error', redactText(err.message)));
  return {
    async publish(state) {
      await client.publishAsync(fleetTopics.desired(state.deviceId), JSON.stringify(state), { qos: 1, retain: true });
    },
    async close() {
      await client.endAsync();
    },
  };
}
