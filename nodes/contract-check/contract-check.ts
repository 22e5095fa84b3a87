// contract-check: routes messages whose payload is a valid Linesight contract to output 1 and the
// rest to output 2 with the fields that failed, so data from outside (HTTP, files, other vendors)
// is checked once at the edge of a flow.
import type { NodeAPI } from 'node-red';
import { defineNode, status, fmt } from '../kit/node-kit';
import { checkPayload } from './check';
import type { ContractCheckConfig } from './contract-check.schema';

export = function register(RED: NodeAPI) {
  defineNode<ContractCheckConfig>(RED, { type: 'contract-check', configSchema: 'ContractCheckConfig' }, ({ node, config }) => {
    let good = 0;
    let bad = 0;
    node.status(status.ok(`expects ${config.contract}`));
    return {
      input(msg, send, done) {
        const { kind, problems } = checkPayload(config.contract, msg.payload);
        if (problems.length === 0) {
          good++;
          (msg as Record<string, unknown>).contract = kind;
          send([msg, null]);
        } else {
          bad++;
          (msg as Record<string, unknown>).error = { message: problems.map((p) => `${p.field} ${p.reason}`).join('; '), problems };
          send([null, msg]);
        }
        node.status(bad ? status.busy(`${fmt(good)} valid, ${fmt(bad)} invalid`) : status.ok(`${fmt(good)} valid`));
        done();
      },
    };
  });
};
