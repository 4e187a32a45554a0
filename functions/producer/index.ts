/** The producer's public surface: a typed client that validates and enqueues mail for the dispatcher. */
export * from './encode';
export * from './enqueue';
