#!/usr/bin/env node
// The `tabula` executable: everything happens in run(); the exit code is set, never forced, so that
// buffered output reaches pipes before the process ends.
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
