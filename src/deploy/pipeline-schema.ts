// The schema of `bayes-serve.yaml` (TypeBox; the file's types are derived from it), and the lengths Kubernetes allows
// the names made from it. The checks a schema cannot express are in pipeline-checks.ts and pipeline-dag.ts.
import { Type, type Static } from "@sinclair/typebox";
import { LOG_LEVELS } from "../server/constants.js";
import { MultiType, RecordOf, StringEnum } from "../schema/forms.js";

export const DNS_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";
const SECRET_KEY = "^[-._a-zA-Z0-9]+$";

/** Longest suffix a Job name gets after `<pipeline>--<stage>`: `-` and a 10-character run id. */
export const JOB_SUFFIX_LENGTH = 11;
/** What the Jobs of a stage with chains as pods add to `<pipeline>--<stage>-<run id>` (and `-<index>` on pod hostnames). */
export const CHAINS_JOB_SUFFIX = "-chains";
export const MERGE_JOB_SUFFIX = "-merge";
export const CHAIN_HOSTNAME_SUFFIX_LENGTH = 3;
/** CronJob names are limited to 52 characters (the controller appends an 11-character suffix to Job names). */
export const CRONJOB_NAME_SUFFIX = "--retrain";

const DnsLabel = (maxLength: number) =>
  Type.String({
    pattern: DNS_LABEL,
    maxLength,
    description: `a DNS label: lower-case letters, digits and '-', starting with a letter, ending with a letter or digit, at most ${maxLength} characters`,
  });
const DnsSubdomain = Type.String({
  pattern: DNS_SUBDOMAIN,
  maxLength: 253,
  description: "a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
});
const EnvName = Type.String({
  pattern: ENV_NAME,
  description: "an environment variable name: letters, digits and '_', not starting with a digit",
});
const IntOrPercent = MultiType<number | string>(["integer", "string"], {
  minimum: 0,
  pattern: "^[0-9]+%$",
  description: 'a number of pods or a percentage such as "50%"',
});
const Args = Type.Array(MultiType<string | number>(["string", "number"], { description: "a string (quote numbers if you like; they are passed as text)" }));
const Cores = Type.Number({ exclusiveMinimum: 0, description: "CPU cores, e.g. 0.5 or 1" });
const Megabytes = Type.Integer({ minimum: 1, description: "megabytes, e.g. 750" });
const UrlPath = Type.String({ pattern: "^/", description: "a URL path starting with '/'" });

const SecretRefObject = Type.Object(
  {
    secret: DnsSubdomain,
    key: Type.Optional(Type.String({ pattern: SECRET_KEY, description: "a Secret key: letters, digits, '-', '_' and '.'" })),
  },
  { additionalProperties: false },
);
/** The name of a Secret (its key is the variable's name), or the Secret and the key. */
const SecretRef = MultiType<string | Static<typeof SecretRefObject>>(["string", "object"], {
  ...SecretRefObject,
  pattern: DNS_SUBDOMAIN,
  description: "the name of a Kubernetes Secret (its key is the variable's name), or {secret: NAME, key: KEY}",
});
export type SecretRefFile = Static<typeof SecretRef>;

const IngressObject = Type.Object(
  {
    path: Type.Optional(Type.String({ pattern: "^/[^\\s]*$", description: "a URL path starting with '/'" })),
    strip_prefix: Type.Optional(Type.Boolean()),
    class_name: Type.Optional(DnsSubdomain),
    host: Type.Optional(
      Type.String({
        pattern: "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description: "a DNS host name",
      }),
    ),
    annotations: Type.Optional(RecordOf(Type.String())),
  },
  { additionalProperties: false },
);
export type IngressFile = Static<typeof IngressObject>;
const Ingress = MultiType<boolean | IngressFile>(["boolean", "object"], {
  ...IngressObject,
  description: "true, or {path, strip_prefix, class_name, host, annotations}",
});

const Batch = Type.Object(
  {
    max_completion_time_seconds: Type.Integer({ minimum: 1, description: "the most seconds the batch stage may run, retries included" }),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    chains_as_pods: Type.Optional(
      Type.Boolean({ description: "run each chain of the `train` stage in its own pod (an Indexed Job), then a Job that merges them" }),
    ),
  },
  { additionalProperties: false },
);

const Service = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    replicas: Type.Optional(Type.Integer({ minimum: 1 })),
    max_startup_time_seconds: Type.Integer({ minimum: 1, description: "the most seconds a new version may take to become ready" }),
    ingress: Type.Optional(Ingress),
    autoscaling: Type.Optional(
      Type.Object(
        {
          min_replicas: Type.Optional(Type.Integer({ minimum: 1 })),
          max_replicas: Type.Integer({ minimum: 1, description: "the most replicas the autoscaler may run" }),
          target_cpu_utilization: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "percent of the CPU request" })),
        },
        { additionalProperties: false },
      ),
    ),
    pod_disruption_budget: Type.Optional(
      Type.Object(
        { min_available: Type.Optional(IntOrPercent), max_unavailable: Type.Optional(IntOrPercent) },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    probes: Type.Optional(Type.Object({ liveness_path: Type.Optional(UrlPath), readiness_path: Type.Optional(UrlPath) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const Stage = Type.Object(
  {
    command: Type.Optional(Type.Array(Args.items, { minItems: 1 })),
    args: Type.Optional(Args),
    cpu_request: Type.Optional(Cores),
    cpu_limit: Type.Optional(Cores),
    memory_request_mb: Type.Optional(Megabytes),
    memory_limit_mb: Type.Optional(Megabytes),
    env: Type.Optional(RecordOf(MultiType<string | number | boolean>(["string", "number", "boolean"]), { propertyNames: EnvName })),
    secrets: Type.Optional(RecordOf(SecretRef, { propertyNames: EnvName })),
    batch: Type.Optional(Batch),
    service: Type.Optional(Service),
  },
  { additionalProperties: false },
);
export type StageFile = Static<typeof Stage>;

export const pipelineJsonSchema = Type.Object(
  {
    version: StringEnum(["1.0"], { description: 'the file format version, "1.0" (quoted)' }),
    pipeline: Type.Object(
      {
        name: DnsLabel(40),
        namespace: DnsLabel(63),
        image: Type.String({
          minLength: 1,
          pattern: "^[^\\s]+$",
          description: "the container image to run, e.g. ghcr.io/org/bayes-serve:0.1.0",
        }),
        DAG: Type.String({
          minLength: 1,
          description: "the stages in order, e.g. \"train >> scoring-service\" (',' for stages that run side by side)",
        }),
        image_pull_policy: Type.Optional(StringEnum(["Always", "IfNotPresent", "Never"])),
        image_pull_secrets: Type.Optional(Type.Array(DnsSubdomain)),
        run_as_user: Type.Optional(Type.Integer({ minimum: 1, description: "a non-root numeric user id (the image's USER)" })),
      },
      { additionalProperties: false, description: "a mapping with name, namespace, image and DAG" },
    ),
    stages: RecordOf(Stage, { minProperties: 1, propertyNames: DnsLabel(40), description: "a mapping of stage name to stage" }),
    logging: Type.Optional(
      Type.Object({ log_level: Type.Optional(StringEnum([...LOG_LEVELS, ...LOG_LEVELS.map((l) => l.toUpperCase())])) }, { additionalProperties: false }),
    ),
  },
  {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://bayes-serve.dev/schemas/bayes-serve.yaml.json",
    title: "bayes-serve deployment pipeline",
    additionalProperties: false,
  },
);

/** `bayes-serve.yaml` as the schema admits it (snake_case, as in the seed's bodywork.yaml). */
export type PipelineFile = Static<typeof pipelineJsonSchema>;
