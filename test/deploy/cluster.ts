// A stand-in cluster for the deploy tests, seeded with the pipeline's namespace and its AWS secret.
import { FakeApiServer, type FakeApiServerOptions, type Obj } from "./fake-apiserver.js";

const running: FakeApiServer[] = [];

/** Pod template as text, for rollout behaviours keyed on the image or the args. */
export const templateText = (d: Obj): string => JSON.stringify((d.spec as { template?: unknown })?.template ?? {});

/** Images ending ":bad" never become ready, ":crash" crash-loop, ":missing" cannot be pulled, ":no-key" lacks a secret key. */
export async function startCluster(
  options: FakeApiServerOptions = {},
  seed: { namespace?: boolean; secret?: Record<string, string> | false } = {},
): Promise<FakeApiServer> {
  const srv = await new FakeApiServer({
    rollout: (d) => {
      const t = templateText(d);
      if (t.includes(':bad"')) return "never-ready";
      if (t.includes(':crash"')) return "crash-loop";
      if (t.includes(':missing"')) return "image-pull-error";
      if (t.includes(':no-key"')) return "config-error";
      return "ready";
    },
    ...options,
  }).start();
  running.push(srv);
  if (seed.namespace !== false) srv.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pymc" } });
  if (seed.namespace !== false && seed.secret !== false) {
    const data = seed.secret ?? { AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s3cr3t" };
    srv.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "aws-credentials", namespace: "pymc" },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    });
  }
  return srv;
}

export async function stopClusters(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.stop()));
}
