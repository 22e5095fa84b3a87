// Holds the broker acknowledgements of the messages a downlink sent into the flow until every node wired
// to its output has finished with them (Node-RED's completion of that node for that message id).

export class CompletionAcks {
  private readonly pending = new Map<string, { waiting: Set<string>; acks: Array<() => void> }>();

  /** @param targets ids of the nodes wired to the output; none = nothing to wait for. */
  constructor(private readonly targets: readonly string[]) {}

  /** Remembers `acks` until every target completes message `msgId`; with no targets they run now. */
  track(msgId: string, acks: Array<() => void> | undefined): void {
    if (!acks?.length) return;
    if (this.targets.length === 0) return runAll(acks);
    this.pending.set(msgId, { waiting: new Set(this.targets), acks });
  }

  /** Node `nodeId` is done with message `msgId` (successfully or with an error: a retry cannot help either). */
  complete(msgId: string, nodeId: string): void {
    const p = this.pending.get(msgId);
    if (!p || !p.waiting.delete(nodeId) || p.waiting.size > 0) return;
    this.pending.delete(msgId);
    runAll(p.acks);
  }

  /**
   * On close: acknowledges what is still held. The nodes it went to have it and keep it through their
   * own close (the sink writes or spools on close, the bridge holds it in its outbox).
   */
  flush(): void {
    for (const p of this.pending.values()) runAll(p.acks);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}

function runAll(acks: Array<() => void>): void {
  for (const ack of acks) ack();
}
