// The contract between the flow repository and the edge agents: how a flow is hashed and signed, what a
// device's desired state looks like, and the topics and routes both sides use. Both sides import this
// file so they cannot disagree.
import crypto from 'node:crypto';
import { canonicalJson } from './canonical-json';

export { canonicalJson };

/** sha256 (hex) of the canonical form of a Node-RED flow. */
export function flowSha256(flow: unknown): string {
  return crypto.createHash('sha256').update(canonicalJson(flow), 'utf8').digest('hex');
}

/** Ed25519 signature (base64) over the canonical bytes of the flow. */
export function signFlow(flow: unknown, privateKeyPem: string): string {
  return crypto.sign(null, Buffer.from(canonicalJson(flow), 'utf8'), crypto.createPrivateKey(privateKeyPem)).toString('base64');
}

/** True only when `signature` is the repository key's signature over this exact flow. */
export function verifyFlow(flow: unknown, signatureB64: string, publicKeyPem: string): boolean {
  try {
    return crypto.verify(null, Buffer.from(canonicalJson(flow), 'utf8'), crypto.createPublicKey(publicKeyPem), Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

export function generateSigningKeys(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A token is stored only as this hash; compare with timingSafeEqual on the hashes. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export type DeviceState = 'pending' | 'downloading' | 'verifying' | 'running' | 'failed' | 'rolled back' | 'offline' | 'drifted' | 'waiting';

/** When a deployment may be applied; checked by the device itself. */
export interface DeployGate {
  /** Local times "HH:MM"; apply only inside [from, to) (wraps past midnight when from > to). */
  window?: { from: string; to: string; timezone?: string };
  /** Apply only while this PLC tag (read by the device through its flow) equals `idleValue`. */
  lineState?: { tag: string; idleValue: number | boolean | string };
}

/**
 * What a device should run. Served at GET /api/v1/devices/{id}/desired (with ETag) and published retained
 * on `linesight/fleet/{deviceId}/desired`. `version` is null when nothing is assigned.
 */
export interface DesiredState {
  deviceId: string;
  deploymentId: string | null;
  version: null | {
    template: string;
    version: string;
    sha256: string;
    signature: string;
    /** Route (relative to the API root) that returns the VersionDocument; a device token may read it. */
    href: string;
  };
  /** The device's parameter values, filled into the flow as environment variables. */
  parameters: Record<string, string | number | boolean>;
  gate?: DeployGate;
}

/** GET /api/v1/templates/{slug}/versions/{version} */
export interface VersionDocument {
  template: string;
  version: string;
  flow: unknown[];
  sha256: string;
  signature: string;
  changelog?: string;
  author?: string;
  createdAt: string;
}

/** POST /api/v1/devices/{id}/status, and the JSON on `linesight/fleet/{deviceId}/state`. */
export interface DeviceStatusReport {
  deviceId: string;
  state: DeviceState;
  /** The version actually running ("slug@semver"), null when none. */
  running: string | null;
  deploymentId?: string | null;
  /** The version this report is about, when it is not the running one (e.g. a failed target). */
  target?: string | null;
  reasons?: string[];
  /** sha256 of the flow the runtime actually runs (differs from the version's hash when drifted). */
  runningSha256?: string | null;
  /**
   * True when the flow the device runs has nodes with problems (a red status past its grace period, a node
   * that failed to start): the device is up but degraded, and `reasons` names each node. Absent means
   * healthy; older repositories ignore the field and older agents never send it.
   */
  degraded?: boolean;
  ts: number;
}

export const fleetTopics = {
  desired: (deviceId: string) => `linesight/fleet/${deviceId}/desired`,
  state: (deviceId: string) => `linesight/fleet/${deviceId}/state`,
};

export const API_ROOT = '/api/v1';
