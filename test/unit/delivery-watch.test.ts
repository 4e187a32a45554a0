import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DESCRIBED_PER_SECOND, deliveryWatch } from '../../infra/local/demo';
import type { StackInfo } from '../../infra/local/stack';

// The local stack's watch log describes up to DESCRIBED_PER_SECOND deliveries a second and counts the
// rest in one line (docs/design.md §16). Records left queued are described without an API call.

function queued(n: number): SQSRecord[] {
  return Array.from(
    { length: n },
    (_, i) =>
      ({
        messageId: `m-${i}`,
        body: JSON.stringify({ tenantId: 'acme', idempotencyKey: `k-${i}` }),
      }) as SQSRecord,
  );
}

describe('the local delivery watch log', () => {
  it('describes the first deliveries of a second and counts the rest in one line', async () => {
    const lines: string[] = [];
    const watch = deliveryWatch({ apiUrl: 'http://127.0.0.1:9' } as StackInfo, (line) => lines.push(line));
    const records = queued(DESCRIBED_PER_SECOND + 7);
    await watch.onBatch(records, new Set(records.map((r) => r.messageId)));
    watch.close();
    const described = lines.filter((l) => l.includes('left queued for a retry'));
    const counted = lines.filter((l) => l.includes('more finished'));
    // Two seconds may begin within the call: then more are described and fewer counted.
    expect(described.length).toBeGreaterThanOrEqual(DESCRIBED_PER_SECOND);
    expect(described.length + Number(/and (\d+) more/.exec(counted[0] ?? '')?.[1] ?? 0)).toBe(records.length);
    if (described.length === DESCRIBED_PER_SECOND) {
      expect(counted).toHaveLength(1);
      expect(counted[0]).toContain('and 7 more finished (7 of them left queued)');
    }
  });

  it('says nothing more when every delivery was described', async () => {
    const lines: string[] = [];
    const watch = deliveryWatch({ apiUrl: 'http://127.0.0.1:9' } as StackInfo, (line) => lines.push(line));
    const records = queued(3);
    await watch.onBatch(records, new Set(records.map((r) => r.messageId)));
    watch.close();
    expect(lines).toHaveLength(3);
  });
});
