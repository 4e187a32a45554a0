import { describe, expect, it } from 'vitest';
import { sesTenantName } from '../../functions/core/ses-tenant';

describe('sesTenantName', () => {
  it('names the SES tenant tm-<tenantId>', () => {
    // Act / Assess
    expect(sesTenantName('acme')).toBe('tm-acme');
    expect(sesTenantName('a'.repeat(61))).toBe(`tm-${'a'.repeat(61)}`);
  });

  it('keeps long ids within SES’s 64 characters, distinct even when they share a long prefix', () => {
    // Prepare
    const first = `${'x'.repeat(60)}-one`;
    const second = `${'x'.repeat(60)}-two`;

    // Act
    const names = [sesTenantName(first), sesTenantName(second)];

    // Assess
    for (const name of names) expect(name).toMatch(/^tm-x{52}-[0-9a-f]{8}$/);
    expect(names[0]).not.toBe(names[1]);
    expect(sesTenantName(first)).toBe(names[0]);
  });
});
