// A real Node-RED for the PLC benchmarks: the project's tier runtime in this process (no test-helper
// spies in the message path), with node-red-contrib-modbus linked in for the comparison.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRuntime, type RunningRuntime } from '../runtime/tier/tier-runtime';

export interface BenchRuntime {
  rt: RunningRuntime;
  deploy(flows: object[]): Promise<void>;
  node(id: string): any;
  /** Calls `fn` for every message that reaches node `id` (a disabled debug node works as a sink). */
  onInput(id: string, fn: (msg: any) => void): void;
  close(): Promise<void>;
}

export async function startBenchRuntime(): Promise<BenchRuntime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plc-bench-'));
  const modules = path.join(userDir, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  const contrib = path.dirname(require.resolve('node-red-contrib-modbus/package.json'));
  fs.symlinkSync(contrib, path.join(modules, 'node-red-contrib-modbus'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'bench', dependencies: { 'node-red-contrib-modbus': '*' } }));
  const rt = await startRuntime({ tier: 'line', port: 0, userDir, insecure: true, logLevel: 'error' });
  const RED = rt.RED;
  return {
    rt,
    async deploy(flows) {
      await RED.runtime.flows.setFlows({ flows: { flows }, deploymentType: 'full' });
      // setFlows resolves before the nodes are started: wait until every node of the flow exists.
      const ids = (flows as { id: string; type: string }[]).filter((n) => n.type !== 'tab').map((n) => n.id);
      const t0 = Date.now();
      while (!ids.every((id) => RED.nodes.getNode(id))) {
        if (Date.now() - t0 > 20_000) throw new Error(`nodes not started: ${ids.filter((id) => !RED.nodes.getNode(id)).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    node: (id) => RED.nodes.getNode(id),
    onInput(id, fn) {
      RED.nodes.getNode(id).on('input', (msg: any, _send: unknown, done?: () => void) => {
        fn(msg);
        done?.();
      });
    },
    async close() {
      await rt.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}
