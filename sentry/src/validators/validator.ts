// Token validators decide which identity a SignCertificate request may have (spec §2.3, §2.7). The core speaks
// plain TypeScript; the gRPC layer turns a ValidationError into a status by its kind.
import { isValidTrustDomain } from '@tapr/lib';

export type TokenValidatorName = 'INSECURE' | 'KUBERNETES' | 'JWKS';

export interface SignRequest {
  id: string;
  token: string;
  /** Only control-plane services set it; apps leave it empty. */
  trustDomain: string;
  namespace: string;
  csr: Uint8Array;
  jwtAudiences: string[];
}

export interface ValidationResult {
  /** The trust domain of the identity to issue. */
  trustDomain: string;
}

export interface Validator {
  readonly name: TokenValidatorName;
  validate(request: SignRequest): Promise<ValidationResult>;
}

/**
 * invalid-request: the request itself is incomplete or malformed (Dapr answers these with PermissionDenied too);
 * unauthenticated: the token does not prove anything (expired, wrong audience, not a token);
 * permission-denied: a valid token, but not for the identity asked for;
 * unavailable: the validator cannot decide right now (cache not synced, API server unreachable).
 */
export type ValidationErrorKind = 'invalid-request' | 'unauthenticated' | 'permission-denied' | 'unavailable';

export class ValidationError extends Error {
  constructor(
    readonly kind: ValidationErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const maxAppIdLength = 64;
// What a SPIFFE ID path segment may hold (the id and namespace become `…/ns/<namespace>/<id>`).
const segment = /^[A-Za-z0-9._-]+$/;

/** Checks every validator runs first; returns the trust domain the request names (`public` when empty). */
export function validateCommon(request: SignRequest): string {
  const problems: string[] = [];
  if (request.id === '') problems.push('parameter app-id cannot be empty');
  else if (request.id.includes('.')) problems.push('parameter app-id cannot contain dots');
  else if (!segment.test(request.id)) problems.push('parameter app-id may only contain letters, digits, "-" and "_"');
  if (request.id.length > maxAppIdLength) problems.push(`app ID must be ${maxAppIdLength} characters or less`);
  if (request.csr.length === 0) problems.push('CSR is required');
  if (request.namespace === '') problems.push('namespace is required');
  else if (!segment.test(request.namespace)) problems.push('namespace may only contain letters, digits, ".", "-" and "_"');
  if (request.trustDomain !== '' && !isValidTrustDomain(request.trustDomain)) {
    problems.push(`trust domain "${request.trustDomain}" is not a valid SPIFFE trust domain (lowercase letters, digits, ".", "-", "_")`);
  }
  if (problems.length > 0) throw new ValidationError('invalid-request', `invalid request: ${problems.join('\n')}`);
  return request.trustDomain === '' ? 'public' : request.trustDomain;
}

/** INSECURE: no authentication at all — only for self-hosted development, where it is the default. */
export class InsecureValidator implements Validator {
  readonly name = 'INSECURE' as const;
  async validate(request: SignRequest): Promise<ValidationResult> {
    return { trustDomain: validateCommon(request) };
  }
}
