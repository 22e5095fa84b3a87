export interface PlcReadConfig {
  name?: string;
  /**
   * The plc-endpoint config node id.
   * @minLength 1
   * @nodeType plc-endpoint
   */
  endpoint: string;
  /**
   * Tag names to read, separated by commas; empty reads every tag of the endpoint.
   * @default ""
   */
  tags?: string;
  /**
   * Poll interval in ms (OPC UA: publishing interval of the subscription); 0 reads only when a message arrives.
   * @TJS-type integer
   * @minimum 0
   * @maximum 86400000
   * @default 1000
   */
  intervalMs: number;
  /**
   * Send only the tags that changed by more than their deadband (or changed quality).
   * @default false
   */
  reportByException: boolean;
  /**
   * Modbus: unused registers allowed between two tags merged into one request.
   * @TJS-type integer
   * @minimum 0
   * @maximum 124
   * @default 0
   */
  maxGap: number;
}
