// Decides whether the agent may act on a desired state, whichever way it came: it must be well formed,
// signed whole by the pinned repository key, addressed to this device, and not older than the newest state
// this device accepted (that generation is kept on disk next to the pinned key, so a restart cannot be
// replayed into a downgrade). The broker is a transport, never an authority.
import { canonicalJson, keyFingerprint, verifyDesiredState, type DesiredState } from '../../contracts/fleet/protocol';
import { desiredProblems } from './desired-source';
import type { AgentStore } from './last-good';

export type GuardVerdict =
  | { ok: true; state: DesiredState }
  /** `transient`: could not be checked yet (no key pinned and the repository unreachable); not a refusal. */
  | { ok: false; reason: string; transient?: boolean };

export interface DesiredGuardOptions {
  deviceId: string;
  store: AgentStore;
  /** The pinned repository key (fetched and pinned at first contact when none is). */
  publicKey(): Promise<string>;
}

export class DesiredGuard {
  private accepted: DesiredState | null = null;

  constructor(private readonly options: DesiredGuardOptions) {}

  async check(candidate: unknown): Promise<GuardVerdict> {
    const problems = desiredProblems(candidate, this.options.deviceId);
    if (problems.length) return { ok: false, reason: problems.join('; ') };
    const state = candidate as DesiredState;
    let pem: string;
    try {
      pem = await this.options.publicKey();
    } catch (err) {
      return { ok: false, transient: true, reason: `cannot be verified yet: no repository key is pinned and fetching it failed (${(err as Error).message})` };
    }
    if (typeof state.signature !== 'string' || !state.signature) return { ok: false, reason: 'it is not signed' };
    if (!verifyDesiredState(state, pem)) return { ok: false, reason: 'signature does not verify with the pinned repository key' };
    const fingerprint = keyFingerprint(pem);
    const highest = this.options.store.acceptedGeneration(fingerprint);
    if (state.generation < highest) return { ok: false, reason: `generation ${state.generation} is older than generation ${highest}, already accepted (a replay of an old state)` };
    if (state.generation === highest && this.accepted && this.accepted.generation === highest && canonicalJson(this.accepted) !== canonicalJson(state)) {
      return { ok: false, reason: `generation ${state.generation} was already accepted with different content` };
    }
    if (state.generation > highest) this.options.store.saveAcceptedGeneration(fingerprint, state.generation);
    this.accepted = state;
    return { ok: true, state };
  }
}
