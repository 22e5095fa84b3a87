#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'runtime', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('linesight is not built yet: run `npm run build` in ' + path.join(__dirname, '..'));
  process.exit(2);
}
require(entry).main(process.argv).catch((err) => {
  console.error(`linesight: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
