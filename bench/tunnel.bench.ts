// The editor through the agent's tunnel against the same editor reached directly, in the same run: the
// requests the Node-RED editor makes when it loads (page, settings, scripts, styles, node set, locales,
// flows; six at a time, as a browser does), and a full deploy of a 2 MB flow. Baseline: the same requests
// straight to the runtime on loopback with the agent's own login. Needs PostgreSQL and MQTT as the
// integration tests do (LINESIGHT_PG_URL / LINESIGHT_MQTT_URL, else embedded).
import { probeFlow } from '../test/fixtures/agent/flows';
import { stopEmbeddedServices } from '../test/support/services';
import { startTunnelWorld } from '../test/integration/tunnel/support';
import { report, timeIt } from './support/report';

const ROUNDS = 5;
const EDITOR_LOAD = ['', 'settings', 'red/red.min.js', 'vendor/vendor.js', 'red/style.min.css', 'vendor/monaco/dist/editor.js', 'nodes', 'flows', 'locales/editor', 'locales/node-red', 'icons', 'plugins'];

async function loadEditor(base: string, headers: Record<string, string>): Promise<number> {
  let bytes = 0;
  const queue = [...EDITOR_LOAD];
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const accept = next === 'nodes' ? 'text/html' : next === 'plugins' || next === 'icons' || next === 'flows' || next === 'settings' ? 'application/json' : '*/*';
        const res = await fetch(`${base}${next}`, { headers: { ...headers, accept } });
        if (!res.ok) throw new Error(`${next}: HTTP ${res.status}`);
        bytes += (await res.arrayBuffer()).byteLength;
      }
    }),
  );
  return bytes;
}

/** About 2 MB of flow: the probe flow and 400 comment nodes carrying 5 KB of notes each. */
function bigFlow(): unknown[] {
  const notes = 'inspection station notes '.repeat(200);
  const comments = Array.from({ length: 400 }, (_, i) => ({ id: `note-${i}`, z: 'tab1', type: 'comment', name: `note ${i}`, info: notes, x: 100 + (i % 20) * 60, y: 200 + Math.floor(i / 20) * 40, wires: [] }));
  return [...probeFlow('bench'), ...comments];
}

async function main(): Promise<void> {
  const w = await startTunnelWorld();
  try {
    await w.turnOn(w.ids.a, 60);
    await w.connected(w.ids.a);
    const tunnelBase = `${w.fleet.h.repo.url}/devices/${w.ids.a}/editor/`;
    const session = { cookie: w.deployer.cookie };
    const csrf = { ...session, 'x-csrf-token': w.deployer.csrfToken };
    const directBase = w.a.url;
    const token = await w.a.agent.supervisor.admin!.accessToken();
    const direct = { authorization: `Bearer ${token}` };

    await loadEditor(tunnelBase, session); // warm-up, both ways
    await loadEditor(directBase, direct);
    const through: number[] = [];
    const straight: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      straight.push(await timeIt(() => loadEditor(directBase, direct)));
      through.push(await timeIt(() => loadEditor(tunnelBase, session)));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    report({ bench: 'tunnel', metric: 'editor load through the tunnel', value: median(through), unit: 'ms', baseline: median(straight), note: `${EDITOR_LOAD.length} requests (page, settings, scripts, styles, monaco, node set, locales, flows; about 8.5 MB), 6 at a time; median of ${ROUNDS} alternating rounds; baseline the runtime directly on loopback` });

    const flow = bigFlow();
    const body = JSON.stringify(flow);
    const deployTo = async (base: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}flows`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body });
      if (!res.ok) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    await deployTo(directBase, direct);
    const deployThrough: number[] = [];
    const deployStraight: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      deployStraight.push(await timeIt(() => deployTo(directBase, direct)));
      deployThrough.push(await timeIt(() => deployTo(tunnelBase, csrf)));
    }
    report({ bench: 'tunnel', metric: '2 MB flow deploy through the tunnel', value: median(deployThrough), unit: 'ms', baseline: median(deployStraight), note: `${(body.length / 1e6).toFixed(2)} MB full deploy (${flow.length} nodes), median of ${ROUNDS} alternating rounds; baseline POST /flows to the runtime directly` });
  } finally {
    await w.close();
    await stopEmbeddedServices();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
