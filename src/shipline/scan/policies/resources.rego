package shipline.policies.resources

import data.shipline.lib
import rego.v1

# SHIP-004: every long-running container sets CPU and memory limits, so one pod cannot
# starve its node.

deny contains {"id": "SHIP-004", "severity": "HIGH", "path": path, "msg": sprintf("container %v sets no %v limit (resources.limits.%v)", [c.name, resource, resource])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	path[count(path) - 2] == "containers"
	some resource in ["cpu", "memory"]
	not c.resources.limits[resource]
}
