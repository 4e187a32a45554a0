/** The core layer's public surface: pure decisions, no I/O. */
export * from './address';
export * from './classify';
export * from './fallback';
export * from './headers';
export * from './health';
export * from './idempotency';
export * from './message';
export * from './oauth2';
export * from './retry';
export * from './route';
export * from './types';
export * from './url';
