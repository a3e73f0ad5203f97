// The "restricted" Pod Security Standard, as every pod rendered here meets it: a non-root numeric user (so the kubelet
// can check runAsNonRoot), the runtime's default seccomp profile, no privilege escalation, no capabilities and a
// read-only root filesystem (/tmp, an emptyDir, is the one writable place).
import type { V1PodSecurityContext, V1SecurityContext } from "@kubernetes/client-node";

export function restrictedPodSecurity(uid: number): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function restrictedContainerSecurity(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  };
}
