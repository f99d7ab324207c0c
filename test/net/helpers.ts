/** Shared fixtures of the test/net tests: deterministic keys and a finished handshake pair. */

import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { Handshake, type HandshakeDone, type HandshakeOptions } from '../../src/net/index.js';

/** A deterministic 32-byte key from a label. */
export const key = (label: string): Uint8Array => sha256(utf8ToBytes(label));

export const hex = (s: string): Uint8Array => hexToBytes(s);

/** test/vectors/noise-xx.json */
export const VECTORS = JSON.parse(
  readFileSync(new URL('../vectors/noise-xx.json', import.meta.url), 'utf8'),
) as {
  source: string;
  noise: {
    name: string;
    protocol_name: string;
    init_prologue: string;
    init_static: string;
    init_ephemeral: string;
    resp_prologue: string;
    resp_static: string;
    resp_ephemeral: string;
    handshake_hash?: string;
    messages: { payload: string; ciphertext: string }[];
  }[];
  example: {
    prologue: string;
    initiator: Side;
    responder: Side;
    messages: string[];
    handshakeHash: string;
    initiatorToResponderKey: string;
    responderToInitiatorKey: string;
    frames: {
      from: 'initiator' | 'responder';
      frame: { type: string; message?: string; data?: string; reason?: string };
      plaintext: string;
      ciphertext: string;
    }[];
  };
};

interface Side {
  identitySecretKey: string;
  staticSecretKey: string;
  ephemeralSecretKey: string;
  extension: string;
  id: string;
  staticPublicKey: string;
  identityPayload: string;
}

/** Options of a node named `name` (keys derived from the name; the ephemeral key also from `run`). */
export function sideOptions(
  name: string,
  role: 'initiator' | 'responder',
  run = 0,
  extra: Partial<HandshakeOptions> = {},
): HandshakeOptions {
  return {
    role,
    identitySecretKey: key(`${name}/identity`),
    staticSecretKey: key(`${name}/static`),
    ephemeralSecretKey: key(`${name}/ephemeral/${run}`),
    ...extra,
  };
}

/** Runs a full handshake between two fresh machines; returns the messages and both results. */
export function handshakePair(
  initOpts: HandshakeOptions = sideOptions('alice', 'initiator'),
  respOpts: HandshakeOptions = sideOptions('bob', 'responder'),
): {
  initiator: Handshake;
  responder: Handshake;
  messages: Uint8Array[];
  init: HandshakeDone;
  resp: HandshakeDone;
} {
  const initiator = new Handshake(initOpts);
  const responder = new Handshake(respOpts);
  const m1 = initiator.start()!;
  const s2 = responder.receive(m1);
  const s3 = initiator.receive(s2.send!);
  const s4 = responder.receive(s3.send!);
  if (!s3.done || !s4.done) throw new Error(`handshake failed: ${s3.error ?? s4.error}`);
  return { initiator, responder, messages: [m1, s2.send!, s3.send!], init: s3.done, resp: s4.done };
}
