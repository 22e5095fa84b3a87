#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'runtime', 'cli', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('linesight is not built yet: run `npm run build` in ' + path.join(__dirname, '..'));
  process.exit(2);
}
require(entry).main(process.argv).catch((err) => {
  // An error may echo a URL it was given (a broker or database URL with its password): print it redacted.
  const { redactText } = require(path.join(__dirname, '..', 'dist', 'lib', 'redact.js'));
  console.error(redactText(`linesight: ${err && err.message ? err.message : err}`));
  process.exit(1);
});
