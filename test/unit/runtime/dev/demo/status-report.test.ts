// `npm start` prints its status only when it changes and deployments as events (#16).
import assert from 'node:assert/strict';
import { StatusReport, type StatusSnapshot } from '../../../../../runtime/dev/demo/status-report';

const snap = (rows: number, lamp: boolean | null, state = 'running', reasons: string[] = []): StatusSnapshot => ({
  historyRows: rows,
  alarmLamp: lamp,
  alarmLampSeenOn: lamp === true,
  devices: [{ id: 'line-1', state, running: 'line-inspection@1.0.0', reasons }],
});

describe('demo status report', () => {
  it('prints the first status, then nothing while only the row count grows', () => {
    const r = new StatusReport();
    assert.equal(r.statusLine(snap(0, false)), 'cloud history: no inspections yet; alarm lamp: off; line-1 running line-inspection@1.0.0');
    assert.equal(r.statusLine(snap(0, false)), undefined);
    assert.equal(r.statusLine(snap(12, false)), 'cloud history: 12 inspections; alarm lamp: off; line-1 running line-inspection@1.0.0');
    assert.equal(r.statusLine(snap(40, false)), undefined, 'growing rows are not news');
    assert.equal(r.statusLine(snap(1204, false)), undefined);
  });

  it('prints when the lamp, a device state or its reason changes, or the rows stop', () => {
    const r = new StatusReport();
    r.statusLine(snap(10, false));
    assert.match(r.statusLine(snap(20, true))!, /alarm lamp: ON \(has lit\)/);
    assert.equal(
      r.statusLine(snap(30, true, 'drifted', ['edited in the local editor: nodes 1 changed (defect-rule "defect rules": rules)'])),
      'cloud history: 30 inspections; alarm lamp: ON (has lit); line-1 drifted line-inspection@1.0.0 (edited in the local editor: nodes 1 changed (defect-rule "defect rules": rules))',
    );
    assert.match(r.statusLine(snap(30, true, 'drifted', ['edited in the local editor: nodes 1 changed (defect-rule "defect rules": rules)']))!, /30 inspections \(not growing\)/);
  });

  it('names each deployment and device state change once, as events', () => {
    const r = new StatusReport();
    const dep = (state: string, dev: string, reasons: string[] = []) => [{ id: 'd1', template: 'line-inspection', version: '1.0.1', state, devices: [{ deviceId: 'line-1', state: dev, reasons }] }];
    assert.deepEqual(r.deploymentEvents(dep('rolling out', 'pending')), ['deployment line-inspection@1.0.1 (d1): rolling out', 'deployment line-inspection@1.0.1 (d1): line-1 pending']);
    assert.deepEqual(r.deploymentEvents(dep('rolling out', 'pending')), []);
    assert.deepEqual(r.deploymentEvents(dep('rolling out', 'downloading')), ['deployment line-inspection@1.0.1 (d1): line-1 pending -> downloading']);
    assert.deepEqual(r.deploymentEvents(dep('completed', 'running')), [
      'deployment line-inspection@1.0.1 (d1): rolling out -> completed',
      'deployment line-inspection@1.0.1 (d1): line-1 downloading -> running',
    ]);
    assert.deepEqual(r.deploymentEvents(dep('halted', 'failed', ['node errors in the health window'])).slice(-1), ['deployment line-inspection@1.0.1 (d1): line-1 running -> failed (node errors in the health window)']);
  });
});
