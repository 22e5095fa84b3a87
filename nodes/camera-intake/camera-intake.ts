// camera-intake: a gRPC server (linesight.v1.InspectionIntake) that turns every accepted inspection into
// one message with an `Inspection` payload, and refuses work (RESOURCE_EXHAUSTED) when the flow is behind.
import type { NodeAPI } from 'node-red';
import fs from 'node:fs';
import { Backoff } from '../../lib/backoff';
import { defineNode, status } from '../kit/node-kit';
import { Admission } from './admission';
import type { CameraIntakeConfig, CameraIntakeCredentials } from './camera-intake.schema';
import { describeProblems, mapInspection } from './inspection-mapper';
import { IntakeServer, type TlsMaterial } from './intake-server';
import { intakeStatus, refusalWarning, type IntakeSnapshot } from './intake-status';

/** Refusals (connections at the limit, calls without the token) are logged at most this often. */
const WARN_EVERY_MS = 60_000;

interface CompleteEvent {
  msg: { _msgid?: string };
  node: { id: string };
}

interface Hooks {
  add(name: string, fn: (e: CompleteEvent) => void): void;
  remove(name: string): void;
}

/** RED.hooks; node-red-node-test-helper leaves it out, so fall back to the module the runtime fires from. */
function messageHooks(RED: NodeAPI): Hooks {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (RED as unknown as { hooks?: Hooks }).hooks ?? (require('@node-red/util') as { hooks: Hooks }).hooks;
}

/** Whether a node completes messages: its input handler takes done (Node-RED counts them in _expectedDoneCount). */
function takesDone(n: unknown): boolean {
  if (!n) return false;
  const count = (n as { _expectedDoneCount?: number })._expectedDoneCount;
  return count === undefined ? true : count > 0;
}

function tlsMaterial(config: CameraIntakeConfig, creds: CameraIntakeCredentials): TlsMaterial {
  const pem = (inline: string | undefined, file: string | undefined) => inline || (file ? fs.readFileSync(file) : undefined);
  return { mode: config.tls, cert: pem(creds.tlsCert, config.certFile), key: pem(creds.tlsKey, config.keyFile), ca: pem(creds.tlsCa, config.caFile) };
}

export = function register(RED: NodeAPI) {
  defineNode<CameraIntakeConfig, CameraIntakeCredentials>(
    RED,
    {
      type: 'camera-intake',
      configSchema: 'CameraIntakeConfig',
      credentials: { token: { type: 'password' }, tlsCert: { type: 'text' }, tlsKey: { type: 'password' }, tlsCa: { type: 'text' } },
    },
    ({ node, config, label }) => {
      const creds = (node.credentials ?? {}) as CameraIntakeCredentials;
      const wired = new Set(((node as unknown as { wires?: string[][] }).wires ?? []).flat());
      const admission = new Admission({
        max: config.maxWaiting,
        completionsNeeded: 0,
        holdTimeoutMs: config.holdTimeoutS * 1000,
      });
      const server = new IntakeServer({
        host: config.host,
        port: config.port,
        tls: tlsMaterial(config, creds),
        token: creds.token,
        maxMessageBytes: Math.round(config.maxMessageMiB * 1024 * 1024),
        receiveWindowBytes: Math.round(config.receiveWindowMiB * 1024 * 1024),
        maxConnections: config.maxConnections,
        maxCallsPerConnection: config.maxCallsPerConnection,
        idleTimeoutMs: Math.round(config.idleTimeoutS * 1000),
        submit(p) {
          countCompletions();
          const r = mapInspection(p, { site: config.site, line: config.line });
          if (!r.ok) return { code: 'INVALID_ARGUMENT', reason: describeProblems(r.problems) };
          const id = RED.util.generateId();
          if (!admission.tryAcquire(id)) {
            return { code: 'RESOURCE_EXHAUSTED', reason: `the flow is behind: ${admission.waiting} inspections waiting (max ${admission.max}); retry later` };
          }
          node.send({ _msgid: id, payload: r.inspection });
          return { code: 'OK' };
        },
      });

      // Which wired nodes complete messages is known once they exist (the first call comes after the flow
      // started). Nodes whose input handler takes no done() never fire onComplete: they are not waited for.
      let counted = false;
      const countCompletions = () => {
        if (counted) return;
        counted = true;
        if (config.releaseOn === 'send') return;
        const completing = [...wired].filter((id) => takesDone(RED.nodes.getNode(id)));
        admission.setCompletionsNeeded(completing.length);
        if (completing.length < wired.size) node.debug?.(`${label}: ${wired.size - completing.length} wired node(s) never call done(); not waited for`);
      };

      // Node-RED fires onComplete whenever a node calls done(); the slot is freed when every wired node has.
      const hooks = messageHooks(RED);
      const hookName = `onComplete.linesightIntake${node.id.replace(/[^A-Za-z0-9]/g, '')}`;
      if (config.releaseOn === 'done' && wired.size > 0) {
        hooks.add(hookName, (e) => {
          if (e.msg?._msgid && wired.has(e.node.id)) admission.complete(e.msg._msgid, e.node.id);
        });
      }

      let closed = false;
      let retry: NodeJS.Timeout | undefined;
      const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
      const listen = async () => {
        if (closed) return;
        node.status(status.connecting(`binding ${config.host}:${config.port}`));
        try {
          const port = await server.start();
          if (closed) return void (await server.close(0));
          backoff.reset();
          node.log(`${label} listening on ${config.host}:${port} (${config.tls === 'none' ? 'plaintext' : config.tls})`);
          node.status(status.ok(`listening :${port}`));
        } catch (err) {
          const wait = backoff.next();
          node.status(status.disconnected(`cannot listen: ${(err as Error).message}`));
          node.warn(`${label} cannot listen on ${config.host}:${config.port}: ${(err as Error).message}; retrying in ${wait} ms`);
          retry = setTimeout(listen, wait);
        }
      };
      void listen();

      const snapshot = (port: number): IntakeSnapshot => {
        const s = server.stats;
        const c = server.connections;
        return {
          port,
          calls: s.calls,
          rejected: s.invalid + s.exhausted + s.unauthenticated,
          unauthenticated: s.unauthenticated,
          waiting: admission.waiting,
          maxWaiting: admission.max,
          connections: c.open,
          maxConnections: config.maxConnections,
          refusedConnections: c.refused,
        };
      };

      // Status once a second: calls/s, waiting, rejections, and the connection limit when it bites.
      let previous: IntakeSnapshot | undefined;
      let warned: IntakeSnapshot | undefined;
      let warnedAt = 0;
      let lastText = '';
      const ticker = setInterval(() => {
        if (server.port === undefined) return;
        const before = admission.expired;
        admission.expire();
        if (admission.expired > before) {
          node.warn(`${label}: ${admission.expired - before} inspection(s) released after ${config.holdTimeoutS} s without completing: does a node after this one never call done()?`);
        }
        const now = snapshot(server.port);
        const warning = Date.now() - warnedAt >= WARN_EVERY_MS ? refusalWarning(warned, now) : undefined;
        if (warning) {
          node.warn(`${label}: ${warning}`);
          warned = now;
          warnedAt = Date.now();
        }
        const next = intakeStatus(previous, now);
        previous = now;
        if (next.text === lastText) return;
        lastText = String(next.text);
        node.status(next);
      }, 1000);

      return {
        async close() {
          closed = true;
          clearInterval(ticker);
          if (retry) clearTimeout(retry);
          hooks.remove(hookName);
          await server.close();
          admission.clear();
          node.status(status.clear());
        },
      };
    },
  );
};
