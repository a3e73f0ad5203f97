import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { BayesServeError } from "../../src/errors.js";
import { checkPipelineText, looksSecret } from "../../src/deploy/pipeline-checks.js";
import { parseDag } from "../../src/deploy/pipeline-dag.js";
import { pipelineJsonSchema } from "../../src/deploy/pipeline-schema.js";
import { loadPipelineFile, parsePipeline, referencedSecrets } from "../../src/deploy/pipeline.js";

const REPO_FILE = resolve(import.meta.dirname, "../../bayes-serve.yaml");

/** A small valid pipeline; tests edit it to break one thing at a time. */
export const VALID = `version: "1.0"
pipeline:
  name: demo
  namespace: pymc
  image: ghcr.io/example/bayes-serve:1
  DAG: train >> scoring-service
stages:
  train:
    args: [train, --simulate]
    batch:
      max_completion_time_seconds: 600
      retries: 2
  scoring-service:
    args: [serve, --port, "8000"]
    service:
      max_startup_time_seconds: 300
      port: 8000
`;

function problems(text: string): { path: string; message: string; line?: number; col?: number }[] {
  return checkPipelineText(text).problems;
}

function configError(text: string): BayesServeError {
  try {
    parsePipeline(text, "p.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("CONFIG");
    return err as BayesServeError;
  }
  throw new Error("expected a CONFIG error");
}

describe("the repository's bayes-serve.yaml", () => {
  it("is valid and deploys the seed's pipeline: train to S3, then the scoring service", () => {
    const { pipeline, warnings } = loadPipelineFile(REPO_FILE);
    expect(warnings).toEqual([]);
    expect(pipeline.dag).toEqual([["train"], ["scoring-service"]]);
    const train = pipeline.stages.train;
    const svc = pipeline.stages["scoring-service"];
    expect(train.type).toBe("batch");
    expect(train.args.slice(0, 1)).toEqual(["train"]);
    expect(train.args.join(" ")).toMatch(/--store s3:\/\//);
    if (svc.type !== "service") throw new Error("scoring-service must be a service stage");
    // The seed's bodywork.yaml: 1 CPU, 750 MB, startup allowance 300 s, 1 replica, port 8000, ingress, AWS secrets.
    expect(svc.resources).toEqual({ cpuRequest: 1, memoryRequestMb: 750 });
    expect(svc.service).toMatchObject({ port: 8000, replicas: 1, maxStartupTimeSeconds: 300 });
    expect(svc.service.ingress?.path).toBe("/pymc/bayes-serve--scoring-service");
    expect(svc.args.slice(0, 3)).toEqual(["serve", "--model", train.args[train.args.indexOf("--store") + 1]]);
    expect(referencedSecrets(pipeline)).toEqual(new Map([["aws-credentials", new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"])]]));
    expect(pipeline.logLevel).toBe("info");
  });

  it("the schema, written out as JSON, is a valid draft-07 schema document that admits the file", () => {
    expect(pipelineJsonSchema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    const ajv = new Ajv({ allowUnionTypes: true, strict: true });
    const json = JSON.parse(JSON.stringify(pipelineJsonSchema)) as object;
    expect(ajv.validateSchema(json), ajv.errorsText()).toBe(true);
    const validate = ajv.compile(json);
    expect(validate(parse(readFileSync(REPO_FILE, "utf8")))).toBe(true);
    expect(validate(parse(VALID.replace("retries: 2", "retries: 101")))).toBe(false);
  });
});

describe("schema errors name the field's path, its position and what was expected", () => {
  it("a wrong type", () => {
    const p = problems(VALID.replace("retries: 2", "retries: two"));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: "stages.train.batch.retries", line: 12, col: 16 });
    expect(p[0].message).toBe('stages.train.batch.retries: expected integer, got "two"');
  });

  it("an unknown field, with a suggestion", () => {
    const p = problems(VALID.replace("      port: 8000", "      prot: 8000"));
    const unknown = p.find((x) => x.path === "stages.scoring-service.service.prot");
    expect(unknown?.message).toMatch(/unknown field `prot` \(expected one of: port, replicas, .*did you mean `port`\?\)/);
    expect(unknown?.line).toBe(17);
  });

  it("a missing required field", () => {
    const p = problems(VALID.replace("  image: ghcr.io/example/bayes-serve:1\n", ""));
    expect(p).toHaveLength(1);
    expect(p[0].path).toBe("pipeline");
    expect(p[0].message).toMatch(/pipeline: missing required field `image` \(expected the container image to run/);
  });

  it("a bad name says what a name may contain", () => {
    const p = problems(VALID.replace("name: demo", "name: Demo_Pipeline"));
    expect(p[0].path).toBe("pipeline.name");
    expect(p[0].message).toMatch(/"Demo_Pipeline" is not valid: expected a DNS label: lower-case letters/);
  });

  it("a bad stage or variable name is reported at the name; a bad list item at the item", () => {
    const stage = problems(VALID.replace("  train:\n", "  Train_Stage:\n"));
    expect(stage[0]).toMatchObject({ path: "stages.Train_Stage", line: 8, col: 3 });
    expect(stage[0].message).toMatch(/^stages\.Train_Stage: name "Train_Stage" is not valid: expected a DNS label/);
    const env = problems(VALID.replace("args: [train, --simulate]", "args: [train, --simulate]\n    env: {1BAD: x}"));
    expect(env[0]).toMatchObject({ path: "stages.train.env.1BAD", line: 10, col: 11 });
    const item = problems(VALID.replace("  image: ghcr", "  image_pull_secrets: [ok, Bad_One]\n  image: ghcr"));
    expect(item[0]).toMatchObject({ path: "pipeline.image_pull_secrets[1]", line: 5, col: 28 });
    expect(item[0].message).toMatch(/"Bad_One" is not valid: expected a Kubernetes object name/);
  });

  it("an out-of-range number", () => {
    const p = problems(VALID.replace("port: 8000", "port: 80000"));
    expect(p[0]).toMatchObject({ path: "stages.scoring-service.service.port" });
    expect(p[0].message).toMatch(/expected a value <= 65535, got 80000/);
  });

  it("an unquoted version number", () => {
    const p = problems(VALID.replace('version: "1.0"', "version: 1.0"));
    expect(p[0].message).toMatch(/version: expected string \(the file format version, "1.0" \(quoted\)\), got 1/);
  });

  it("a bad log level lists the levels", () => {
    const p = problems(`${VALID}logging:\n  log_level: LOUD\n`);
    expect(p[0].message).toBe('logging.log_level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "LOUD"');
  });

  it("a secret given as neither a name nor {secret, key}", () => {
    const p = problems(VALID.replace("    args: [train, --simulate]", "    args: [train, --simulate]\n    secrets:\n      AWS_ACCESS_KEY_ID: [aws]"));
    expect(p[0].path).toBe("stages.train.secrets.AWS_ACCESS_KEY_ID");
    expect(p[0].message).toMatch(/expected string or object/);
  });

  it("reports every problem at once, and YAML syntax errors with their position", () => {
    const p = problems(VALID.replace("retries: 2", "retries: -1").replace("port: 8000", 'port: "8000"'));
    expect(p.map((x) => x.path).sort()).toEqual(["stages.scoring-service.service.port", "stages.train.batch.retries"]);
    const syntax = problems("version: '1.0'\npipeline: [\n");
    expect(syntax[0].message).toMatch(/^YAML syntax: /);
    expect(syntax[0].line).toBeGreaterThan(0);
    const dup = problems(`${VALID}stages:\n  x: {}\n`);
    expect(dup[0].message).toMatch(/Map keys must be unique/);
    expect(dup[0].line).toBe(18);
  });

  it("the thrown error names the file, line and column of each problem", () => {
    const err = configError(VALID.replace("retries: 2", "retries: two").replace("name: demo", "name: Demo"));
    expect(err.message).toMatch(/^p\.yaml is not a valid pipeline file \(2 problems\):/);
    expect(err.message).toContain("  - p.yaml:3:9: pipeline.name:");
    expect(err.message).toContain("  - p.yaml:12:16: stages.train.batch.retries: expected integer");
    expect(configError("").message).toMatch(/the file is empty/);
  });

  it("an unreadable file is a CONFIG error naming it", () => {
    expect(() => loadPipelineFile("/nonexistent/bayes-serve.yaml")).toThrow(/cannot read pipeline file \/nonexistent\/bayes-serve.yaml: no such file/);
  });
});

describe("the DAG", () => {
  it("parses steps with '>>' and side-by-side stages with ','", () => {
    const fail: string[] = [];
    expect(parseDag("a >> b, c >> d", (m) => fail.push(m))).toEqual([["a"], ["b", "c"], ["d"]]);
    expect(parseDag("  a>>b,c  ", (m) => fail.push(m))).toEqual([["a"], ["b", "c"]]);
    expect(fail).toEqual([]);
  });

  it("rejects empty steps, stray commas and malformed names", () => {
    const fail: string[] = [];
    parseDag("a >> >> b", (m) => fail.push(m));
    parseDag("a, >> b", (m) => fail.push(m));
    parseDag("a > b", (m) => fail.push(m));
    expect(fail[0]).toMatch(/step 2 of "a >> >> b" is empty/);
    expect(fail[1]).toMatch(/stray ','/);
    expect(fail[2]).toMatch(/"a > b" in step 1 is not a stage name.*'>>' between steps/);
  });

  it("an unknown stage, with a suggestion", () => {
    const p = problems(VALID.replace("DAG: train >> scoring-service", "DAG: trian >> scoring-service"));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: "pipeline.DAG", line: 6 });
    expect(p[0].message).toBe('pipeline.DAG: unknown stage "trian" in step 1: the stages defined are "train", "scoring-service" (did you mean "train"?)');
  });

  it("a cycle: a stage that comes back later would depend on itself", () => {
    const p = problems(VALID.replace("DAG: train >> scoring-service", "DAG: train >> scoring-service >> train"));
    expect(p).toHaveLength(1);
    expect(p[0].message).toMatch(/cycle: stage "train" runs in step 1 and again in step 3/);
  });

  it("a duplicate inside one step", () => {
    const p = problems(VALID.replace("DAG: train >> scoring-service", "DAG: train, train >> scoring-service"));
    expect(p[0].message).toMatch(/stage "train" is listed twice in step 1 \(duplicate\)/);
  });

  it("a training stage's local model file is a warning (the image must hold it); a built-in or an s3:// one is not", () => {
    const withModel = (m: string) => checkPipelineText(VALID.replace("args: [train, --simulate]", `args: [train, --simulate, --model, ${m}]`));
    expect(withModel("/models/claims.ts").problems).toEqual([]);
    expect(withModel("/models/claims.ts").warnings).toEqual([
      "stages.train.args: --model /models/claims.ts is read from the container's filesystem when the Job runs: it must be in the image or a mounted volume; " +
        'an s3:// or https:// URI is read as the data are (docs/deploy.md, "Your own model")',
    ]);
    expect(withModel("seed-regression").warnings).toEqual([]);
    expect(withModel("s3://your-bucket/models/claims.ts").warnings).toEqual([]);
  });

  it("a stage left out of the DAG is a warning, not an error", () => {
    const r = checkPipelineText(VALID.replace("DAG: train >> scoring-service", "DAG: scoring-service"));
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual(['stages.train: defined but not in the DAG "scoring-service"; it will not be deployed']);
  });
});

describe("semantic checks", () => {
  it("a service without a port", () => {
    const p = problems(VALID.replace("      port: 8000\n", "").replace('args: [serve, --port, "8000"]', "args: [serve]"));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: "stages.scoring-service.service", line: 15 });
    expect(p[0].message).toMatch(/a service stage needs a port: expected `port: <1-65535>`/);
  });

  it("a stage that is neither batch nor service, or both", () => {
    expect(problems(VALID.replace("    batch:\n      max_completion_time_seconds: 600\n      retries: 2\n", ""))[0].message).toMatch(
      /stages.train: is neither a batch nor a service stage/,
    );
    expect(problems(VALID.replace("    batch:", "    service: {max_startup_time_seconds: 1, port: 1}\n    batch:"))[0].message).toMatch(
      /has both `batch` and `service`/,
    );
  });

  it("--port in the args must agree with service.port", () => {
    const p = problems(VALID.replace('args: [serve, --port, "8000"]', 'args: [serve, --port, "9000"]'));
    expect(p[0].message).toMatch(/stages.scoring-service.args: passes --port 9000 but service.port is 8000/);
  });

  it("an environment variable set both directly and from a secret is a duplicate", () => {
    const p = problems(
      VALID.replace(
        "    args: [train, --simulate]",
        "    args: [train, --simulate]\n    env: {AWS_REGION: eu-west-2}\n    secrets: {AWS_REGION: aws-credentials}",
      ),
    );
    expect(p[0]).toMatchObject({ path: "stages.train.secrets.AWS_REGION" });
    expect(p[0].message).toMatch(/duplicate environment variable: AWS_REGION is also set in env/);
  });

  it("a secret given as a plain env value is refused, pointing to `secret create`", () => {
    const p = problems(
      VALID.replace(
        "    args: [train, --simulate]",
        "    args: [train, --simulate]\n    env: {AWS_REGION: eu-west-2, AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI, DB_PASSWORD: hunter2, GITHUB_TOKEN: ghp_x, TOKEN_TTL_SECONDS: 60}",
      ),
    );
    expect(p.map((x) => x.path)).toEqual(["stages.train.env.AWS_SECRET_ACCESS_KEY", "stages.train.env.DB_PASSWORD", "stages.train.env.GITHUB_TOKEN"]);
    expect(p[0].message).toMatch(/AWS_SECRET_ACCESS_KEY looks like a secret, and a plain env value is written into the rendered manifest/);
    expect(p[0].message).toContain(
      "`bayes-serve deploy secret create <name> --from-literal AWS_SECRET_ACCESS_KEY=…` (or --from-env AWS_SECRET_ACCESS_KEY) and reference it under `secrets: {AWS_SECRET_ACCESS_KEY: <name>}`",
    );
    // Never the value itself.
    expect(JSON.stringify(p)).not.toContain("wJalrXUtnFEMI");
    for (const name of ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "BAYES_SERVE_SIGNING_KEY", "OPENAI_API_KEY", "client_secret", "SSH_PRIVATE_KEY"])
      expect(looksSecret(name), name).toBe(true);
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_REGION", "TOKEN_TTL_SECONDS", "SECRETARY", "KEYBOARD_LAYOUT", "LOG_LEVEL"])
      expect(looksSecret(name), name).toBe(false);
  });

  it("names that would not fit Kubernetes' 63-character limit", () => {
    const long = "a".repeat(40);
    const p = problems(VALID.replace("name: demo", `name: ${long}`).replace(/scoring-service/g, "s".repeat(30)));
    expect(p.some((x) => /Service name ".*" would exceed Kubernetes' 63 characters/.test(x.message))).toBe(true);
    expect(p.some((x) => /Job names ".*-<run id>" would exceed/.test(x.message))).toBe(false);
    const job = problems(VALID.replace("name: demo", `name: ${long}`).replace(/train/g, "t".repeat(12)));
    expect(job.some((x) => /Job names ".*-<run id>" would exceed Kubernetes' 63 characters/.test(x.message))).toBe(true);
  });

  it("limits below requests, autoscaling without a CPU request, min above max, both PDB fields", () => {
    const svc = `    service:
      max_startup_time_seconds: 300
      port: 8000
      autoscaling: {min_replicas: 5, max_replicas: 2}
      pod_disruption_budget: {min_available: 1, max_unavailable: 1}
    memory_request_mb: 500
    memory_limit_mb: 400
`;
    const text = VALID.replace(/ {4}service:\n {6}max_startup_time_seconds: 300\n {6}port: 8000\n/, svc);
    const msgs = problems(text).map((x) => x.message);
    expect(msgs).toEqual(
      expect.arrayContaining([
        "stages.scoring-service.memory_limit_mb: must be at least memory_request_mb (500)",
        "stages.scoring-service.service.autoscaling.min_replicas: must not exceed max_replicas (2)",
        expect.stringMatching(/autoscaling: CPU autoscaling needs a CPU request/),
        "stages.scoring-service.service.pod_disruption_budget: set min_available or max_unavailable, not both",
      ]),
    );
  });

  it("two services claiming the same ingress path", () => {
    const text = `${VALID.replace("DAG: train >> scoring-service", "DAG: train >> scoring-service, other")}  other:
    service: {max_startup_time_seconds: 60, port: 8000, ingress: {path: /api}}
`.replace("      port: 8000\n", "      port: 8000\n      ingress: {path: /api}\n");
    const p = problems(text);
    expect(p.some((x) => /duplicate ingress path \/api: stage "scoring-service" already uses it/.test(x.message))).toBe(true);
  });

  it("normalises defaults: retries, ingress path/class, replicas, probes, log level", () => {
    const { pipeline } = parsePipeline(VALID.replace("      port: 8000\n", "      port: 8000\n      ingress: true\n").replace("      retries: 2\n", ""));
    const t = pipeline.stages.train;
    const s = pipeline.stages["scoring-service"];
    if (t.type !== "batch" || s.type !== "service") throw new Error("types");
    expect(t.batch.retries).toBe(2);
    expect(s.service).toMatchObject({
      replicas: 1,
      livenessPath: "/health/live",
      readinessPath: "/health/ready",
      ingress: { path: "/pymc/demo--scoring-service", className: "nginx", stripPrefix: true, annotations: {} },
    });
    expect(pipeline.logLevel).toBe("info");
    expect(pipeline.runAsUser).toBe(1000);
  });

  it("numbers in args and env are passed as text", () => {
    const { pipeline } = parsePipeline(VALID.replace('args: [serve, --port, "8000"]', "args: [serve, --port, 8000]\n    env: {WORKERS: 2, DEBUG: false}"));
    const s = pipeline.stages["scoring-service"];
    expect(s.args).toEqual(["serve", "--port", "8000"]);
    expect(s.env).toEqual({ WORKERS: "2", DEBUG: "false" });
  });

  it("the file on disk parses exactly as its text does", () => {
    const text = readFileSync(REPO_FILE, "utf8");
    expect(loadPipelineFile(REPO_FILE).pipeline).toEqual(parsePipeline(text).pipeline);
  });
});
