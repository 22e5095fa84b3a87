// The contract between the flow repository and the edge agents: how a flow and a desired state are hashed
// and signed, and the topics and routes both sides use; the documents themselves are in protocol.schema.ts.
// Both sides import this file so they cannot disagree.
import crypto from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { DesiredState, SignedDesiredState } from './protocol.schema';

export { canonicalJson };
export type { DeployGate, DeployWindow, DesiredState, DesiredVersion, DeviceLogBatch, DeviceLogLine, DeviceState, DeviceStatusReport, HealthSample, HealthSampleBatch, LineStateGate, LogLevel, NodeHealth, NodeStatusSnapshot, SignedDesiredState, VersionDocument } from './protocol.schema';

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

/** The bytes a desired state is signed over: its canonical JSON without the `signature` field. */
function desiredStateBytes(state: DesiredState | Record<string, unknown>): Buffer {
  const { signature: _signature, ...rest } = state as Record<string, unknown>;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/**
 * The state with its `signature` (the repository signs every document it serves or publishes). Pass a
 * KeyObject where this runs per request: parsing the PEM costs about 0.7 ms, signing about 0.06 ms.
 */
export function signDesiredState(state: DesiredState, privateKey: string | crypto.KeyObject): SignedDesiredState {
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

export const fleetTopics = {
  desired: (deviceId: string) => `linesight/fleet/${deviceId}/desired`,
  state: (deviceId: string) => `linesight/fleet/${deviceId}/state`,
};

export const API_ROOT = '/api/v1';
