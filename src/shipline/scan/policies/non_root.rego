package shipline.policies.non_root

import data.shipline.lib
import rego.v1

# SHIP-001: the image, the Dockerfile's final stage and every container run as a non-root user.

deny contains {"id": "SHIP-001", "severity": "HIGH", "line": stage.line, "msg": "the final stage sets no USER, so the image runs as root; add USER with a numeric non-root UID"} if {
	input.kind == "dockerfile"
	stage := input.stages[input.final_stage]
	count([u | some u in input.users; u.stage == input.final_stage]) == 0
}

deny contains {"id": "SHIP-001", "severity": "HIGH", "line": last.line, "msg": sprintf("the final stage runs as %v; switch to a numeric non-root UID", [last.user])} if {
	input.kind == "dockerfile"
	users := [u | some u in input.users; u.stage == input.final_stage]
	last := users[count(users) - 1]
	lib.root_user(last.user)
}

deny contains {"id": "SHIP-001", "severity": "HIGH", "msg": sprintf("image %v runs as root (config User is %v)", [input.image, user_text])} if {
	input.kind == "image-config"
	user := object.get(object.get(input.config, "config", {}), "User", "")
	lib.root_user(user)
	user_text := shown_user(user)
}

shown_user(user) := "unset" if user == ""

shown_user(user) := user if user != ""

# A container runs as root unless it or its pod says otherwise.
deny contains {"id": "SHIP-001", "severity": "HIGH", "path": path, "msg": sprintf("container %v may run as root: set securityContext.runAsNonRoot: true (and a non-zero runAsUser)", [c.name])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	not non_root(c)
}

deny contains {"id": "SHIP-001", "severity": "HIGH", "path": array.concat(path, ["securityContext", "runAsUser"]), "msg": sprintf("container %v sets runAsUser: 0 (root)", [c.name])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	c.securityContext.runAsUser == 0
}

non_root(c) if c.securityContext.runAsNonRoot == true

non_root(c) if c.securityContext.runAsUser > 0

non_root(c) if {
	not c.securityContext.runAsNonRoot == false
	not c.securityContext.runAsUser == 0
	pod_non_root
}

pod_non_root if input.pod.spec.securityContext.runAsNonRoot == true

pod_non_root if input.pod.spec.securityContext.runAsUser > 0
