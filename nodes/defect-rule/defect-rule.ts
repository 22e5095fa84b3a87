// defect-rule: evaluates each Inspection against declarative rules and emits the LineActions plc-write
// carries out (output 1) and the inspection with its verdict (output 2). The engine is rule-engine.ts;
// this adapter maps config, messages, status and the editor's admin routes onto it.
import type { NodeAPI, NodeMessage } from 'node-red';
import { defineNode, status, fmt, LinesightError } from '../kit/node-kit';
import { inspectionContract, type LineAction } from '../../contracts/messages';
import type { DefectRuleConfig } from './defect-rule.schema';
import { RuleEngine, type PendingReset } from './rule-engine';
import { assertRules, parseClassList, ruleProblems } from './rule-validation';
import { runTrial, type TrialRequest } from './rule-trial';
import { StatusThrottle } from '../kit/status-throttle';
import { writeTagProblems, writeTargetsOf } from './write-targets';

const STATUS_EVERY_MS = 500;

// Holds still running when a node is redeployed, by node id: the new instance sends their resets, so a
// redeploy never leaves a lamp on. A removed node sends nothing more.
const carried = new Map<string, PendingReset[]>();

function parseRulesText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LinesightError(`rules message: payload is text but not JSON (${(err as Error).message})`, { field: 'payload' });
  }
}

export = function register(RED: NodeAPI) {
  // The editor validates as you type and runs "try it" through the same engine the node uses.
  const guard = RED.auth.needsPermission('defect-rule.write');
  RED.httpAdmin.post('/linesight/defect-rule/validate', guard, (req, res) => {
    const body = (req.body ?? {}) as { rules?: unknown; knownClasses?: string };
    res.json({ problems: ruleProblems(body.rules, { knownClasses: parseClassList(body.knownClasses) }) });
  });
  RED.httpAdmin.post('/linesight/defect-rule/try', guard, (req, res) => {
    try {
      res.json(runTrial((req.body ?? {}) as TrialRequest));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });

  defineNode<DefectRuleConfig>(RED, { type: 'defect-rule', configSchema: 'DefectRuleConfig' }, ({ node, config, label, def }) => {
    const knownClasses = parseClassList(config.knownClasses);
    const rules = assertRules(config.rules, { knownClasses });
    // At deploy: every write against the tag table of each plc-write the actions output is wired to. The
    // rules still run (a correct write still lands); the status stays red and names the first problem.
    const flow = new Map<string, Record<string, unknown>>();
    RED.nodes.eachNode((n) => void flow.set(n.id, n as unknown as Record<string, unknown>));
    const wiredTo = ((def as unknown as { wires?: string[][] }).wires?.[0] ?? []).filter((id) => typeof id === 'string');
    const tagProblems = writeTagProblems(rules, writeTargetsOf(wiredTo, (id) => flow.get(id) as never));
    if (tagProblems.length) node.error(`${label}: ${tagProblems.map((p) => `rule "${p.ruleId}" ${p.field}: ${p.reason}`).join('; ')}`);
    let inspections = 0;
    let fired = 0;
    let lastRule = '';
    let refused = '';

    const toMsg = (a: LineAction): NodeMessage => ({ topic: `linesight/${a.site}/${a.line}/actions`, payload: a });
    const engine = new RuleEngine(rules, {
      timeMode: config.timeMode,
      allowedLatenessMs: config.allowedLatenessMs,
      stateIdleMs: config.stateIdleMs,
      maxLinesPerRule: config.maxLinesPerRule,
      // A hold ends on a timer, outside any input: it is a new message of its own.
      onReset: (a) => node.send([toMsg(a), null]),
    });

    // Status is throttled: at 100 inspections/s the editor does not need 100 updates/s.
    const throttle = new StatusThrottle((s) => node.status(s), STATUS_EVERY_MS);
    const touchStatus = () => throttle.update(() => {
      if (tagProblems.length) return status.failed(`rule ${tagProblems[0].ruleId}: ${tagProblems[0].reason}`);
      const text = `${engine.ruleCount} rules, ${fmt(inspections)} inspected, ${fmt(fired)} fired${lastRule ? ` (last ${lastRule})` : ''}${refused}`;
      return fired ? status.busy(text) : status.ok(text);
    });
    const adopted = carried.get(node.id);
    carried.delete(node.id);
    if (adopted) engine.adoptHolds(adopted);
    touchStatus();

    return {
      input(msg, send, done) {
        if (msg.topic === 'rules') {
          try {
            // Rules arriving over MQTT or HTTP may still be JSON text.
            const next = typeof msg.payload === 'string' ? parseRulesText(msg.payload) : msg.payload;
            engine.replaceRules(assertRules(next, { knownClasses }));
            refused = '';
          } catch (err) {
            refused = ', replacement refused';
            touchStatus();
            throw err;
          }
          touchStatus();
          return done();
        }
        const insp = inspectionContract.assert(msg.payload);
        const { actions, verdict } = engine.evaluate(insp);
        inspections++;
        if (actions.length) {
          fired += actions.length;
          lastRule = actions[actions.length - 1].ruleId;
        }
        (msg as Record<string, unknown>).verdict = verdict;
        send([actions.length ? actions.map(toMsg) : null, msg] as never);
        touchStatus();
        done();
      },
      close(removed) {
        throttle.stop();
        if (!removed) carried.set(node.id, engine.drainHolds());
        engine.close();
      },
    };
  });
};
