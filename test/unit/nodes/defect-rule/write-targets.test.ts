// A rule's writes against the tag table of the plc-write it is wired to (#16: "alarm_lamp" copied from
// an old README failed only at run time, with a blue dot).
import assert from 'node:assert/strict';
import { writeTagProblems, writeTagReason, writeTargetsOf, type WriteTarget } from '../../../../nodes/defect-rule/write-targets';
import { SIM_MODBUS_TAGS } from '../../../../runtime/dev/simulators/plc-tags';

const flow = [
  { id: 'pw', type: 'plc-write', name: 'line actions', endpoint: 'ep' },
  { id: 'ep', type: 'plc-endpoint', name: 'line PLC', tags: SIM_MODBUS_TAGS },
  { id: 'dbg', type: 'debug' },
  { id: 'pw2', type: 'plc-write', name: 'no endpoint', endpoint: '' },
];
const lookup = (id: string) => flow.find((n) => n.id === id);

describe('defect-rule: writes checked against the wired plc-write\'s tag table', () => {
  const targets: WriteTarget[] = writeTargetsOf(['pw', 'dbg', 'pw2', 'missing'], lookup);

  it('finds the plc-write with an endpoint table among the wired nodes (a debug, a write without endpoint and a dangling id are skipped)', () => {
    assert.equal(targets.length, 1);
    assert.equal(targets[0].label, 'plc-write "line actions" (plc-endpoint "line PLC")');
  });

  it('a near miss names the table\'s spelling; an unknown tag lists the writable ones; a read-only tag says so', () => {
    assert.equal(writeTagReason('AlarmLamp', targets[0]), undefined);
    assert.equal(writeTagReason('alarm_lamp', targets[0]), '"alarm_lamp" is not a tag of plc-write "line actions" (plc-endpoint "line PLC"); did you mean "AlarmLamp"?');
    assert.match(writeTagReason('Siren', targets[0])!, /"Siren" is not a tag of .*\(writable: SpeedSetpoint, ProductCode, AlarmLamp, Horn, Diverter, LineStop\)/);
    assert.equal(writeTagReason('LineSpeed', targets[0]), '"LineSpeed" is not writable in plc-write "line actions" (plc-endpoint "line PLC")');
  });

  it('names the rule and the field of every bad write and reset write', () => {
    const rules = [
      { id: 'ok', action: { kind: 'alarm', writes: [{ tag: 'AlarmLamp', value: true }] } },
      { id: 'readme', action: { kind: 'alarm', writes: [{ tag: 'alarm_lamp', value: true }], resetWrites: [{ tag: 'Horn', value: false }, { tag: 'LineSpeed', value: 0 }] } },
    ];
    assert.deepEqual(
      writeTagProblems(rules, targets).map((p) => `${p.ruleId} ${p.field}`),
      ['readme action.writes[0].tag', 'readme action.resetWrites[1].tag'],
    );
    assert.deepEqual(writeTagProblems(rules, []), [], 'nothing wired: nothing to check');
  });
});
