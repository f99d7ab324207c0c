/** `gossip-topic-tracker/records` for README.md's snippets (see index.ts): unchanged. */
export * from '../../../src/records.js';
