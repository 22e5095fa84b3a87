// Optional wire capture for latency benchmarks: tcpdump on one TCP port of the loopback, so a request's
// time splits into "our process before the bytes left", "the peer, from request on the wire to its
// answer on the wire" and "our process after the answer arrived". Needs tcpdump (Debian package) and
// root; without them `start` returns null and the benchmark says the split was not measured.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

/** One request and its answer, as kernel timestamps (CLOCK_REALTIME, ms with µs precision). */
export interface WireExchange {
  requestAt: number;
  answerAt: number;
}

export class WireCapture {
  private readonly exchanges: WireExchange[] = [];
  private pendingRequest: number | undefined;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly port: number,
  ) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => this.line(l));
  }

  /** Starts capturing segments that carry data to or from `port`; null when tcpdump cannot run here. */
  static async start(port: number): Promise<WireCapture | null> {
    if (process.getuid?.() !== 0 || spawnSync('tcpdump', ['--version']).status !== 0) return null;
    const proc = spawn('tcpdump', ['-i', 'lo', '-nn', '-tt', '-l', '-s', '128', `tcp port ${port} and tcp[tcpflags] & tcp-push != 0`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const listening = await new Promise<boolean>((resolve) => {
      let err = '';
      proc.stderr!.on('data', (d) => {
        err += d;
        if (/listening on/.test(err)) resolve(true);
      });
      proc.once('exit', () => resolve(false));
      setTimeout(() => resolve(false), 5000);
    });
    if (!listening) {
      proc.kill();
      return null;
    }
    return new WireCapture(proc, port);
  }

  // "1795625148.353164 IP 127.0.0.1.50748 > 127.0.0.1.50997: Flags [P.], ... length 12"
  private line(l: string): void {
    const m = /^(\d+\.\d+) IP \S+ > (\S+): /.exec(l);
    if (!m) return;
    const at = Number(m[1]) * 1000;
    if (m[2].endsWith(`.${this.port}`)) this.pendingRequest = at;
    else if (this.pendingRequest !== undefined) {
      this.exchanges.push({ requestAt: this.pendingRequest, answerAt: at });
      this.pendingRequest = undefined;
    }
  }

  /** Stops the capture; every request/answer pair seen, in order. */
  async stop(): Promise<WireExchange[]> {
    await new Promise((r) => setTimeout(r, 200)); // the last lines still in tcpdump's pipe
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGINT');
    await exited;
    return this.exchanges;
  }
}

/** For each [sent to the writer, acknowledged] pair (realtime ms): the exchange on the wire between them. */
export function splitByWire(spans: Array<[number, number]>, wire: WireExchange[]): Array<{ before: number; peer: number; after: number }> {
  const out: Array<{ before: number; peer: number; after: number }> = [];
  let j = 0;
  // 50 µs of slack: the two clocks are read through different calls.
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    while (j < wire.length && wire[j].requestAt < from - 0.05) j++;
    const x = wire[j];
    if (!x || x.answerAt > to) continue;
    out.push({ before: x.requestAt - from, peer: x.answerAt - x.requestAt, after: to - x.answerAt });
  }
  return out;
}
