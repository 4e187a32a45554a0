import { describe, expect, it } from 'vitest';
import type { QueueMessage } from '../../functions/core/message';
import { allOf, onlyThese, owedRecipients } from '../../functions/dispatcher/recipients';

function message(to: string[], cc?: string[], bcc?: string[]): QueueMessage {
  return {
    v: 1,
    tenantId: 'acme',
    kind: 'notification',
    to,
    ...(cc !== undefined && { cc }),
    ...(bcc !== undefined && { bcc }),
    subject: 's',
    text: 't',
  };
}

describe('owedRecipients', () => {
  it('lists every recipient once, even when it is in to, cc and bcc (to first, then cc)', () => {
    // Prepare
    const m = message(
      ['a@x.test', 'b@x.test'],
      ['A@x.test', 'c@x.test'],
      ['b@x.test', 'c@X.test', 'd@x.test'],
    );

    // Act
    const owed = owedRecipients(m);

    // Assess
    expect(owed).toEqual({ to: ['a@x.test', 'b@x.test'], cc: ['c@x.test'], bcc: ['d@x.test'] });
    expect(allOf(owed)).toHaveLength(4);
  });

  it('leaves out the recipients an earlier attempt settled, whatever their case', () => {
    // Prepare
    const m = message(['a@x.test', 'b@x.test'], ['c@x.test'], ['d@x.test']);

    // Act
    const owed = owedRecipients(m, ['B@x.test', 'd@x.test']);

    // Assess
    expect(owed).toEqual({ to: ['a@x.test'], cc: ['c@x.test'], bcc: [] });
  });

  it('keeps only the given addresses with onlyThese', () => {
    // Prepare
    const owed = owedRecipients(message(['a@x.test'], ['c@x.test'], ['d@x.test']));

    // Act
    const kept = onlyThese(owed, ['C@x.test']);

    // Assess
    expect(kept).toEqual({ to: [], cc: ['c@x.test'], bcc: [] });
  });
});
