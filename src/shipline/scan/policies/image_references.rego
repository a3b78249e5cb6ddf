package shipline.policies.image_references

import data.shipline.lib
import rego.v1

# SHIP-002: no image is untagged or "latest" (what runs would change under your feet).
# SHIP-003: deployed images are pinned by digest or by a commit-SHA tag; base images by digest.

deny contains {"id": "SHIP-002", "severity": "HIGH", "line": stage.line, "msg": sprintf("FROM %v floats (no tag or latest); pin a version and a digest", [stage.base])} if {
	input.kind == "dockerfile"
	some stage in input.stages
	not stage.stage_reference
	stage.base != "scratch"
	lib.floating(stage.base)
}

deny contains {"id": "SHIP-003", "severity": "MEDIUM", "line": stage.line, "msg": sprintf("FROM %v is not pinned by digest; add @sha256:... so rebuilds use the reviewed base", [stage.base])} if {
	input.kind == "dockerfile"
	some stage in input.stages
	not stage.stage_reference
	stage.base != "scratch"
	not lib.floating(stage.base)
	not lib.pinned(stage.base)
}

deny contains {"id": "SHIP-002", "severity": "HIGH", "path": array.concat(path, ["image"]), "msg": sprintf("container %v uses %v, which floats (no tag or latest)", [c.name, c.image])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	lib.floating(c.image)
}

deny contains {"id": "SHIP-003", "severity": "HIGH", "path": array.concat(path, ["image"]), "msg": sprintf("container %v uses %v; deploy by digest or by an immutable commit-SHA tag", [c.name, c.image])} if {
	input.kind == "kubernetes"
	some [c, path] in lib.containers
	not lib.floating(c.image)
	not lib.pinned(c.image)
}
