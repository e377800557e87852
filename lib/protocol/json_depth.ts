/**
 * A linear scan that measures how deeply a JSON text nests, without parsing it. It runs before JSON.parse
 * so a hostile frame such as 10,000 nested arrays is refused cheaply instead of costing a recursive parse
 * (and whatever walks the result afterwards).
 */

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]

/**
 * True when `text` opens more than `maxDepth` objects or arrays at once. Brackets inside strings do not
 * count; a backslash inside a string skips the next character, so `\"` does not end the string.
 * The text need not be valid JSON: whatever this scan lets through, JSON.parse still judges.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      // An unmatched closer makes the text invalid; JSON.parse stops there before any deeper part.
      if (--depth < 0) return false;
    }
  }
  return false;
}
