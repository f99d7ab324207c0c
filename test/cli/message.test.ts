/** The chat envelope of `gtt join`, and what reaches the terminal from the network. */
import { expect, it } from 'vitest';
import { decodeChat, encodeChat } from '../../src/cli/message.js';
import { sanitize } from '../../src/cli/output.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

it('a chat line round-trips through its envelope, with and without a name', () => {
  expect(new TextDecoder().decode(encodeChat('hi', 'alice'))).toBe('{"name":"alice","text":"hi"}');
  expect(decodeChat(encodeChat('hi', 'alice'))).toEqual({ name: 'alice', text: 'hi', hex: undefined });
  expect(decodeChat(encodeChat('{"text":"x"}', undefined))).toEqual({
    name: undefined,
    text: '{"text":"x"}',
    hex: undefined,
  });
});

it("another app's payload shows as its text, or as hex when it is not UTF-8", () => {
  expect(decodeChat(utf8('plain words'))).toEqual({ name: undefined, text: 'plain words', hex: undefined });
  expect(decodeChat(utf8('{"name":3,"text":"x"}')).text).toBe('{"name":3,"text":"x"}');
  expect(decodeChat(utf8('[1,2]')).text).toBe('[1,2]');
  expect(decodeChat(Uint8Array.of(0xff, 0x00, 0x10))).toEqual({
    name: undefined,
    text: undefined,
    hex: 'ff0010',
  });
});

it('control characters and bidi overrides from the network never reach the terminal', () => {
  expect(sanitize('a\u001b[2Jb\rc\u202ed')).toBe('a\ufffd[2Jb\ufffdc\ufffdd');
  expect(sanitize('héllo wörld 👋')).toBe('héllo wörld 👋');
});
