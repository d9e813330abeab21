#!/usr/bin/env node
// The `pyfleet-conformance` command: the compiled runner (`npm run build` makes dist/ in a
// checkout; from source, run `node --conditions=pyfleet-source --import tsx conformance/src/cli.ts`).
import "../dist/cli.js";
