/** The cloud-broker config node: one MQTT connection used by every cloud-bridge node that names it. */
export interface CloudBrokerConfig {
  name?: string;
  /**
   * Broker URL: mqtt://, mqtts://, ws:// or wss://, with port (and path for websockets).
   * @pattern ^(mqtts?|wss?)://[^\s/:]+(:\d+)?(/\S*)?$
   */
  url: string;
  /** Client id; empty = `linesight-<host>-<node id>`, stable so a persistent session finds itself again. */
  clientId?: string;
  /**
   * 5 = MQTT 5 (properties carry the message id and image metadata), 4 = MQTT 3.1.1 (a small JSON/binary envelope does).
   * @default 5
   */
  protocolVersion: 4 | 5;
  /**
   * Seconds between pings; a dead link is noticed after 1.5 x this.
   * @default 30
   * @minimum 1
   * @maximum 65535
   */
  keepalive: number;
  /**
   * Start a fresh session on each connect. The outbox makes delivery safe either way.
   * @default true
   */
  cleanStart: boolean;
  /**
   * MQTT 5 session expiry in seconds (0 = the session ends with the connection).
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   */
  sessionExpiry: number;
  /**
   * MQTT 5: most QoS 1/2 messages the broker may send before this client acknowledges them. Downlinks
   * acknowledge once a message is stored, so this window is what keeps the stream flowing meanwhile.
   * @TJS-type integer
   * @default 10000
   * @minimum 1
   * @maximum 65535
   */
  receiveMaximum: number;
  /** PEM file of the CA that signed the broker's certificate (mqtts/wss). Empty = the system CAs. */
  caFile?: string;
  /** PEM client certificate for mutual TLS. */
  certFile?: string;
  /** PEM private key of the client certificate (its passphrase goes in the credentials). */
  keyFile?: string;
  /**
   * Refuse a broker certificate that does not verify. Turn off only to diagnose.
   * @default true
   */
  rejectUnauthorized: boolean;
  /**
   * Give up one connection attempt after this many ms (then back off and retry).
   * @default 10000
   * @minimum 500
   */
  connectTimeoutMs: number;
  /**
   * Longest wait between reconnect attempts, ms (the wait doubles from 500 ms, with jitter).
   * @default 30000
   * @minimum 100
   */
  maxReconnectMs: number;
}
