// Go's time.Duration text form ("300ms", "1h30m", "-1.5s"), because every duration Dapr's binaries, Helm values and
// CRDs carry is written that way. Values are milliseconds (fractions allowed) — Node's timers work in milliseconds.

const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const component = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a Go duration string into milliseconds; throws an Error naming the bad text. */
export function parseGoDuration(text: string): number {
  const original = text;
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`invalid duration "${original}": empty`);
  let total = 0;
  component.lastIndex = 0;
  while (component.lastIndex < rest.length) {
    const start = component.lastIndex;
    const match = component.exec(rest);
    if (!match || match.index !== start) {
      throw new Error(`invalid duration "${original}": expected a number followed by one of ns, us, ms, s, m, h`);
    }
    total += Number(match[1]) * (unitMs[match[2] as string] as number);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a Duration ("1h0m0s", "1.5s", "300ms"), for logs and help text. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${trimNumber(rest)}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = `${trimNumber(rest / 1000)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trimNumber(value: number): string {
  return String(Number(value.toFixed(6)));
}
