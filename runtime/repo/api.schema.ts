// Request bodies of the flow repository API. The JSON Schemas generated from these types validate every
// write and are the request schemas of the OpenAPI document, so the three cannot drift apart.
// Every string, list and map has a bound here; what JSON Schema cannot say (no NUL characters, no lone
// surrogates, nesting at most 64 deep) input-limits.ts checks on every body before these schemas run.
// What the agent sends and the deploy gate it checks are fleet contracts: they come from contracts/fleet.
import type { DeployWindow, DeviceLogBatch, DeviceStatusReport, HealthSampleBatch, LineStateGate, ModelMetadata } from '../../contracts/fleet/protocol.schema';

/**
 * Labels: names (letters, digits, `.`, `_`, `/`, `-`; up to 63) to strings of up to 256 characters; at most 64.
 * @maxProperties 64
 * @propertyNames {"pattern": "^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$"}
 * @patternProperties {".*": {"type": "string", "maxLength": 256}}
 */
export interface RepoLabels {
  [name: string]: string;
}

/**
 * Parameter values by name (what a template's flow reads as `${NAME}`): a string of up to 4096 characters,
 * a number or a boolean; at most 256.
 * @maxProperties 256
 * @propertyNames {"pattern": "^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"}
 * @patternProperties {".*": {"type": ["string", "number", "boolean"], "maxLength": 4096}}
 */
export interface RepoParameterValues {
  [name: string]: string | number | boolean;
}

/**
 * Device ids.
 * @maxItems 10000
 * @items {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
 */
export type RepoDeviceIds = string[];

/**
 * Node type names, e.g. `plc-read`.
 * @maxItems 256
 * @items {"type": "string", "minLength": 1, "maxLength": 128}
 */
export type RepoNodeTypes = string[];

/** POST /api/v1/templates */
export interface RepoTemplateCreate {
  /**
   * URL-safe name, e.g. `line-inspection`.
   * @pattern ^[a-z0-9][a-z0-9-]{0,62}$
   */
  slug: string;
  /**
   * @minLength 1
   * @maxLength 200
   */
  title: string;
  /** @maxLength 4000 */
  description?: string;
  tier: 'line' | 'factory' | 'cloud';
  /**
   * JSON Schema (type object) of the parameters the flow references as `${NAME}` or env inputs.
   * @maxProperties 64
   */
  parameters?: Record<string, unknown>;
  /** Node types the template needs; each must exist in the Linesight package or Node-RED core. */
  requiredNodes?: RepoNodeTypes;
}

/** POST /api/v1/templates/{slug}/versions */
export interface RepoVersionPublish {
  /**
   * Semantic version, new for this template: versions equal by semver precedence (that is, differing only in
   * build metadata after `+`) are the same version.
   * @maxLength 128
   * @pattern ^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$
   */
  version: string;
  /**
   * The Node-RED flow JSON (an array of node objects). The only body that may be large (up to 10 MB).
   * @minItems 1
   * @maxItems 10000
   */
  flow: unknown[];
  /** @maxLength 20000 */
  changelog?: string;
  /** @maxLength 128 */
  author?: string;
  /**
   * Models the flow needs: each resolved at deploy to the newest published version in its semver range.
   * @maxItems 32
   */
  models?: RepoModelRequirement[];
}

/** A model a template version needs. */
export interface RepoModelRequirement {
  /** @pattern ^[a-z0-9][a-z0-9._-]{0,62}$ */
  name: string;
  /**
   * A semver range, e.g. `^1.2.0` or `1.x`.
   * @minLength 1
   * @maxLength 128
   */
  range: string;
}

/**
 * Model versions a deployment pins, by model name (overriding the version's declared ranges, or adding a model).
 * @maxProperties 32
 * @propertyNames {"pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"}
 * @patternProperties {".*": {"type": "string", "minLength": 1, "maxLength": 128}}
 */
export interface RepoModelPins {
  [name: string]: string;
}

/** POST /api/v1/models/{name}/uploads: announces an artifact; its bytes follow with PUT /models/uploads/{uploadId}. */
export interface RepoModelUploadCreate {
  /**
   * Semantic version, new for this model.
   * @maxLength 128
   * @pattern ^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$
   */
  version: string;
  /**
   * Artifact format, e.g. `onnx` (any file type is stored as-is).
   * @pattern ^[a-z0-9][a-z0-9._-]{0,31}$
   */
  format: string;
  /**
   * sha256 (hex) of the whole artifact; the upload completes only when the bytes match it.
   * @pattern ^[0-9a-f]{64}$
   */
  sha256: string;
  /**
   * Size in bytes (at most 2 GiB).
   * @TJS-type integer
   * @minimum 1
   * @maximum 2147483648
   */
  bytes: number;
  /** @maxProperties 64 */
  metadata?: ModelMetadata;
  /** @maxLength 20000 */
  changelog?: string;
}

/** POST /api/v1/devices */
export interface RepoDeviceRegister {
  /**
   * @pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$
   */
  id: string;
  tier: 'line' | 'factory' | 'cloud';
  labels?: RepoLabels;
  parameters?: RepoParameterValues;
  /**
   * How often the device's agent checks in, in seconds; liveness is judged against it.
   * @TJS-type integer
   * @minimum 1
   * @maximum 86400
   * @default 30
   */
  pollIntervalSeconds?: number;
}

/** PATCH /api/v1/devices/{id} */
export interface RepoDeviceUpdate {
  labels?: RepoLabels;
  parameters?: RepoParameterValues;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 86400
   */
  pollIntervalSeconds?: number;
}

/** Which devices a deployment addresses; every given criterion must match (ids alone select exactly those). */
export interface RepoDeploymentTarget {
  tier?: 'line' | 'factory' | 'cloud';
  ids?: RepoDeviceIds;
  /** Every label given must equal the device's label. */
  labels?: RepoLabels;
}

/** POST /api/v1/deployments */
export interface RepoDeploymentCreate {
  /** @pattern ^[a-z0-9][a-z0-9-]{0,62}$ */
  template: string;
  /**
   * @minLength 1
   * @maxLength 128
   */
  version: string;
  target: RepoDeploymentTarget;
  /** @default "all" */
  strategy?: 'all' | 'canary';
  /**
   * Devices in the canary wave (strategy `canary`).
   * @TJS-type integer
   * @minimum 1
   * @maximum 100000
   * @default 1
   */
  canary?: number;
  /**
   * Devices per wave after the canary; 0 = all the rest at once.
   * @TJS-type integer
   * @minimum 0
   * @maximum 100000
   * @default 0
   */
  waveSize?: number;
  window?: DeployWindow;
  lineState?: LineStateGate;
  /** Model versions to run, by name: pins a declared model's version or adds one. */
  models?: RepoModelPins;
}

/**
 * POST /api/v1/devices/{id}/status: the agent's DeviceStatusReport, defined (with its limits) once in
 * contracts/fleet/protocol.schema.ts.
 */
export interface RepoStatusReport extends DeviceStatusReport {} // eslint-disable-line @typescript-eslint/no-empty-interface

/** The body of every error answer. */
export interface RepoError {
  error: string;
  problems?: { field: string; reason: string }[];
  /** When the node-type policy refused the request: the policy in force. */
  policy?: RepoNodeTypePolicy;
  /** On a 500: the id under which the repository logged the cause (also in the X-Request-Id header). */
  requestId?: string;
}

/** POST /api/v1/admin-tokens */
export interface RepoAdminTokenCreate {
  /**
   * What the token is for, e.g. `ci`; shown as the actor in the audit log.
   * @pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
   */
  name: string;
}

/** Node types refused, or allowed after all, for templates of one tier. */
export interface RepoNodeTypeTierPolicy {
  /** Refused for this tier, in addition to the repository-wide list. */
  refuse?: string[];
  /** Allowed for this tier although the repository-wide list refuses them. */
  allow?: string[];
}

/**
 * The node types templates may use (GET /api/v1/policy/node-types). A type is refused for a template of
 * tier T when it is in `refuse` or `tiers.T.refuse`, and not in `tiers.T.allow`. Publishing a version (or
 * deploying one) that uses a refused type is answered 422, naming each node, its type and the rule.
 * Fields not named here are refused when the policy is loaded (a typo must not loosen it).
 */
export interface RepoNodeTypePolicy {
  /** Refused for every tier. Default `["exec"]`: a flow may not run shell commands on every device. */
  refuse: string[];
  tiers?: {
    line?: RepoNodeTypeTierPolicy;
    factory?: RepoNodeTypeTierPolicy;
    cloud?: RepoNodeTypeTierPolicy;
  };
}

/** A role: `viewer` sees everything and changes nothing; `deployer` publishes, deploys and edits devices; `admin` also manages users and tokens. */
export type RepoRole = 'viewer' | 'deployer' | 'admin';

/**
 * A user name: letters, digits, `.`, `_`, `@`, `-`; up to 64.
 * @pattern ^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$
 */
export type RepoUserName = string;

/**
 * A password: 8 to 72 characters (bcrypt reads at most 72 bytes; a longer password is refused, not cut).
 * @minLength 8
 * @maxLength 72
 */
export type RepoPassword = string;

/** POST /api/v1/session: log in. */
export interface RepoSessionCreate {
  /**
   * @minLength 1
   * @maxLength 64
   */
  username: string;
  /**
   * @minLength 1
   * @maxLength 1024
   */
  password: string;
}

/** POST /api/v1/users */
export interface RepoUserCreate {
  name: RepoUserName;
  role: RepoRole;
  password: RepoPassword;
}

/** PATCH /api/v1/users/{name}: a disabled user cannot log in and their sessions and tokens stop at once. */
export interface RepoUserUpdate {
  role?: RepoRole;
  disabled?: boolean;
  password?: RepoPassword;
}

/** Whom a token belongs to: a user, or a pipeline (e.g. a CI job) that is no person. */
export type RepoTokenOwner = { user: RepoUserName } | { pipeline: RepoPipelineName };

/**
 * A pipeline name, e.g. `github-release`.
 * @pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
 */
export type RepoPipelineName = string;

/** POST /api/v1/tokens */
export interface RepoTokenCreate {
  /**
   * What the token is for, e.g. `ci`; unique; shown as the actor in the audit log.
   * @pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
   */
  name: string;
  /** At most the role of the user creating it (and of the user owning it). */
  role: RepoRole;
  /** Default: whoever creates it. Only an admin may create a token for someone else or for a pipeline. */
  owner?: RepoTokenOwner;
}

/**
 * POST /api/v1/devices/{id}/logs: the agent's DeviceLogBatch, defined (with its limits) once in
 * contracts/fleet/protocol.schema.ts.
 */
export interface RepoLogBatch extends DeviceLogBatch {} // eslint-disable-line @typescript-eslint/no-empty-interface

/** POST /api/v1/devices/{id}/health: the agent's HealthSampleBatch (contracts/fleet/protocol.schema.ts). */
export interface RepoHealthBatch extends HealthSampleBatch {} // eslint-disable-line @typescript-eslint/no-empty-interface

/** POST /api/v1/devices/{id}/remote-editing */
export interface RepoRemoteEditing {
  enabled: boolean;
  /**
   * The agent closes its editor tunnel after this many minutes without an editor request (default 30).
   * @minimum 0.01
   * @maximum 1440
   */
  idleMinutes?: number;
}

/** POST /api/v1/devices/{id}/remote-commands */
export interface RepoRemoteCommand {
  /** What the agent allows: restart the runtime, fetch the last good flow, upload a support bundle, revert a hand edit to the assigned version. */
  command: 'restart' | 'last-good' | 'support-bundle' | 'revert';
}

/** POST /api/v1/devices/{id}/save-version: the flow the device runs now, published as a new version of its template. */
export interface RepoSaveVersion {
  /**
   * @maxLength 128
   * @pattern ^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$
   */
  version: string;
  /**
   * The template (default: the one the device is assigned).
   * @pattern ^[a-z0-9][a-z0-9-]{0,62}$
   */
  template?: string;
  /** @maxLength 20000 */
  changelog?: string;
}
