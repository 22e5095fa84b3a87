// The agent's one MQTT connection to the fleet broker (desired state in, device state out). MQTT 3.1.1 so
// it works with any broker; reconnects with backoff and jitter instead of mqtt.js's fixed period.
// Credentials come from the URL's userinfo or from options; the URL is only ever logged without them.
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../../lib/backoff';
import { redactText, redactUrl, splitUrlCredentials } from '../../lib/redact';

export interface FleetBrokerLogin {
  /** Broker user name; a production broker's ACL expects the device id (see docker/mosquitto/acl). */
  username?: string;
  password?: string;
}

export function connectFleetBroker(url: string, clientId: string, log: (line: string) => void, login: FleetBrokerLogin = {}): MqttClient {
  const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  const fromUrl = splitUrlCredentials(url);
  const username = login.username ?? fromUrl.username;
  const password = login.password ?? fromUrl.password;
  const client = mqtt.connect(fromUrl.url, {
    clientId,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  });
  const where = `${redactUrl(fromUrl.url)}${username ? ` as ${username}` : ''}`;
  let timer: NodeJS.Timeout | null = null;
  let wasUp = false;
  client.on('connect', () => {
    backoff.reset();
    wasUp = true;
    log(`[agent] fleet broker connected (${where})`);
  });
  client.on('error', (err) => log(`[agent] fleet broker: ${redactText(err.message)} (${where})`));
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
