#!/usr/bin/env node
// The `pyfleet` command: the compiled CLI (`npm run build` makes dist/ in a checkout;
// from source, run `node --conditions=pyfleet-source --import tsx server/src/cli/main.ts`).
import "../dist/cli/main.js";
