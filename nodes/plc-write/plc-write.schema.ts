export interface PlcWriteConfig {
  name?: string;
  /**
   * The plc-endpoint config node id.
   * @minLength 1
   * @nodeType plc-endpoint
   */
  endpoint: string;
  /**
   * Read every written tag back and fail when it differs.
   * @default false
   */
  verify: boolean;
  /**
   * Longest time for the whole message's writes (each request also has the endpoint's own timeout).
   * @TJS-type integer
   * @minimum 10
   * @maximum 60000
   * @default 2000
   */
  timeoutMs: number;
}
