// Parsers for the `dapr.io/*` annotations that hold lists: env vars, secret env vars, volume mounts, container
// names, and the app id's DNS rule. The syntax is Dapr's (spec §5.3); what Dapr silently drops, we refuse.
import { InvalidAnnotationValue } from './annotationTypes.js';

export interface EnvVar {
  name: string;
  value: string;
}

export interface SecretEnvVar {
  name: string;
  secretName: string;
  secretKey: string;
}

export interface VolumeMountRef {
  name: string;
  mountPath: string;
}

// A comma starts a new entry only when a `NAME=` follows it, so values may contain commas ("A=x,y,B=z" is
// A="x,y" and B="z"), as in Dapr.
const entryStart = /,\s*[a-zA-Z_][a-zA-Z0-9_]*=/g;

function splitEntries(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const match of text.matchAll(entryStart)) {
    parts.push(text.slice(start, match.index));
    start = (match.index as number) + 1;
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

const envAccepted = 'comma-separated NAME=value pairs, e.g. "LOG_FORMAT=json,REGION=eu"';

export function parseEnv(text: string): EnvVar[] {
  return splitEntries(text).map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new InvalidAnnotationValue(envAccepted);
    return { name: entry.slice(0, eq).trim(), value: entry.slice(eq + 1) };
  });
}
parseEnv.accepted = envAccepted;

const secretEnvAccepted = 'comma-separated NAME=secret or NAME=secret:key pairs, e.g. "DB_PASSWORD=db:password"';

export function parseSecretEnv(text: string): SecretEnvVar[] {
  return splitEntries(text).map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new InvalidAnnotationValue(secretEnvAccepted);
    const name = entry.slice(0, eq).trim();
    const source = entry.slice(eq + 1).trim();
    const pieces = source.split(':').map((piece) => piece.trim());
    // "secret" alone reads the key of the same name; "secret:key" names both; anything else is ambiguous.
    if (pieces.length > 2 || pieces.some((piece) => piece === '')) throw new InvalidAnnotationValue(secretEnvAccepted);
    const [secretName, secretKey = secretName] = pieces as [string, string?];
    return { name, secretName, secretKey };
  });
}
parseSecretEnv.accepted = secretEnvAccepted;

const mountsAccepted = 'comma-separated volume:/absolute/path pairs naming volumes of the pod';

export function parseVolumeMounts(text: string): VolumeMountRef[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const pieces = entry.split(':');
      if (pieces.length !== 2 || !pieces[0] || !pieces[1]?.startsWith('/')) throw new InvalidAnnotationValue(mountsAccepted);
      return { name: pieces[0].trim(), mountPath: pieces[1].trim() };
    });
}
parseVolumeMounts.accepted = mountsAccepted;

export function parseNameList(text: string): string[] {
  return text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

// The app id names the `<app-id>-dapr` Service the operator creates, so `<app-id>-dapr` must be a DNS-1123 label
// (Dapr's ValidateKubernetesAppID).
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const appIdAccepted =
  'a DNS label of at most 58 characters: lowercase letters, digits and "-", starting and ending with a letter or digit (the operator names a Service "<app-id>-dapr")';

export function isValidAppId(appId: string): boolean {
  const service = `${appId}-dapr`;
  return service.length <= 63 && dnsLabel.test(service) && appId !== '';
}

export function parseAppId(text: string): string {
  if (!isValidAppId(text)) throw new InvalidAnnotationValue(appIdAccepted);
  return text;
}
