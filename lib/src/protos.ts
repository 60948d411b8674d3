// Dapr's wire definitions, exactly as `@dapr/dapr` 3.18.0 (= Dapr 1.17) ships them: generated google-protobuf
// messages and @grpc/grpc-js service definitions. They are CommonJS, so they are loaded with `require`; their
// shipped `.d.ts` files give the types. Services wrap these at their edge; their cores speak plain TypeScript.
import { createRequire } from 'node:module';
import type * as SentryMessages from '@dapr/dapr/proto/dapr/proto/sentry/v1/sentry_pb.js';
import type * as SentryServices from '@dapr/dapr/proto/dapr/proto/sentry/v1/sentry_grpc_pb.js';
import type * as OperatorMessages from '@dapr/dapr/proto/dapr/proto/operator/v1/operator_pb.js';
import type * as OperatorServices from '@dapr/dapr/proto/dapr/proto/operator/v1/operator_grpc_pb.js';
import type * as PlacementMessages from '@dapr/dapr/proto/dapr/proto/placement/v1/placement_pb.js';
import type * as PlacementServices from '@dapr/dapr/proto/dapr/proto/placement/v1/placement_grpc_pb.js';
import type * as TimestampMessages from 'google-protobuf/google/protobuf/timestamp_pb.js';
import type * as WrapperMessages from 'google-protobuf/google/protobuf/wrappers_pb.js';
import type * as EmptyMessages from 'google-protobuf/google/protobuf/empty_pb.js';

const require = createRequire(import.meta.url);
const daprRequire = createRequire(require.resolve('@dapr/dapr/package.json'));
const proto = (file: string): unknown => require(`@dapr/dapr/proto/dapr/proto/${file}`);

export const sentry = proto('sentry/v1/sentry_pb.js') as typeof SentryMessages;
export const sentryGrpc = proto('sentry/v1/sentry_grpc_pb.js') as typeof SentryServices;
export const operator = proto('operator/v1/operator_pb.js') as typeof OperatorMessages;
export const operatorGrpc = proto('operator/v1/operator_grpc_pb.js') as typeof OperatorServices;
export const placement = proto('placement/v1/placement_pb.js') as typeof PlacementMessages;
export const placementGrpc = proto('placement/v1/placement_grpc_pb.js') as typeof PlacementServices;
// The well-known types must be the very instances the generated code uses (the copy under @dapr/dapr).
export const timestamp = daprRequire('google-protobuf/google/protobuf/timestamp_pb.js') as typeof TimestampMessages;
export const wrappers = daprRequire('google-protobuf/google/protobuf/wrappers_pb.js') as typeof WrapperMessages;
export const empty = daprRequire('google-protobuf/google/protobuf/empty_pb.js') as typeof EmptyMessages;

export type {
  SentryMessages,
  SentryServices,
  OperatorMessages,
  OperatorServices,
  PlacementMessages,
  PlacementServices,
  TimestampMessages,
};
