// Pipelines shared by the deploy tests.

/** Every option the file format has, at least once. */
export const FULL_PIPELINE = `version: "1.0"
pipeline:
  name: full
  namespace: models
  image: registry.example.com/ml/bayes-serve:2.0.0
  image_pull_policy: Always
  image_pull_secrets: [registry-creds]
  run_as_user: 10001
  DAG: prepare, train >> api, admin
stages:
  prepare:
    command: [node, dist/cli/main.js]
    args: [train, --simulate, --store, s3://bucket/p]
    cpu_request: 0.5
    cpu_limit: 1.5
    memory_request_mb: 256
    memory_limit_mb: 512
    env: {AWS_ENDPOINT_URL_S3: "http://minio.storage:9000", SEED: 7}
    secrets:
      AWS_ACCESS_KEY_ID: s3-creds
      AWS_SECRET_ACCESS_KEY: {secret: s3-creds, key: secret-key}
    batch: {max_completion_time_seconds: 120, retries: 0}
  train:
    args: [train, --simulate, --store, s3://bucket/m]
    batch: {max_completion_time_seconds: 3600, retries: 5}
  api:
    args: [serve, --model, s3://bucket/m, --port, "8000"]
    cpu_request: 1
    memory_request_mb: 750
    secrets: {AWS_ACCESS_KEY_ID: s3-creds}
    service:
      port: 8000
      max_startup_time_seconds: 120
      ingress:
        path: /models/api
        host: models.example.com
        class_name: traefik
        strip_prefix: false
        annotations: {traefik.ingress.kubernetes.io/router.middlewares: "models-strip@kubernetescrd"}
      autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_utilization: 70}
      pod_disruption_budget: {min_available: 1}
      probes: {liveness_path: /healthz, readiness_path: /readyz}
  admin:
    args: [serve, --port, "9000"]
    service:
      port: 9000
      replicas: 3
      max_startup_time_seconds: 30
      ingress: true
      pod_disruption_budget: {max_unavailable: "50%"}
logging:
  log_level: debug
`;

/** A quick pipeline for the orchestration tests: short budgets so failures surface in about a second. */
export function quickPipeline(opts: { startup?: number; completion?: number; secrets?: boolean; dag?: string; extraStages?: string } = {}): string {
  const secrets = opts.secrets === false ? "" : "    secrets:\n      AWS_ACCESS_KEY_ID: aws-credentials\n      AWS_SECRET_ACCESS_KEY: aws-credentials\n";
  return `version: "1.0"
pipeline:
  name: bayes-serve
  namespace: pymc
  image: ghcr.io/example/bayes-serve:good
  DAG: ${opts.dag ?? "train >> scoring-service"}
stages:
  train:
    args: [train, --simulate, --store, s3://bucket/models]
${secrets}    batch:
      max_completion_time_seconds: ${opts.completion ?? 5}
      retries: 1
  scoring-service:
    args: [serve, --model, s3://bucket/models, --port, "8000"]
    cpu_request: 1.0
    memory_request_mb: 750
${secrets}    service:
      max_startup_time_seconds: ${opts.startup ?? 2}
      replicas: 1
      port: 8000
      ingress: true
${opts.extraStages ?? ""}logging:
  log_level: INFO
`;
}
