// Sending one message object to several nodes without Node-RED's deep copy. Node-RED clones a message
// for every wire after the first (lodash cloneDeep, Buffers included) because any receiver may change it.
// The Linesight nodes listed here only read what they receive, so a sender whose output goes to nothing
// else can hand them all the same object. As soon as a user wires any other node to that output, the
// copies come back: correctness never depends on how the flow is edited.

/** Node types that never change a message they receive, nor anything it holds (payload, Buffers). */
export const READ_ONLY_RECEIVERS: ReadonlySet<string> = new Set(['timescale-sink', 'cloud-bridge']);

/** True when every receiver is one of READ_ONLY_RECEIVERS (undefined: a node not found, so not known). */
export function allReadOnly(receiverTypes: ReadonlyArray<string | undefined>): boolean {
  return receiverTypes.length > 0 && receiverTypes.every((t) => t !== undefined && READ_ONLY_RECEIVERS.has(t));
}

interface SendEvent {
  msg: object;
  cloneMessage?: boolean;
}
interface Hooks {
  add(name: string, fn: (events: SendEvent[]) => void): void;
  remove(name: string): void;
}

/**
 * One sender's use of Node-RED's `onSend` hook: `mark(msg)` before `node.send(msg)` sends that message to
 * all its wires as the same object. The sender marks a message only when `allReadOnly` holds for its
 * wires at that moment; unmarked messages are cloned as usual.
 */
export class SharedSends {
  private readonly marked = new WeakSet<object>();
  private readonly hookName: string;

  constructor(
    private readonly hooks: Hooks | undefined,
    senderId: string,
  ) {
    this.hookName = `onSend.linesightShare${senderId.replace(/[^A-Za-z0-9]/g, '')}`;
    hooks?.add(this.hookName, (events) => {
      // One send: every event carries the same message (Node-RED clones later, when it routes).
      const first = events[0];
      if (!first || !this.marked.has(first.msg)) return;
      this.marked.delete(first.msg);
      for (const e of events) if (e.msg === first.msg) e.cloneMessage = false;
    });
  }

  /** Whether sharing is possible at all (a host without hooks, such as the test helper, always clones). */
  get available(): boolean {
    return !!this.hooks;
  }

  mark(msg: object): void {
    if (this.hooks) this.marked.add(msg);
  }

  close(): void {
    this.hooks?.remove(this.hookName);
  }
}
