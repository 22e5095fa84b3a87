// The agent's one MQTT connection to the fleet broker (desired state in, device state out). MQTT 3.1.1 so
// it works with any broker; reconnects with backoff and jitter instead of mqtt.js's fixed period.
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../../nodes/shared/backoff';

export function connectFleetBroker(url: string, clientId: string, log: (line: string) => void): MqttClient {
  const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  const client = mqtt.connect(url, { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
  let timer: NodeJS.Timeout | null = null;
  let wasUp = false;
  client.on('connect', () => {
    backoff.reset();
    wasUp = true;
    log(`[agent] fleet broker connected`);
  });
  client.on('error', (err) => log(`[agent] fleet broker: ${err.message}`));
  client.on('close', () => {
    if (client.disconnecting || client.disconnected || timer) return;
    if (wasUp) log('[agent] fleet broker connection lost; retrying with backoff');
    wasUp = false;
    const delay = backoff.next();
    timer = setTimeout(() => {
      timer = null;
      if (!client.disconnecting) client.reconnect();
    }, delay);
  });
  client.on('end', () => {
    if (timer) clearTimeout(timer);
    timer = null;
  });
  return client;
}
