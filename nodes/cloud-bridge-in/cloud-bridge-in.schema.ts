/** cloud-bridge-in (downlink): subscribes, decodes back into the contracts, drops duplicates. */
export interface CloudBridgeInConfig {
  name?: string;
  /** Id of the cloud-broker config node. @minLength 1 @nodeType cloud-broker */
  broker: string;
  /**
   * Topic filters, one per line or comma-separated.
   * @default "linesight/+/+/+"
   */
  topics: string;
  /**
   * The senders' topic template: {site} and {line} are read back from each topic into msg.site / msg.line.
   * @default "linesight/{site}/{line}/{kind}"
   */
  topicTemplate: string;
  /**
   * Shared subscription group: several workers with the same group split the stream (`$share/<group>/<filter>`). Empty = every worker gets every message.
   * @pattern ^[^/+#$\s]*$
   */
  shareGroup?: string;
  /**
   * @default 1
   */
  qos: 0 | 1 | 2;
  /**
   * When a QoS 1 message is acknowledged to the broker: `done` = once every node wired to the output has
   * finished with it (timescale-sink: rows committed or spooled; cloud-bridge: in its outbox), so a worker
   * killed meanwhile gets it again; `receipt` = at once (a message in flight inside the flow is lost then).
   * @default "done"
   */
  ackAfter: 'done' | 'receipt';
  /**
   * How many recent message ids are remembered to drop duplicates.
   * @default 100000
   * @minimum 1
   */
  dedupeWindow: number;
  /**
   * How long an inspection waits for its separately sent image (and the other way round), ms.
   * @default 5000
   * @minimum 0
   */
  joinImagesMs: number;
}
