// camera-intake config: the one source of truth for the editor defaults and runtime validation.
export interface CameraIntakeConfig {
  name?: string;
  /**
   * Address to listen on; 0.0.0.0 accepts cameras from the network.
   * @default "0.0.0.0"
   * @minLength 1
   */
  host: string;
  /**
   * TCP port of the gRPC server (0 = any free port, for tests).
   * @TJS-type integer
   * @minimum 0
   * @maximum 65535
   * @default 50051
   */
  port: number;
  /**
   * Site written into every Inspection.
   * @minLength 1
   * @default "plant1"
   */
  site: string;
  /**
   * Line used when the camera leaves line_id empty.
   * @minLength 1
   * @default "line1"
   */
  line: string;
  /**
   * Transport security: none (plaintext), tls (server certificate), mtls (cameras must present a
   * certificate signed by the client CA).
   * @default "none"
   */
  tls: 'none' | 'tls' | 'mtls';
  /** PEM file of the server certificate chain (instead of pasting it into the credentials). */
  certFile?: string;
  /** PEM file of the server private key (instead of the credentials). */
  keyFile?: string;
  /** PEM file of the CA that signs camera certificates (mtls). */
  caFile?: string;
  /**
   * Largest accepted gRPC message in MiB (image included); bigger ones are answered RESOURCE_EXHAUSTED.
   * @minimum 0.0625
   * @maximum 512
   * @default 16
   */
  maxMessageMiB: number;
  /**
   * HTTP/2 receive window in MiB, per call and per connection: how much a camera may send before the
   * intake acknowledges it. Node's default (64 KiB) makes a 2 MP image cross in a dozen round trips,
   * which collapses under load; 4 MiB lets one image travel in one go.
   * @minimum 0.0625
   * @maximum 1024
   * @default 4
   */
  receiveWindowMiB: number;
  /**
   * Most camera connections open at once; beyond it new connections are closed before any TLS or HTTP/2
   * work (status shows how many). Each camera usually keeps one.
   * @TJS-type integer
   * @minimum 1
   * @maximum 10000
   * @default 64
   */
  maxConnections: number;
  /**
   * Most calls in progress at once on one connection (HTTP/2 max concurrent streams); a camera that opens
   * more is refused the extra ones (REFUSED_STREAM) and its gRPC library queues them.
   * @TJS-type integer
   * @minimum 1
   * @maximum 1000
   * @default 16
   */
  maxCallsPerConnection: number;
  /**
   * A connection with no call in progress for this many seconds is closed (a camera reconnects on its next
   * inspection), so idle or abandoned connections do not hold places under *Max connections*.
   * @minimum 1
   * @maximum 86400
   * @default 300
   */
  idleTimeoutS: number;
  /**
   * Most inspections that may wait for the flow at once; beyond it new ones are answered RESOURCE_EXHAUSTED.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100000
   * @default 64
   */
  maxWaiting: number;
  /**
   * When an inspection stops counting as waiting: `done` when every node wired to this one has
   * completed it (calls done()), `send` as soon as it is sent.
   * @default "done"
   */
  releaseOn: 'done' | 'send';
  /**
   * A waiting inspection whose downstream nodes never complete it is released after this many seconds.
   * @minimum 1
   * @maximum 3600
   * @default 60
   */
  holdTimeoutS: number;
}

/** Node-RED credentials of camera-intake: never in the flow file, never logged. */
export interface CameraIntakeCredentials {
  /** Bearer token cameras must send in `authorization` metadata; empty = no token check. */
  token?: string;
  /** PEM server certificate chain. */
  tlsCert?: string;
  /** PEM server private key. */
  tlsKey?: string;
  /** PEM CA for camera certificates (mtls). */
  tlsCa?: string;
}
