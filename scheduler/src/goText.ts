// Go's text helpers whose output ends up in the scheduler's error messages: strings.Fields/TrimSpace (Unicode
// White_Space, which is not JavaScript's \s), strconv.Atoi with its errors, strconv.Quote, time's own quote(), and
// fmt's %s of a []string.

// unicode.IsSpace: '\t', '\n', '\v', '\f', '\r', ' ', U+0085, U+00A0 and the Unicode White_Space runes above Latin-1.
const goSpace = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

export function isGoSpace(ch: string): boolean {
  return goSpace.test(ch);
}

/** strings.Fields */
export function goFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of s) {
    if (isGoSpace(ch)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** strings.TrimSpace */
export function goTrimSpace(s: string): string {
  const chars = [...s];
  let start = 0;
  let end = chars.length;
  while (start < end && isGoSpace(chars[start] as string)) start++;
  while (end > start && isGoSpace(chars[end - 1] as string)) end--;
  return chars.slice(start, end).join('');
}

/** fmt.Sprintf("%s", []string{...}) */
export function goStringSlice(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const simpleEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** strconv.Quote (printable runes kept, the rest escaped as Go does). */
export function goStrconvQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const esc = simpleEscapes[ch];
    const cp = ch.codePointAt(0) as number;
    if (esc !== undefined) out += esc;
    else if (cp === 0x20 || (cp > 0x20 && cp < 0x7f)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (printable.test(ch)) out += ch;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** time's unexported quote(): bytes outside printable ASCII become \xHH per UTF-8 byte. */
export function goTimeQuote(s: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(s)) {
    if (b >= 0x80 || b < 0x20) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else {
      const c = String.fromCharCode(b);
      if (c === '"' || c === '\\') out += '\\';
      out += c;
    }
  }
  return `${out}"`;
}

const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

/** strconv.Atoi on a 64-bit platform; returns the value or throws Error with Go's message. */
export function goAtoi(s: string): bigint {
  const syntax = (): Error => new Error(`strconv.Atoi: parsing ${goStrconvQuote(s)}: invalid syntax`);
  let digits = s;
  let neg = false;
  if (digits.startsWith('+') || digits.startsWith('-')) {
    neg = digits[0] === '-';
    digits = digits.slice(1);
  }
  if (digits === '' || !/^[0-9]+$/.test(digits)) throw syntax();
  const value = neg ? -BigInt(digits) : BigInt(digits);
  if (value < int64Min || value > int64Max) {
    throw new Error(`strconv.Atoi: parsing ${goStrconvQuote(s)}: value out of range`);
  }
  return value;
}
