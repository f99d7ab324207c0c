/**
 * The chat envelope of `gtt join`: a message is the UTF-8 JSON `{"name"?: string, "text": string}`.
 * Anything else on the topic (another app's payload) is shown as its UTF-8 text, or as hex.
 */
/** A message as `gtt join` shows it. */
export interface ChatMessage {
  /** The sender's `--name`, if its envelope had one. */
  name: string | undefined;
  /** The text; undefined when the payload is not UTF-8 (then `hex` holds it). */
  text: string | undefined;
  hex: string | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The payload of one chat line. */
export function encodeChat(text: string, name: string | undefined): Uint8Array {
  return encoder.encode(JSON.stringify(name === undefined ? { text } : { name, text }));
}

/** Reads a payload: our envelope, else plain UTF-8 text, else hex. Never throws. */
export function decodeChat(bytes: Uint8Array): ChatMessage {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return {
      name: undefined,
      text: undefined,
      hex: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex'),
    };
  }
  const envelope = parseEnvelope(text);
  return envelope ?? { name: undefined, text, hex: undefined };
}

function parseEnvelope(text: string): ChatMessage | undefined {
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { name, text: body } = value as Record<string, unknown>;
  if (typeof body !== 'string' || (name !== undefined && typeof name !== 'string')) return undefined;
  return { name, text: body, hex: undefined };
}
