package shipline.lib

import rego.v1

# An image reference pinned to content: a digest, or a tag that is a commit SHA
# (7 to 40 hex digits, optionally prefixed "sha-" as docker/metadata-action writes it).
pinned(image) if contains(image, "@sha256:")

pinned(image) if regex.match(`:(sha-)?[0-9a-f]{7,40}$`, image)

last_component(image) := last if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
}

# No digest and no tag, or the "latest" tag: the reference moves.
floating(image) if {
	not contains(image, "@")
	not contains(last_component(image), ":")
}

floating(image) if {
	not contains(image, "@")
	endswith(last_component(image), ":latest")
}

root_user(user) if user in {"", "root", "0"}

root_user(user) if regex.match(`^(root|0):`, user)

containers contains [c, array.concat(input.pod.path, [group, i])] if {
	some group in ["initContainers", "containers", "ephemeralContainers"]
	some i, c in object.get(input.pod.spec, group, [])
}
