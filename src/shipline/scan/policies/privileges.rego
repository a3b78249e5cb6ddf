package shipline.policies.privileges

import data.shipline.lib
import rego.v1

# SHIP-005: no privileged containers, no privilege escalation, no host namespaces.

deny contains {"id": "SHIP-005", "severity": "CRITICAL", "path": array.concat(path, ["securityContext", "privileged"]), "msg": sprintf("container %v is privileged: it owns the node", [c.name])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	c.securityContext.privileged == true
}

deny contains {"id": "SHIP-005", "severity": "HIGH", "path": array.concat(path, ["securityContext", "allowPrivilegeEscalation"]), "msg": sprintf("container %v allows privilege escalation", [c.name])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	c.securityContext.allowPrivilegeEscalation == true
}

deny contains {"id": "SHIP-005", "severity": "HIGH", "path": array.concat(input.pod.path, [field]), "msg": sprintf("the pod shares the node's namespace (%v: true)", [field])} if {
	input.kind == "kubernetes"
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	input.pod.spec[field] == true
}
