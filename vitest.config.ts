import { defineConfig } from 'vitest/config';

// Every test process gets a region, dummy credentials and no instance-metadata probing: the SDK must
// never reach for 169.254.169.254. Endpoints are set per test to servers on 127.0.0.1.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // fauxqs 2 loads node:sqlite, experimental on Node 22: its start-up notice is noise in test output.
    execArgv: ['--disable-warning=ExperimentalWarning'],
  },
});
