// Nesting depth of request bodies, bounded BEFORE they are parsed; deeper is a 400. A
// parser handed 10^6 levels spends seconds and memory on them, and everything after it
// that recurses overflows the stack. The scans here are one linear pass that stops as
// soon as the limit is passed, so a flood of deep bodies costs little.
//
// The bounds are lower than Kubernetes' 10,000 (Go's decoders are iterative or have deep
// stacks): what runs after parsing here recurses on the JavaScript stack (structuredClone
// fails near 5,000 levels, merges and validation sooner), and the yaml package recurses
// too: it overflows near 900 flow levels, and an overflow that lands inside V8's RegExp
// compiler aborts the whole process ("RegExpCompiler Allocation failed"). So JSON may nest
// 1,000 levels and YAML that is not JSON 500, about half of what the code can take;
// real objects nest a few dozen.
import { CST, Lexer } from 'yaml';

/** JSON (and JSON sent as YAML, which kubectl does for apply) */
export const MAX_BODY_DEPTH = 1_000;
/** YAML that is not JSON */
export const MAX_YAML_DEPTH = 500;

/** JSON: brackets outside strings, exactly. Returns true when nesting exceeds `limit`. */
export function jsonTooDeep(text: string, limit = MAX_BODY_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // skip the string; a backslash escapes the next character
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      if (depth > 0) depth--;
    }
  }
  return false;
}

/**
 * YAML, conservatively (may over-count, never under-counts). Nesting is flow collections
 * ([ {) inside block collections, and block nesting needs either more indentation or an
 * indicator (`- `, `? `, `: `) on the same line, at most twice per indentation step (a
 * sequence may sit at its parent mapping's indentation). A first pass over the characters
 * bounds depth by (all brackets) + 2·(indentation + indicators + 1) of the worst line; only
 * a body that may pass the limit by that bound is run through the yaml package's own
 * lexer (linear, no tree), which tells flow brackets from brackets inside scalars.
 */
export function yamlTooDeep(text: string, limit = MAX_YAML_DEPTH): boolean {
  if (quickYamlBound(text) <= limit) return false;
  return lexedYamlDepth(text, limit) > limit;
}

function quickYamlBound(text: string): number {
  let brackets = 0;
  let worstLine = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a /* \n */) {
      worstLine = Math.max(worstLine, 2 * (indent + indicators + 1));
      indent = 0;
      indicators = 0;
      lineStart = true;
      continue;
    }
    if (lineStart) {
      if (c === 0x20) {
        indent++;
        continue;
      }
      lineStart = false;
    }
    if (c === 0x5b || c === 0x7b) brackets++;
    else if (
      (c === 0x2d /* - */ || c === 0x3f /* ? */ || c === 0x3a) /* : */ &&
      (i + 1 >= n ||
        text.charCodeAt(i + 1) === 0x20 ||
        text.charCodeAt(i + 1) === 0x0a ||
        text.charCodeAt(i + 1) === 0x09)
    )
      indicators++;
  }
  worstLine = Math.max(worstLine, 2 * (indent + indicators + 1));
  return brackets + worstLine;
}

/** the bound from the yaml lexer's tokens; stops once past `limit` */
function lexedYamlDepth(text: string, limit: number): number {
  let flow = 0;
  let flowMax = 0;
  let blockMax = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  for (const tok of new Lexer().lex(text)) {
    const type = CST.tokenType(tok);
    switch (type) {
      case 'newline':
        blockMax = Math.max(blockMax, 2 * (indent + indicators + 1));
        indent = 0;
        indicators = 0;
        lineStart = true;
        continue;
      case 'space':
        if (lineStart) indent += tok.length;
        continue;
      case 'flow-map-start':
      case 'flow-seq-start':
        flowMax = Math.max(flowMax, ++flow);
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        if (flow > 0) flow--;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        // inside [ ] and { } they are flow syntax, counted by the brackets
        if (flow === 0) indicators++;
        break;
      default:
        // a multi-line scalar (block scalar, quoted or plain over lines) ends lines inside
        if (tok.includes('\n')) {
          blockMax = Math.max(blockMax, 2 * (indent + indicators + 1));
          const tail = tok.slice(tok.lastIndexOf('\n') + 1);
          indent = tail.length - tail.trimStart().length;
          indicators = 0;
          lineStart = tail.trim() === '';
          continue;
        }
        break;
    }
    lineStart = false;
    if (flowMax + Math.max(blockMax, 2 * (indent + indicators + 1)) > limit) return limit + 1;
  }
  return flowMax + Math.max(blockMax, 2 * (indent + indicators + 1));
}

/**
 * Walk a decoded value without recursion: true when it nests deeper than `maxDepth` or its
 * strings, keys and scalars add up to more than `maxSize` characters (a YAML alias is
 * only a reference until something serializes it: 100 aliases of a 3 MB string are a
 * 300 MB object). Stops as soon as either is passed.
 */
export function valueTooLarge(
  value: unknown,
  maxDepth = MAX_BODY_DEPTH,
  maxSize = Infinity,
): 'depth' | 'size' | undefined {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  let size = 0;
  while (stack.length) {
    const { v, d } = stack.pop()!;
    if (typeof v === 'string') size += v.length + 2;
    else if (v === null || typeof v !== 'object') size += 8;
    else {
      if (d + 1 > maxDepth) return 'depth';
      if (Array.isArray(v)) {
        size += 2;
        for (const child of v) stack.push({ v: child, d: d + 1 });
      } else {
        for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
          size += k.length + 3;
          stack.push({ v: child, d: d + 1 });
        }
      }
    }
    if (size > maxSize) return 'size';
  }
  return undefined;
}
