#!/usr/bin/env node
// The package bin: loads the TypeScript sources through tsx (no build step) and runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/client.ts');
runCli(process.argv);
