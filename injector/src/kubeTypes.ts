// The few Kubernetes shapes the injector reads and writes, as plain JSON (field names as the API server sends
// them). The admission hot path works on the parsed request body directly, so these are structural types rather
// than @kubernetes/client-node's classes (whose serializer would cost a copy per request).

export interface EnvVarJson {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface VolumeMountJson {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface ContainerJson {
  name: string;
  image?: string;
  env?: EnvVarJson[];
  volumeMounts?: VolumeMountJson[];
  [field: string]: unknown;
}

export interface VolumeJson {
  name: string;
  [source: string]: unknown;
}

export interface TolerationJson {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface PodJson {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  spec?: {
    containers?: ContainerJson[];
    volumes?: VolumeJson[];
    tolerations?: TolerationJson[];
    serviceAccountName?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}
