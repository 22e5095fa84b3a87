// Request bodies of the flow repository API. The JSON Schemas generated from these types validate every
// write and are the request schemas of the OpenAPI document, so the three cannot drift apart.

/** POST /api/v1/templates */
export interface RepoTemplateCreate {
  /**
   * URL-safe name, e.g. `line-inspection`.
   * @pattern ^[a-z0-9][a-z0-9-]{0,62}$
   */
  slug: string;
  /** @minLength 1 */
  title: string;
  description?: string;
  tier: 'line' | 'factory' | 'cloud';
  /** JSON Schema (type object) of the parameters the flow references as `${NAME}` or env inputs. */
  parameters?: Record<string, unknown>;
  /** Node types the template needs; each must exist in the Linesight package or Node-RED core. */
  requiredNodes?: string[];
}

/** POST /api/v1/templates/{slug}/versions */
export interface RepoVersionPublish {
  /**
   * Semantic version, new for this template.
   * @pattern ^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$
   */
  version: string;
  /** The Node-RED flow JSON (an array of node objects). */
  flow: unknown[];
  changelog?: string;
  author?: string;
}

/** POST /api/v1/devices */
export interface RepoDeviceRegister {
  /**
   * @pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$
   */
  id: string;
  tier: 'line' | 'factory' | 'cloud';
  labels?: Record<string, string>;
  parameters?: Record<string, string | number | boolean>;
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
  labels?: Record<string, string>;
  parameters?: Record<string, string | number | boolean>;
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
  ids?: string[];
  /** Every label given must equal the device's label. */
  labels?: Record<string, string>;
}

/** Apply only between local times `from` and `to` (wraps past midnight when from > to). */
export interface RepoDeployWindow {
  /** @pattern ^([01]\d|2[0-3]):[0-5]\d$ */
  from: string;
  /** @pattern ^([01]\d|2[0-3]):[0-5]\d$ */
  to: string;
  /** IANA time zone, e.g. `Europe/Berlin`; the device's local zone when absent. */
  timezone?: string;
}

/** Apply only while the PLC tag `tag` equals `idleValue` (read by the device). */
export interface RepoLineStateGate {
  /** @minLength 1 */
  tag: string;
  idleValue: number | boolean | string;
}

/** POST /api/v1/deployments */
export interface RepoDeploymentCreate {
  /** @pattern ^[a-z0-9][a-z0-9-]{0,62}$ */
  template: string;
  version: string;
  target: RepoDeploymentTarget;
  /** @default "all" */
  strategy?: 'all' | 'canary';
  /**
   * Devices in the canary wave (strategy `canary`).
   * @TJS-type integer
   * @minimum 1
   * @default 1
   */
  canary?: number;
  /**
   * Devices per wave after the canary; 0 = all the rest at once.
   * @TJS-type integer
   * @minimum 0
   * @default 0
   */
  waveSize?: number;
  window?: RepoDeployWindow;
  lineState?: RepoLineStateGate;
}

/** POST /api/v1/devices/{id}/status (the agent's DeviceStatusReport). */
export interface RepoStatusReport {
  /** @minLength 1 */
  deviceId: string;
  state: 'pending' | 'downloading' | 'verifying' | 'running' | 'failed' | 'rolled back' | 'offline' | 'drifted' | 'waiting';
  running: string | null;
  deploymentId?: string | null;
  target?: string | null;
  reasons?: string[];
  runningSha256?: string | null;
  /** The running flow has nodes with problems (red status, failed to start); `reasons` names them. */
  degraded?: boolean;
  ts: number;
}

/** The body of every error answer. */
export interface RepoError {
  error: string;
  problems?: { field: string; reason: string }[];
  /** When the node-type policy refused the request: the policy in force. */
  policy?: RepoNodeTypePolicy;
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
