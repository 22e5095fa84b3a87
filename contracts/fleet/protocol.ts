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
 *
 * The whole document is signed by the repository key (`signature`, see signDesiredState): the broker is a
 * transport, never an authority, so a device acts only on a state whose every field the repository vouched for.
 */
export interface DesiredState {
  deviceId: string;
  deploymentId: string | null;
  version: null | {
    template: string;
    version: string;
    sha256: string;
    /** The repository's signature over the flow itself (verifyFlow). */
    signature: string;
    /** Route (relative to the API root) that returns the VersionDocument; a device token may read it. */
    href: string;
  };
  /** The device's parameter values, filled into the flow as environment variables. */
  parameters: Record<string, string | number | boolean>;
  /** The deploy gate, window included. */
  gate?: DeployGate;
  /**
   * Grows with every change of this device's desired state (never reused, even across a database restore):
   * an agent refuses a generation lower than the highest it accepted, so an old genuine state cannot be replayed.
   */
  generation: number;
  /** Reserved for model artifacts a deployment carries (a later issue); signed with the rest when present. */
  models?: unknown[];
  /** Ed25519 signature (base64) by the repository key over canonicalJson of every other field. */
  signature?: string;
}

/** The bytes a desired state is signed over: its canonical JSON without the `signature` field. */
function desiredStateBytes(state: DesiredState | Record<string, unknown>): Buffer {
  const { signature: _signature, ...rest } = state as Record<string, unknown>;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/**
 * The state with its `signature` (the repository signs every document it serves or publishes). Pass a
 * KeyObject where this runs per request: parsing the PEM costs about 0.7 ms, signing about 0.06 ms.
 */
export function signDesiredState(state: DesiredState, privateKey: string | crypto.KeyObject): DesiredState {
  const key = typeof privateKey === 'string' ? crypto.createPrivateKey(privateKey) : privateKey;
  const signature = crypto.sign(null, desiredStateBytes(state), key).toString('base64');
  return { ...state, signature };
}

/** True only when `state.signature` is the repository key's signature over every other field of `state`. */
export function verifyDesiredState(state: unknown, publicKeyPem: string): boolean {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return false;
  const signature = (state as Record<string, unknown>).signature;
  if (typeof signature !== 'string' || !signature) return false;
  try {
    return crypto.verify(null, desiredStateBytes(state as Record<string, unknown>), crypto.createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** A short fingerprint of a public key (sha256 of its DER), to tie stored facts to the key they came with. */
export function keyFingerprint(publicKeyPem: string): string {
  const der = crypto.createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('hex').slice(0, 16);
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
