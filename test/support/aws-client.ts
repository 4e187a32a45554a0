/**
 * What every SDK client a test builds uses: a local endpoint on 127.0.0.1, dummy credentials (never
 * reaching AWS) and no SDK retries, so a fault shows on the first call.
 */
export function localClientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  };
}
