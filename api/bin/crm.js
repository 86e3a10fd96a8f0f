#!/usr/bin/env node
// `crm` on the PATH (npx crm …): runs the TypeScript composition root through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../main.ts');
