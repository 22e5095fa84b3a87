/** cloud-bridge (uplink): every message goes to a disk outbox, then to the broker; removed on acknowledgement. */
export interface CloudBridgeConfig {
  name?: string;
  /** Id of the cloud-broker config node. @minLength 1 @nodeType cloud-broker */
  broker: string;
  /**
   * Topic per message; {site}, {line}, {kind} (inspection, image, tags, actions, status), {device}, {cameraId}.
   * @default "linesight/{site}/{line}/{kind}"
   */
  topicTemplate: string;
  /** {site} when neither the payload nor msg.site gives one. */
  site?: string;
  /** {line} when neither the payload nor msg.line gives one. */
  line?: string;
  /**
   * 1 = at least once (PUBACK), 2 = exactly once between this node and the broker (PUBCOMP).
   * @default 1
   */
  qos: 1 | 2;
  /**
   * An inspection's image: its own binary message (separate), base64 inside the JSON (inline), or not sent (drop).
   * @default "separate"
   */
  imageMode: 'separate' | 'inline' | 'drop';
  /** Outbox file; empty = `<userDir>/linesight/outbox/<node id>.db`. */
  outboxFile?: string;
  /**
   * Outbox bound in messages.
   * @default 1000000
   * @minimum 1
   */
  maxMessages: number;
  /**
   * Outbox bound in megabytes of payload.
   * @default 1024
   * @minimum 1
   */
  maxMegabytes: number;
  /**
   * When the outbox is full: drop the oldest (counted and reported) or refuse the new message with an error.
   * @default "drop-oldest"
   */
  overflow: 'drop-oldest' | 'refuse-newest';
  /**
   * 0 = fsync every message before it is accepted; N = group commit every N ms (a power cut loses at most the last N ms).
   * @default 10
   * @minimum 0
   * @maximum 10000
   */
  syncEveryMs: number;
  /**
   * Most messages published and not yet acknowledged (and at most 16 MiB of them, so images do not pile up).
   * @default 1000
   * @minimum 1
   * @maximum 65000
   */
  window: number;
}
