#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import('../dist/cli/entry.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/entry.js')) {
    console.error('error[NOT_BUILT]: modelfleet is not built yet.\n  hint: run `npm install` (or `npm run build`) in the modelfleet folder first.');
    process.exit(1);
  }
  throw err;
});
