/** `gossip-topic-tracker/gossip` for README.md's snippets (see index.ts): unchanged. */
export * from '../../../src/gossip.js';
