// The kit's status vocabulary speaks the runtime's language: with a translator (Node-RED's RED._ in a
// real runtime) the default words come from the `kit.status.*` keys every node catalog carries; a
// missing key falls back to English, and an explicit text is never touched.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../../runtime/paths';
import { status, statusWord, useTranslator } from '../../../../nodes/kit/node-kit';
import { lookup } from '../../../../nodes/kit/editor/form';

const catalog = (lang: string) => JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'dist', 'nodes', 'plc-read', 'locales', lang, 'plc-read.json'), 'utf8'));
const translatorFor = (lang: string) => {
  const cat = catalog(lang);
  return (key: string) => lookup(cat, key) ?? `linesight/plc-read:${key}`;
};

describe('node kit: status words in the runtime language', () => {
  after(() => useTranslator(undefined));

  it('says connecting / disconnected / failed in Chinese with the zh-CN catalog', () => {
    useTranslator(translatorFor('zh-CN'));
    assert.deepEqual(status.connecting(), { fill: 'yellow', shape: 'ring', text: '连接中' });
    assert.deepEqual(status.disconnected(), { fill: 'red', shape: 'ring', text: '已断开' });
    assert.equal(status.failed().text, '失败');
    assert.equal(status.ok().text, '正常');
    assert.equal(statusWord('invalidConfig'), '配置无效');
  });

  it('keeps the English words with the en-US catalog (what the tests and the logs have always read)', () => {
    useTranslator(translatorFor('en-US'));
    assert.deepEqual([status.ok().text, status.connecting().text, status.disconnected().text, status.failed().text, statusWord('failedToStart')], ['ok', 'connecting', 'disconnected', 'failed', 'failed to start']);
  });

  it('falls back to English when the catalog lacks the word or the translator fails, and leaves explicit texts alone', () => {
    useTranslator((key) => `linesight/x:${key}`);
    assert.equal(status.connecting().text, 'connecting');
    useTranslator(() => {
      throw new Error('i18n not ready');
    });
    assert.equal(status.disconnected().text, 'disconnected');
    useTranslator(translatorFor('zh-CN'));
    assert.equal(status.ok('listening :50051').text, 'listening :50051');
  });
});
