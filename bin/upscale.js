#!/usr/bin/env node
// The `upscale` command: the bundled CLI and daemon (built by `npm run build`).
require('../dist/upscale.js');
