import fc from 'fast-check';

/** Near-valid bodies: each member valid, missing, or replaced by something close to valid. */
export function nearValidSender(password: string) {
  return fc.record(
    {
      mode: fc.constantFrom('smtp', 'domain', 'platform', 'SMTP', '', 7),
      fallback: fc.constantFrom('platform', 'hold', 'never', null),
      sendTo: fc.constantFrom('ops@acme.example', 'ops', ''),
      smtp: fc.record(
        {
          host: fc.oneof(
            fc.constantFrom(
              'smtp.acme.example',
              'smtp2.acme.example',
              '127.0.0.1',
              '::1',
              'nope.example',
              '',
            ),
            fc.string({ maxLength: 300 }),
          ),
          port: fc.oneof(
            fc.constantFrom(25, 465, 587, 2525, 0, -1, 65536),
            fc.integer(),
            fc.double(),
            fc.string(),
          ),
          security: fc.constantFrom('tls', 'starttls', 'none', 'ssl', 1),
          username: fc.oneof(
            fc.constantFrom('notifications@acme.example', ''),
            fc.string({ maxLength: 300 }),
          ),
          password: fc.oneof(fc.constant(password), fc.string({ maxLength: 50 })),
          fromAddress: fc.oneof(
            fc.constantFrom('n@acme.example', 'x@other.example'),
            fc.emailAddress(),
            fc.string(),
          ),
          fromName: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('A\r\nB')),
          extra: fc.anything(),
        },
        { requiredKeys: [] },
      ),
      domain: fc.record(
        {
          name: fc.oneof(fc.constantFrom('acme.example', 'acme', 'ACME.EXAMPLE'), fc.domain(), fc.string()),
          fromAddress: fc.oneof(fc.constantFrom('a@acme.example', 'a@b.example'), fc.string()),
          fromName: fc.string({ maxLength: 20 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );
}

/** Near-valid PUT /tenants/{id}/notifications bodies: each member valid, missing, or close to valid. */
export const nearValidNotifications = fc.record(
  {
    emails: fc.oneof(
      fc.array(fc.constantFrom('ops@acme.example', 'OPS@acme.example', 'ops', '', 'a\r\nb@acme.example'), {
        maxLength: 7,
      }),
      fc.array(fc.emailAddress(), { maxLength: 6 }),
      fc.string(),
    ),
    webhook: fc.oneof(
      fc.constant(null),
      fc.record(
        {
          url: fc.oneof(
            fc.constantFrom(
              'https://hooks.acme.example/x',
              'http://hooks.acme.example/x',
              'https://127.0.0.1/',
            ),
            fc.webUrl(),
            fc.string({ maxLength: 300 }),
          ),
          secret: fc.oneof(
            fc.string({ minLength: 16, maxLength: 40 }),
            fc.string({ maxLength: 15 }),
            fc.integer(),
          ),
          extra: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    ),
    events: fc.oneof(
      fc.array(
        fc.constantFrom('sender.unhealthy', 'sender.recovered', 'messages.dead-lettered', 'test', 'nope'),
        {
          maxLength: 4,
        },
      ),
      fc.anything(),
    ),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
