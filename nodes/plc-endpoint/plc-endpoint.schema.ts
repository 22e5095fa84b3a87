// Config of the plc-endpoint config node and its tag table: the one source of truth for the editor
// defaults, the runtime validation and the help text.

export type PlcProtocol = 'modbus-tcp' | 'modbus-rtu' | 'opcua';
export type PlcDataType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float32' | 'float64' | 'string';
/** Byte order inside a register pair: A is the most significant byte of the value. */
export type PlcByteOrder = 'ABCD' | 'BADC' | 'CDAB' | 'DCBA';

/** One row of the tag table. */
export interface PlcTagConfig {
  /**
   * Name used in messages (`msg.values.<name>`, `{tag, value}` writes).
   * @minLength 1
   * @pattern ^[^,;\s][^,;]*$
   */
  name: string;
  /**
   * Modbus: `hr:0`, `ir:10`, `c:5`, `di:3`, `hr:7.3` (bit 3 of holding register 7), or the one-based
   * Modicon form `40001`, `30001`, `00001`, `10001`, `40008.3`. OPC UA: a NodeId such as `ns=2;s=Line1.Speed`.
   * @minLength 1
   */
  address: string;
  /** Data type; for OPC UA leave empty to take it from the server. */
  type?: PlcDataType;
  /**
   * Byte/word order of multi-byte Modbus values (see help).
   * @default "ABCD"
   */
  order?: PlcByteOrder;
  /**
   * Characters of a `string` tag (two per register).
   * @TJS-type integer
   * @minimum 1
   * @maximum 240
   */
  length?: number;
  /**
   * Engineering value = raw * scale + offset.
   * @default 1
   */
  scale?: number;
  /** @default 0 */
  offset?: number;
  /** Engineering unit, e.g. `m/min`. */
  unit?: string;
  /**
   * Report-by-exception threshold in engineering units (0 = any change).
   * @minimum 0
   * @default 0
   */
  deadband?: number;
  /** @default false */
  writable?: boolean;
  /** Lowest engineering value a write may set. */
  min?: number;
  /** Highest engineering value a write may set. */
  max?: number;
}

export interface PlcEndpointConfig {
  name?: string;
  /** @default "modbus-tcp" */
  protocol: PlcProtocol;
  /** Modbus TCP host. @default "127.0.0.1" */
  host: string;
  /**
   * Modbus TCP port.
   * @TJS-type integer
   * @minimum 1
   * @maximum 65535
   * @default 502
   */
  port: number;
  /**
   * Modbus unit (slave) id.
   * @TJS-type integer
   * @minimum 0
   * @maximum 255
   * @default 1
   */
  unitId: number;
  /**
   * Per-request timeout in ms.
   * @TJS-type integer
   * @minimum 10
   * @maximum 60000
   * @default 1000
   */
  timeoutMs: number;
  /**
   * Modbus TCP requests in flight at once (serial Modbus always uses 1).
   * @TJS-type integer
   * @minimum 1
   * @maximum 32
   * @default 4
   */
  maxInFlight: number;
  /** Serial device for Modbus RTU, e.g. `/dev/ttyUSB0`. @default "" */
  serialPath?: string;
  /**
   * @TJS-type integer
   * @minimum 300
   * @maximum 921600
   * @default 9600
   */
  baudRate: number;
  /** @default "none" */
  parity: 'none' | 'even' | 'odd';
  /**
   * @TJS-type integer
   * @minimum 7
   * @maximum 8
   * @default 8
   */
  dataBits: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 2
   * @default 1
   */
  stopBits: number;
  /** OPC UA endpoint URL. @default "opc.tcp://127.0.0.1:4840" */
  endpointUrl: string;
  /** @default "None" */
  securityMode: 'None' | 'Sign' | 'SignAndEncrypt';
  /** @default "None" */
  securityPolicy: 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';
  /**
   * Folder of this endpoint's OPC UA certificate store: own/ (the client certificate, created on first
   * use), trusted/ and rejected/ (server certificates). Empty: <Node-RED user dir>/.linesight/opcua-pki.
   */
  pkiDir?: string;
  /**
   * Accept a server certificate not yet in trusted/ and record it there (trust on first use). Off: only
   * servers whose certificate an administrator put into trusted/certs; others land in rejected/.
   * @default true
   */
  trustNewServers: boolean;
  /** @default "anonymous" */
  auth: 'anonymous' | 'username' | 'certificate';
  /** Client certificate (PEM/DER file) for `certificate` auth. */
  certificateFile?: string;
  /** Private key (PEM file) for `certificate` auth. */
  privateKeyFile?: string;
  /**
   * First reconnect delay in ms.
   * @TJS-type integer
   * @minimum 10
   * @default 500
   */
  reconnectMinMs: number;
  /**
   * Longest reconnect delay in ms.
   * @TJS-type integer
   * @minimum 100
   * @default 10000
   */
  reconnectMaxMs: number;
  /** @default [] */
  tags: PlcTagConfig[];
}
