import assert from 'node:assert/strict';
import { MODE, PlcLine } from '../../../../../runtime/dev/simulators/plc-line';

describe('simulated PLC line', () => {
  it('ramps to the setpoint, counts products, stops on LineStop, diverts to rejects', () => {
    let now = 0;
    const line = new PlcLine(now, 60);
    for (let i = 0; i < 30; i++) line.tick((now += 100));
    assert.equal(line.get('LineSpeed'), 120, 'ramped up within 2 s at 60 m/min/s');
    assert.equal(line.get('Mode'), MODE.running);
    const good = line.get('GoodCount') as number;
    assert.ok(good > 0);
    line.coils[2] = true;
    for (let i = 0; i < 10; i++) line.tick((now += 100));
    assert.equal(line.get('GoodCount'), good);
    assert.ok((line.get('RejectCount') as number) > 0);
    line.coils[3] = true;
    for (let i = 0; i < 30; i++) line.tick((now += 100));
    assert.equal(line.get('LineSpeed'), 0);
    assert.equal(line.get('Mode'), MODE.stopped);
    assert.equal(line.get('Running'), false);
    line.coils[0] = true;
    line.tick((now += 100));
    assert.equal(line.get('Mode'), MODE.alarm);
  });
});
