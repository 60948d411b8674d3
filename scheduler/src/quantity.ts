// Kubernetes resource quantities (`9.2E`, `2Gi`, `500M`), as `--etcd-space-quota` takes them (Dapr parses it with
// k8s.io/apimachinery resource.ParseQuantity). Only what a byte count needs: a decimal number and an optional
// binary (Ki…Ei) or decimal (k…E) suffix, or an exponent (`1e9`).
const suffixes: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Bytes (a float for the exa range); throws on text that is not a quantity. */
export function parseQuantity(text: string): number {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/.exec(text.trim());
  if (!match) throw new Error('quantities must match the regular expression of Kubernetes quantities (e.g. 9.2E, 2Gi, 8G)');
  const [, number, exponent, suffix = ''] = match;
  const value = Number(number) * (exponent ? 10 ** Number(exponent.slice(1)) : suffixes[suffix]!);
  if (value < 0) throw new Error('a space quota cannot be negative');
  return value;
}
