import assert from 'node:assert/strict';
import { brokerAclSections, DATA_KINDS } from '../../../../runtime/repo/broker-acl';

describe('broker ACL sections (linesight flows broker-acl)', () => {
  it('grants a line its own line, a factory its site, a cloud worker every site, kind by kind', () => {
    const text = brokerAclSections([
      { id: 'line-1', tier: 'line', parameters: { SITE: 'plant1', LINE: 'line1' } },
      { id: 'factory-1', tier: 'factory', labels: { site: 'plant1' } },
      { id: 'cloud-worker-1', tier: 'cloud' },
    ]);
    const sections = text.trim().split('\n\n');
    assert.deepEqual(sections, [
      ['user cloud-worker-1', ...DATA_KINDS.map((k) => `topic read linesight/+/+/${k}`)].join('\n'),
      ['user factory-1', ...DATA_KINDS.map((k) => `topic readwrite linesight/plant1/+/${k}`)].join('\n'),
      ['user line-1', ...DATA_KINDS.map((k) => `topic readwrite linesight/plant1/line1/${k}`)].join('\n'),
    ]);
    assert.ok(!/#/.test(text), 'no multi-level wildcard that could cover a fleet topic');
  });

  it('parameters win over labels', () => {
    assert.match(brokerAclSections([{ id: 'l', tier: 'line', parameters: { SITE: 'p2', LINE: 'x' }, labels: { site: 'p1', line: 'y' } }]), /linesight\/p2\/x\/inspection/);
  });

  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['no site', { LINE: 'l1' }, /site is not set \(parameter SITE or label site\)/],
    ['no line', { SITE: 'p1' }, /line is not set/],
    ['a wildcard in the site', { SITE: '+', LINE: 'l1' }, /site "\+" is not a plain topic level/],
    ['a separator in the line', { SITE: 'p1', LINE: 'a/b' }, /line "a\/b" is not a plain topic level/],
    ['a multi-level wildcard', { SITE: 'p1', LINE: '#' }, /line "#" is not a plain topic level/],
    ['the fleet site', { SITE: 'fleet', LINE: 'line-a' }, /site "fleet" is reserved for fleet control/],
  ];
  for (const [what, parameters, reason] of refused) {
    it(`grants nothing for ${what}, and says why`, () => {
      const text = brokerAclSections([{ id: 'dev-1', tier: 'line', parameters }]);
      assert.match(text, /^# dev-1 \(line\): no data topics, /);
      assert.match(text, reason);
      assert.ok(!/^user /m.test(text) && !/^topic /m.test(text), text);
    });
  }
});
