// plc-write: writes typed tag values to a PLC: `{tag, value}`, an array of them, or the `writes` of a
// LineAction from defect-rule. Every write of a message is checked (tag known, writable, type, range)
// before the first is sent; the message goes on with `msg.written` once all landed.
import type { NodeAPI } from 'node-red';
import { defineNode, fmt, status } from '../kit/node-kit';
import { linkEndpoint, writesFromPayload, WriteError } from '../plc-endpoint';
import { StatusThrottle } from '../kit/status-throttle';
import type { PlcWriteConfig } from './plc-write.schema';

export = function register(RED: NodeAPI) {
  defineNode<PlcWriteConfig>(RED, { type: 'plc-write', configSchema: 'PlcWriteConfig' }, ({ node, config, label }) => {
    let ok = 0;
    let failed = 0;
    const okText = () => (ok || failed ? `${fmt(ok)} written${failed ? `, ${fmt(failed)} failed` : ''}` : 'connected');
    const { driver, detach } = linkEndpoint(RED, config.endpoint, node, label, okText);
    const throttle = new StatusThrottle((s) => node.status(s));
    let lastError: string | undefined;
    // A failed write is a red dot naming why (an unknown tag, a value out of range) until a write lands again.
    const showOk = () =>
      throttle.update(() => {
        if (lastError) return status.failed(`${okText()}: ${lastError}`);
        return driver.state.phase === 'connected' ? status.ok(okText()) : undefined;
      });
    return {
      async input(msg, send, done) {
        let timer: NodeJS.Timeout | undefined;
        try {
          const writes = writesFromPayload(msg.payload);
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new WriteError(`${label}: writes did not complete within ${config.timeoutMs} ms`)), config.timeoutMs);
          });
          const written = await Promise.race([driver.write(writes, { verify: config.verify }), timeout]);
          ok += written.length;
          lastError = undefined;
          (msg as Record<string, unknown>).written = written;
          showOk();
          send(msg);
          done();
        } catch (err) {
          failed++;
          lastError = (err as Error).message;
          showOk();
          done(err as Error);
        } finally {
          clearTimeout(timer);
        }
      },
      close() {
        throttle.stop();
        detach();
      },
    };
  });
};
