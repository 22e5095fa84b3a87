// The documents the flow repository and the edge agents exchange: what a device should run (DesiredState),
// a published version (VersionDocument) and what a device reports (DeviceStatusReport). The JSON Schemas
// generated from these types are what the repository validates a report with and what its OpenAPI
// document shows, so the agent, the repository and the API description cannot disagree.
// Every string and list a device sends has a bound here (the repository refuses a report outside them).

export type DeviceState = 'pending' | 'downloading' | 'verifying' | 'running' | 'failed' | 'rolled back' | 'offline' | 'drifted' | 'waiting';

/** Apply only between local times `from` and `to` (wraps past midnight when from > to). */
export interface DeployWindow {
  /** @pattern ^([01]\d|2[0-3]):[0-5]\d$ */
  from: string;
  /** @pattern ^([01]\d|2[0-3]):[0-5]\d$ */
  to: string;
  /**
   * IANA time zone, e.g. `Europe/Berlin`; the device's local zone when absent.
   * @maxLength 64
   */
  timezone?: string;
}

/** Apply only while the PLC tag `tag` (read by the device through its flow) equals `idleValue`. */
export interface LineStateGate {
  /**
   * @minLength 1
   * @maxLength 256
   */
  tag: string;
  /** @maxLength 256 */
  idleValue: number | boolean | string;
}

/** When a deployment may be applied; checked by the device itself. */
export interface DeployGate {
  /** Apply only inside [from, to) local time. */
  window?: DeployWindow;
  lineState?: LineStateGate;
}

/** A model version a desired state names: the artifact's hash and size, and the repository's signature. */
export interface DesiredModel {
  /** @pattern ^[a-z0-9][a-z0-9._-]{0,62}$ */
  name: string;
  /** @maxLength 128 */
  version: string;
  /** @pattern ^[0-9a-f]{64}$ */
  sha256: string;
  /**
   * @TJS-type integer
   * @minimum 0
   */
  bytes: number;
  /** The repository's signature over the model version document (signModelVersion). */
  signature: string;
  /** Route (relative to the API root) of the ModelVersionDocument; the artifact is at `${href}/artifact`. */
  href: string;
}

/** What a model version's signature covers: everything a device installs and shows. */
export interface SignedModelFields {
  name: string;
  version: string;
  format: string;
  /** sha256 (hex) of the artifact's bytes. */
  sha256: string;
  bytes: number;
  metadata: ModelMetadata;
}

/**
 * Metadata of a model version (what `linesight models publish --metadata model.json` sends). Fields not named
 * here are kept as given.
 */
export interface ModelMetadata {
  /** Input size the model expects, e.g. `{ "width": 640, "height": 640, "channels": 3 }`. */
  input?: { width?: number; height?: number; channels?: number; layout?: string; [k: string]: unknown };
  /** Class names by output index. */
  classes?: string[];
  /**
   * Evaluation figures, flat (`{ "precision": 0.91, "recall": 0.88 }`) or grouped as the project's training
   * writes them (`heldOut.overall.precision`, per-class tables, timings).
   */
  metrics?: { [name: string]: unknown };
  /** The dataset it was trained on (name, query, hash…). */
  dataset?: unknown;
  changelog?: string;
  [k: string]: unknown;
}

/** GET /api/v1/models/{name}/versions/{version} */
export interface ModelVersionDocument extends SignedModelFields {
  /** Ed25519 signature (base64) by the repository key over canonicalJson of the SignedModelFields. */
  signature: string;
  changelog?: string;
  publisher: string;
  createdAt: string;
}

/** A model a device runs, as its status report names it. */
export interface RunningModel {
  /** @maxLength 64 */
  name: string;
  /** @maxLength 128 */
  version: string;
}

/** Remote editing as a device's desired state carries it (signed with the rest). */
export interface RemoteEditingRequest {
  enabled: true;
  /**
   * The agent closes its tunnel after this many minutes without an editor request.
   * @minimum 0.01
   * @maximum 1440
   */
  idleMinutes: number;
  /**
   * When it was turned on (ms since the epoch): a tunnel closed for idleness stays closed until the next turn-on.
   * @TJS-type integer
   */
  since: number;
}

/** The version a desired state names. */
export interface DesiredVersion {
  template: string;
  version: string;
  /** @pattern ^[0-9a-f]{64}$ */
  sha256: string;
  /** The repository's signature over the flow itself (verifyFlow). */
  signature: string;
  /** Route (relative to the API root) that returns the VersionDocument; a device token may read it. */
  href: string;
}

/**
 * What a device should run. Served at GET /api/v1/devices/{id}/desired (with ETag) and published retained
 * on `linesight/fleet/{deviceId}/desired`. `version` is null when nothing is assigned.
 *
 * The whole document is signed by the repository key (`signature`, see signDesiredState): the broker is a
 * transport, never an authority, so a device acts only on a state whose every field the repository vouched for.
 */
export interface DesiredState {
  deviceId: string;
  deploymentId: string | null;
  version: DesiredVersion | null;
  /** The device's parameter values, filled into the flow as environment variables. */
  parameters: { [name: string]: string | number | boolean };
  /** The deploy gate, window included. */
  gate?: DeployGate;
  /**
   * Grows with every change of this device's desired state (never reused, even across a database restore):
   * an agent refuses a generation lower than the highest it accepted, so an old genuine state cannot be replayed.
   * @TJS-type integer
   * @minimum 0
   */
  generation: number;
  /**
   * Model artifacts the device should run beside the flow (from the template version's declared ranges,
   * resolved at deploy, or the deployment's pins); absent when none. Signed with the rest.
   * @maxItems 32
   */
  models?: DesiredModel[];
  /** Present while remote editing is on: the agent holds its editor tunnel to the repository open. */
  remoteEditing?: RemoteEditingRequest;
  /** Ed25519 signature (base64) by the repository key over canonicalJson of every other field. */
  signature?: string;
}

/**
 * A desired state as the repository serves and publishes it: signed whole. `signature` is Ed25519 (base64)
 * by the repository key (GET /keys/public) over the canonical JSON (keys sorted, no whitespace) of every
 * other field. An agent refuses it unsigned, badly signed, for another device, or with a generation lower
 * than one it accepted.
 */
export interface SignedDesiredState extends DesiredState {
  signature: string;
}

/** GET /api/v1/templates/{slug}/versions/{version} */
export interface VersionDocument {
  template: string;
  version: string;
  flow: unknown[];
  /** sha256 (hex) of the flow's canonical JSON. */
  sha256: string;
  /** Ed25519 signature (base64) by the repository key over the flow's canonical JSON. */
  signature: string;
  changelog?: string;
  author?: string;
  createdAt: string;
}

/**
 * Why a device is in its state, e.g. a node's error: at most 100 reasons of up to 4000 characters.
 * @maxItems 100
 * @items {"type": "string", "maxLength": 4000}
 */
export type StatusReasons = string[];

/** POST /api/v1/devices/{id}/status, and the JSON on `linesight/fleet/{deviceId}/state`. */
export interface DeviceStatusReport {
  /**
   * @minLength 1
   * @maxLength 128
   */
  deviceId: string;
  state: DeviceState;
  /**
   * The version actually running (`template@version`), null when none.
   * @maxLength 300
   */
  running: string | null;
  /** @maxLength 128 */
  deploymentId?: string | null;
  /**
   * The version this report is about, when it is not the running one (e.g. a failed target).
   * @maxLength 300
   */
  target?: string | null;
  reasons?: StatusReasons;
  /**
   * sha256 of the flow the runtime actually runs (differs from the version's hash when drifted).
   * @maxLength 128
   */
  runningSha256?: string | null;
  /**
   * True when the flow the device runs has nodes with problems (a red status past its grace period, a node
   * that failed to start): the device is up but degraded, and `reasons` names each node. Absent means
   * healthy; older repositories ignore the field and older agents never send it.
   */
  degraded?: boolean;
  /**
   * The model versions the runtime runs (what each `current.json` points at); absent from older agents.
   * @maxItems 32
   */
  models?: RunningModel[];
  ts: number;
}

/** A log level of the runtime, as Node-RED names them (fatal is the most severe). */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** One line of a device runtime's log. */
export interface DeviceLogLine {
  /**
   * When it was logged (ms since the epoch).
   * @TJS-type integer
   * @minimum 0
   * @maximum 9007199254740991
   */
  ts: number;
  level: LogLevel;
  /**
   * The message (the agent cuts longer ones, saying so).
   * @maxLength 8192
   */
  msg: string;
  /** @maxLength 256 */
  nodeId?: string;
  /** @maxLength 256 */
  nodeType?: string;
  /** @maxLength 256 */
  nodeName?: string;
}

/** What an agent posts to /api/v1/devices/{id}/logs: its runtime's log lines, oldest first. */
export interface DeviceLogBatch {
  /**
   * @minItems 1
   * @maxItems 1000
   */
  lines: DeviceLogLine[];
  /**
   * Lines the agent dropped (its buffer was full while the repository was away) since its last batch.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000000000
   */
  dropped?: number;
}

/** A node's status in a health sample (Node-RED's `node.status`). */
export interface NodeStatusSnapshot {
  fill: 'red' | 'yellow' | 'green' | 'blue' | 'grey';
  /** @maxLength 32 */
  shape?: string;
  /** @maxLength 1024 */
  text?: string;
}

/** One node's figures in a health sample: messages and errors since the previous sample. */
export interface NodeHealth {
  /**
   * @minLength 1
   * @maxLength 256
   */
  id: string;
  /** @maxLength 256 */
  type: string;
  /** @maxLength 256 */
  name?: string;
  /**
   * Messages received since the previous sample.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000000000000
   */
  in: number;
  /**
   * Messages sent since the previous sample.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000000000000
   */
  out: number;
  /**
   * Errors logged by the node since the previous sample.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000000000000
   */
  errors: number;
  status?: NodeStatusSnapshot;
}

/** One health sample of a device runtime (every 10 s by default). */
export interface HealthSample {
  /**
   * @TJS-type integer
   * @minimum 0
   * @maximum 9007199254740991
   */
  ts: number;
  /**
   * CPU used by the runtime over the interval, in % of one core.
   * @minimum 0
   * @maximum 100000
   */
  cpuPercent: number;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  rssBytes: number;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  heapUsedBytes: number;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  heapTotalBytes: number;
  /**
   * @minimum 0
   * @maximum 100000000
   */
  eventLoopP99Ms: number;
  /**
   * @minimum 0
   * @maximum 10000000000
   */
  uptimeSeconds: number;
  /**
   * Times the agent restarted the runtime after it died.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000000000
   */
  restarts: number;
  /**
   * Free bytes on the disk of the agent's data and outbox folder.
   * @minimum 0
   * @maximum 9007199254740991
   */
  diskFreeBytes?: number;
  /** @maxItems 5000 */
  nodes: NodeHealth[];
}

/** What an agent posts to /api/v1/devices/{id}/health: health samples, oldest first. */
export interface HealthSampleBatch {
  /**
   * @minItems 1
   * @maxItems 1000
   */
  samples: HealthSample[];
}
