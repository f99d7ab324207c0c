/** `gossip-topic-tracker/testing` for README.md's snippets (see index.ts): unchanged. */
export * from '../../../src/testing.js';
